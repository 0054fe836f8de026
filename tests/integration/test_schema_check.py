"""The store tells a database without the current schema from one that cannot be reached."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from service.store.db import Store, UnusableDatabase
from service.store.migrate import SchemaNotCurrent, require_current
from tests.conftest import Database


def test_a_migrated_database_is_current(db: Database) -> None:
    store = db.store(1)
    require_current(store)
    store.dispose()


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'finsms.db'}")
    with pytest.raises(SchemaNotCurrent, match=f"no database at {tmp_path / 'finsms.db'}"):
        require_current(store)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_unusable_not_merely_unmigrated(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'gone' / 'finsms.db'}")
    with pytest.raises(UnusableDatabase, match=f"folder {tmp_path / 'gone'} does not exist"):
        require_current(store)


def test_a_schema_newer_than_the_code_is_not_for_migrate_to_fix(sqlite_db: Database) -> None:
    store = sqlite_db.store(1)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaNotCurrent, match="9999, newer than this FinSMS") as caught:
        require_current(store)
    assert not caught.value.upgradable
    store.dispose()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgres//u@h/d", "not a database URL"),
        ("nosuchdb://u@h/d", "unknown database driver 'nosuchdb'"),
        ("mysql+pymysql://u@h/d", "driver not installed: pymysql"),
    ],
)
def test_urls_that_name_no_usable_driver(url: str, reason: str) -> None:
    with pytest.raises(UnusableDatabase, match=reason):
        Store(url)


def test_an_unreachable_server_is_one_line_of_the_driver() -> None:
    store = Store("postgresql://u:pw@127.0.0.1:1/d")
    with pytest.raises(UnusableDatabase, match=r"^cannot connect: [^\n]*refused$"):
        store.check_reachable()
    store.dispose()
