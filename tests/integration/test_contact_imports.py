"""Contact imports end to end on SQLite and PostgreSQL: a few thousand rows, groups by
GROUP_NAME created once, memberships, the blacklist, overwrite on and off, one open import
per user under concurrency, and workers racing for one import."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.domain.contacts import ContactFilter, ContactStatus, GroupInput
from service.domain.errors import DomainError
from service.domain.imports import ImportOptions, ImportState
from service.domain.queries import PageRequest
from service.services import contacts, imports
from service.services.clock import FixedClock
from service.store.schema import blacklist, contact_group_members, contact_groups
from service.store.schema import contacts as contacts_table
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, make_platform

COLUMNS = ("GSM", "FIRST_NAME", "GROUP_NAME", "city")
N = 3000


def _csv(count: int, start: int = 0, name: str = "Ad", header: bool = True) -> str:
    lines = ["'GSM','FIRST_NAME','GROUP_NAME','CITY'"] if header else []
    for i in range(start, start + count):
        lines.append(f"'90532{i:07d}','{name} {i}','Grup {i % 3}','İzmir'")
    return "\r\n".join(lines) + "\r\n"


def _scalar(platform: SqlPlatform, query: object) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]


def _run(platform: SqlPlatform) -> None:
    while imports.run_next(platform, "test-worker") is not None:
        pass


def test_a_few_thousand_rows_with_groups_by_name_and_invalid_rows(platform: SqlPlatform) -> None:
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    text = _csv(N) + "'12345','Kötü','Grup 0','X'\r\n'905320000001','eksik'\r\n"
    imports.submit(platform, who, text, ImportOptions(COLUMNS))
    _run(platform)
    [job] = imports.list_imports(platform, who)
    assert job.state == ImportState.DONE
    c = job.counts
    assert (c.total, c.created, c.updated, c.unchanged, c.invalid) == (N + 2, N, 0, 0, 2)
    assert [e.line for e in c.errors] == [N + 2, N + 3]
    assert _scalar(platform, select(func.count()).select_from(contacts_table)) == N
    assert _scalar(platform, select(func.count()).select_from(contact_groups)) == 3
    assert _scalar(platform, select(func.count()).select_from(contact_group_members)) == N
    found = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(0, 10))
    first = found.rows[0]
    assert (first.first_name, first.details) == ("Ad 0", {"city": "İzmir"})
    assert [g.title for g in first.groups] == ["Grup 0"]


def test_overwrite_off_keeps_data_and_on_replaces_it(platform: SqlPlatform) -> None:
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    imports.submit(platform, who, _csv(100), ImportOptions(COLUMNS))
    _run(platform)
    group = contacts.create_group(platform, who, GroupInput("Ekstra"))
    kept = ImportOptions(COLUMNS, group_uuids=(group.uuid,))
    imports.submit(platform, who, _csv(150, name="Yeni"), kept)
    _run(platform)
    job = imports.list_imports(platform, who)[0]
    assert (job.counts.created, job.counts.updated, job.counts.unchanged) == (50, 0, 100)
    page = PageRequest(0, 1000)
    rows = contacts.list_contacts(platform, who, ContactFilter(), None, page).rows
    assert rows[0].first_name == "Ad 0" and rows[120].first_name == "Yeni 120"
    assert len(contacts.list_contacts(platform, who, ContactFilter(), group.uuid, page).rows) == 150
    imports.submit(platform, who, _csv(100, name="Üst"), ImportOptions(COLUMNS, overwrite=True))
    _run(platform)
    job = imports.list_imports(platform, who)[0]
    assert (job.counts.created, job.counts.updated) == (0, 100)
    rows = contacts.list_contacts(platform, who, ContactFilter(), None, page).rows
    assert rows[0].first_name == "Üst 0" and rows[0].details == {"city": "İzmir"}


def test_blacklist_import_lists_numbers_and_contacts(platform: SqlPlatform) -> None:
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    imports.submit(platform, who, _csv(10), ImportOptions(COLUMNS))
    _run(platform)
    imports.submit(platform, who, _csv(20), ImportOptions(COLUMNS, blacklisted=True))
    _run(platform)
    assert _scalar(platform, select(func.count()).select_from(blacklist)) == 20
    black = ContactFilter(status=ContactStatus.BLACK)
    listed = contacts.list_contacts(platform, who, black, None, PageRequest(0, 100))
    assert listed.total == 20


def test_archived_contacts_are_restored_by_an_import(platform: SqlPlatform) -> None:
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    imports.submit(platform, who, _csv(5), ImportOptions(COLUMNS))
    _run(platform)
    rows = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(0, 10)).rows
    with platform.store.write() as conn:
        conn.execute(contacts_table.update().values(deleted_at=datetime(2026, 1, 1)))
    imports.submit(platform, who, _csv(5, name="Geri"), ImportOptions(COLUMNS))
    _run(platform)
    again = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(0, 10)).rows
    assert [r.uuid for r in again] == [r.uuid for r in rows]
    assert again[0].first_name == "Geri 0"
    assert imports.list_imports(platform, who)[0].counts.updated == 5


def test_two_concurrent_requests_open_one_import(db: Database) -> None:
    platform = make_platform(db)
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def request() -> None:
        barrier.wait()
        try:
            imports.submit(platform, who, _csv(10), ImportOptions(COLUMNS))
            outcomes.append("ok")
        except DomainError as error:
            outcomes.append(error.err.name)

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ERR_CONTACT_IMPORT_EXISTS", "ok"]


def test_workers_racing_claim_an_import_once(db: Database) -> None:
    platform = make_platform(db)
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    imports.submit(platform, who, _csv(10), ImportOptions(COLUMNS))
    with platform.uow.read() as tx:
        import_id = tx.imports.next_claimable(platform.clock.now())
    assert import_id is not None
    won: list[bool] = []
    barrier = threading.Barrier(4)
    now = platform.clock.now()

    def claim(owner: str) -> None:
        barrier.wait()
        with platform.uow.write() as tx:
            won.append(tx.imports.claim(import_id, owner, now, now + timedelta(minutes=2)))

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False, False, False, True]


def test_a_crashed_import_is_taken_again_after_its_lease(db: Database) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 8, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    imports.submit(platform, who, _csv(25_000, header=False), ImportOptions(COLUMNS))
    # A worker claims it and writes one chunk, then dies.
    dead = "dead-worker"
    with platform.uow.write() as tx:
        import_id = tx.imports.next_claimable(clock.now())
        assert import_id is not None and tx.imports.claim(
            import_id, dead, clock.now(), clock.now() + imports.IMPORT_LEASE
        )
        job = tx.imports.get(import_id)
    assert job is not None
    rows = list(imports._chunks(job, io.StringIO(_csv(25_000, header=False), newline="")))
    imports._write(platform, job, dead, rows[0][0], [], job.counts, rows[0][1])
    assert imports.run_next(platform, "other") is None  # still leased
    clock.advance(seconds=imports.IMPORT_LEASE.total_seconds() + 1)
    done = imports.run_next(platform, "other")
    assert done is not None and done.state == ImportState.DONE
    assert (done.counts.total, done.counts.created) == (25_000, 25_000)
    assert _scalar(platform, select(func.count()).select_from(contacts_table)) == 25_000
    with pytest.raises(imports.LostImport):  # the dead worker, waking up, writes nothing
        imports._write(platform, job, dead, rows[1][0], [], job.counts, 20_000)


def test_a_dead_cli_import_is_failed_when_the_user_imports_again(db: Database) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 8, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    with platform.uow.write() as tx:
        tx.imports.add(who.user_id, ImportOptions(COLUMNS), None, "cli:dead",
                       clock.now() + imports.IMPORT_LEASE, clock.now())  # fmt: skip
    clock.advance(seconds=imports.IMPORT_LEASE.total_seconds() + 1)
    job = imports.import_lines(platform, who, io.StringIO(_csv(10), newline=""),
                               ImportOptions(COLUMNS))  # fmt: skip
    assert job.state == ImportState.DONE and job.counts.created == 10
    assert [j.state for j in imports.list_imports(platform, who)] == ["done", "failed"]
