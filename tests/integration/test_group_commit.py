"""Group commit on SQLite: jobs that arrive together share a transaction, not a fate."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import NoReturn

import pytest
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from service.domain.errors import DomainError, Err
from service.store.db import Store
from service.store.group_commit import GroupCommit
from service.store.schema import items, recent_sends
from tests.conftest import Database, sqlite_file

# A job for Store.write_job: it runs in the (possibly shared) transaction.
Job = Callable[[Connection], object]


class Outcome:
    """What one thread's job returned or raised."""

    def __init__(self) -> None:
        self.value: object = None
        self.error: BaseException | None = None


def _row(n: int) -> dict[str, object]:
    return {
        "user_id": 1,
        "fingerprint": f"fp-{n}",
        "package_id": n,
        "expires_at": datetime(2026, 1, 1),
    }


def _insert(n: int, fail: BaseException | None = None) -> Job:
    def job(conn: Connection) -> int:
        conn.execute(insert(recent_sends), _row(n))
        if fail is not None:
            raise fail
        return n

    return job


def _group(store: Store) -> GroupCommit:
    """A SQLite store's group commit."""
    assert store.group_commit is not None, "only SQLite stores commit in groups"
    return store.group_commit


def _stored(store: Store) -> list[int]:
    with store.read() as conn:
        return sorted(r.package_id for r in conn.execute(select(recent_sends.c.package_id)))


def _submit(store: Store, job: Job) -> tuple[threading.Thread, Outcome]:
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = store.write_job(job)
        except BaseException as exc:
            outcome.error = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _while_a_transaction_runs(store: Store, jobs: list[Job]) -> list[Outcome]:
    """Hold the store's transaction in a first job while `jobs` queue up behind it."""
    release = threading.Event()
    group = _group(store)

    def blocker(conn: Connection) -> str:
        release.wait(10)
        return "first"

    first = _submit(store, blocker)
    deadline = time.monotonic() + 10
    while group.batches == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    queued = [_submit(store, job) for job in jobs]
    while group.waiting() < len(jobs) and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for thread, _ in [first, *queued]:
        thread.join(10)
    return [outcome for _, outcome in queued]


@pytest.fixture
def store(sqlite_db: Database) -> Iterator[Store]:
    s = sqlite_db.store()
    yield s
    s.dispose()


def test_jobs_arriving_during_a_transaction_share_the_next_one(store: Store) -> None:
    outcomes = _while_a_transaction_runs(store, [_insert(n) for n in range(1, 6)])
    assert [o.value for o in outcomes] == [1, 2, 3, 4, 5]
    assert (_group(store).batches, _group(store).jobs) == (2, 6)
    assert _stored(store) == [1, 2, 3, 4, 5]


def test_a_failing_job_undoes_only_its_own_writes_in_a_shared_transaction(store: Store) -> None:
    refused = DomainError(Err.ERR_USER_CREDIT_REQUIRED)
    outcomes = _while_a_transaction_runs(store, [_insert(1), _insert(2, fail=refused), _insert(3)])
    assert [o.value for o in outcomes] == [1, None, 3]
    assert outcomes[1].error is refused
    assert _stored(store) == [1, 3]


def test_a_database_error_inside_one_job_leaves_the_others_committed(store: Store) -> None:
    duplicate = _insert(1)  # the same primary key twice: the second insert fails
    outcomes = _while_a_transaction_runs(store, [_insert(1), duplicate, _insert(2)])
    assert isinstance(outcomes[1].error, IntegrityError)
    assert (outcomes[0].value, outcomes[2].value) == (1, 2)
    assert _stored(store) == [1, 2]


def test_a_failed_commit_fails_every_job_of_the_batch_and_writes_nothing(store: Store) -> None:
    def orphan_item(conn: Connection) -> str:
        # Checked at commit only: the whole shared transaction fails there.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        conn.execute(
            insert(items),
            {
                "package_id": 999_999,
                "target": "905321234567",
                "parts": 1,
                "encoding": 0,
                "state": 0,
                "lane": 0,
                "due_at": datetime(2026, 1, 1),
            },
        )
        return "orphan"

    outcomes = _while_a_transaction_runs(store, [_insert(1), orphan_item, _insert(2)])
    assert all(isinstance(o.error, IntegrityError) for o in outcomes)
    assert _stored(store) == []


