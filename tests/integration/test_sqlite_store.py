"""The SQLite store: checkpoints happen beside the writers, never inside a request."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert

from service.store.db import _WAL_RESTART_FRAMES, Store
from service.store.schema import recent_sends
from tests.conftest import Database, sqlite_file


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint" and t.is_alive()]


def _write_rows(store: Store, n: int) -> None:
    # recent_sends has no foreign keys: rows that need no user; only their pages matter.
    rows = [
        {
            "user_id": 1,
            "fingerprint": f"{i:064d}",
            "package_id": i,
            "expires_at": datetime(2026, 1, 1),
        }
        for i in range(n)
    ]
    with store.write() as conn:
        conn.execute(insert(recent_sends), rows)


def test_request_connections_never_checkpoint_the_wal_themselves(sqlite_db: Database) -> None:
    store = sqlite_db.store()
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()


def test_background_checkpointer_moves_committed_pages_into_the_database_file(
    sqlite_db: Database,
) -> None:
    store = sqlite_db.store()
    path = sqlite_file(store)
    before = os.path.getsize(path)
    _write_rows(store, 5000)  # ~100 new pages, only in the WAL at commit
    deadline = time.monotonic() + 10
    while os.path.getsize(path) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(path) > before
    store.dispose()


def test_disposing_the_store_stops_its_checkpointer(sqlite_db: Database) -> None:
    already = len(_checkpoint_threads())
    store = sqlite_db.store()
    _write_rows(store, 1)
    assert len(_checkpoint_threads()) == already + 1
    store.dispose()
    assert len(_checkpoint_threads()) == already


def test_wal_starts_over_under_continuous_writes_instead_of_growing_without_bound(
    sqlite_db: Database,
) -> None:
    store = sqlite_db.store()
    wal = f"{sqlite_file(store)}-wal"
    written = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # one writer, never pausing: the hard case
        with store.write() as conn:
            conn.execute(
                insert(recent_sends),
                {
                    "user_id": 2,
                    "fingerprint": f"w{written}",
                    "package_id": written,
                    "expires_at": datetime(2026, 1, 1),
                },
            )
        written += 1
    page = 4096
    assert written * page > 4 * _WAL_RESTART_FRAMES * page  # enough for several restarts
    # Each commit appends at least one page; without restarts the file holds them all.
    assert os.path.getsize(wal) < written * page / 2
    store.dispose()


def test_checkpointer_survives_a_failure_and_goes_on_checkpointing(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_connect = sqlite3.connect
    failures: list[int] = []

    def connect_failing_once(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("unable to open database file")  # e.g. EMFILE
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        return conn

    monkeypatch.setattr("service.store.db.sqlite3.connect", connect_failing_once)
    store = sqlite_db.store()
    path = sqlite_file(store)
    before = os.path.getsize(path)
    _write_rows(store, 5000)
    deadline = time.monotonic() + 10
    while os.path.getsize(path) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert failures and os.path.getsize(path) > before
    store.dispose()


def test_a_checkpointer_thread_that_ended_is_replaced_at_the_next_write(
    sqlite_db: Database,
) -> None:
    already = set(_checkpoint_threads())
    store = sqlite_db.store()
    _write_rows(store, 1)
    (first,) = set(_checkpoint_threads()) - already
    checkpointer = store._checkpointer
    assert checkpointer is not None, "SQLite stores checkpoint"
    checkpointer._stopping.set()  # the thread ends without stop(): as if it had died
    first.join(5)
    with store.write():
        pass
    (second,) = set(_checkpoint_threads()) - already
    assert second is not first
    store.dispose()
    assert set(_checkpoint_threads()) == already
