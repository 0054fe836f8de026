"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from service.store.migrate import run, upgrade
from service.store.schema import items, metadata, packages, users
from tests.conftest import Database


def test_migrated_database_matches_the_declared_schema(db: Database) -> None:
    store = db.store(1)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    store.dispose()


def _package_and_item(conn: Connection, package_id: int, custom_id: str | None) -> None:
    now = datetime(2026, 1, 1)
    conn.execute(insert(packages), {**_package_row(package_id, now), "custom_id": custom_id})
    conn.execute(
        insert(items),
        {
            "package_id": package_id,
            "target": "905321234567",
            "parts": 1,
            "encoding": 0,
            "state": 0,
            "lane": 0,
            "due_at": now,
            "carrier_ref": f"r{package_id}",
        },
    )


def test_migrations_down_and_up_keep_existing_packages_and_items(db: Database) -> None:
    store = db.store(1)
    with store.write() as conn:
        conn.execute(
            insert(users),
            {
                "id": 1,
                "uuid": "u1",
                "username": "alice",
                "password_hash": "x",
                "user_type": 1,
                "created_at": datetime(2026, 1, 1),
            },
        )
        for package_id, custom_id in ((1, None), (2, None), (3, "abc")):
            _package_and_item(conn, package_id, custom_id)
    run(store, command.downgrade, "0001")
    upgrade(store)  # what `finsms serve` does at start on an existing database
    with store.read() as conn:
        assert conn.execute(
            select(items.c.package_id).order_by(items.c.package_id)
        ).scalars().all() == [1, 2, 3]
        assert conn.execute(
            select(packages.c.custom_id).order_by(packages.c.id)
        ).scalars().all() == [None, None, "abc"]
        if store.is_sqlite:  # the migration's own connection got its checks back
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.execute(
            insert(packages), {**_package_row(4, datetime(2026, 1, 2)), "custom_id": "abc"}
        )
    store.dispose()


def _package_row(package_id: int, now: datetime) -> dict[str, object]:
    """A package row with every column the schema requires."""
    return {
        "id": package_id,
        "uuid": f"p{package_id}",
        "user_id": 1,
        "sms_type": 1,
        "sending_type": 1,
        "sender": "FIN",
        "encoding": 0,
        "validity": 1440,
        "state": 0,
        "lane": 0,
        "sending_date": now,
        "is_scheduled": False,
        "recipients": 1,
        "parts": 1,
        "credit": 1,
        "created_at": now,
        "updated_at": now,
    }