def test_a_lone_job_that_fails_rolls_its_transaction_back(store: Store) -> None:
    with pytest.raises(DomainError):
        store.write_job(_insert(7, fail=DomainError(Err.ERR_USER_CREDIT_REQUIRED)))
    assert _stored(store) == []
    assert store.write_job(_insert(8)) == 8
    assert _stored(store) == [8]


def test_postgresql_runs_each_job_in_its_own_transaction(pg_db: Database) -> None:
    store = pg_db.store()
    try:
        assert store.group_commit is None
        assert store.write_job(_insert(5)) == 5
        assert _stored(store) == [5]
    finally:
        store.dispose()


def _orphan_item(conn: Connection) -> None:
    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")  # the commit, not the insert, fails
    conn.execute(
        insert(items),
        {
            "package_id": 999_999,
            "target": "905321234567",
            "parts": 1,
            "encoding": 0,
            "state": 0,
            "lane": 0,
            "due_at": datetime(2026, 1, 1),
        },
    )


def _another_process_can_write(path: str) -> bool:
    other = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_after_a_failed_commit_the_process_writes_again_and_holds_no_lock(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.write_job(_orphan_item)
    assert _another_process_can_write(sqlite_file(store))
    assert store.write_job(_insert(1)) == 1
    assert _stored(store) == [1]


def _refused_half_read(conn: Connection) -> NoReturn:
    rows = conn.execute(
        update(recent_sends)
        .values(expires_at=recent_sends.c.expires_at)
        .returning(recent_sends.c.package_id)
    )
    rows.fetchone()  # the statement is still stepping when the job gives up
    raise ValueError("refused after the first row")


def test_a_job_refused_with_a_statement_half_read_does_not_break_later_writes(store: Store) -> None:
    store.write_job(_insert(1))
    store.write_job(_insert(2))

    with pytest.raises(ValueError):
        store.write_job(_refused_half_read)
    assert store.write_job(_insert(3)) == 3
    assert store.write_job(_insert(4)) == 4
    assert _stored(store) == [1, 2, 3, 4]


def test_a_job_refused_with_a_statement_half_read_fails_only_itself_in_a_batch(
    store: Store,
) -> None:
    store.write_job(_insert(100))
    store.write_job(_insert(101))

    outcomes = _while_a_transaction_runs(store, [_insert(1), _refused_half_read, _insert(2)])
    assert [o.value for o in outcomes] == [1, None, 2]
    assert isinstance(outcomes[1].error, ValueError)
    assert _stored(store) == [1, 2, 100, 101]


def test_a_full_disk_in_a_batch_reaches_every_caller_as_the_disk_error(store: Store) -> None:
    store.write_job(_insert(100))
    path = sqlite_file(store)

    # Spills pages to the WAL mid-transaction, past the file size limit.
    def huge(conn: Connection) -> None:
        conn.execute(insert(recent_sends), {**_row(2), "fingerprint": "x" * 6_000_000})

    limit = max(os.path.getsize(path), os.path.getsize(f"{path}-wal")) + 256 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        outcomes = _while_a_transaction_runs(store, [_insert(1), huge, _insert(3)])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert all(isinstance(o.error, OperationalError) for o in outcomes), outcomes
    assert all("disk" in str(o.error) or "full" in str(o.error) for o in outcomes)
    assert store.write_job(_insert(4)) == 4  # and the process writes again afterwards
    assert _stored(store) == [4, 100]


def test_a_refused_job_keeps_the_write_connection(store: Store) -> None:
    store.write_job(_insert(1))
    writer = store._writer
    with pytest.raises(DomainError):
        store.write_job(_insert(2, fail=DomainError(Err.ERR_SMS_PKG_DUPLICATION)))
    assert store._writer is writer  # no reconnect for an everyday refusal
    assert store.write_job(_insert(3)) == 3
    assert _stored(store) == [1, 3]
