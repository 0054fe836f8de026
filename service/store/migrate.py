"""Bring a database's schema to the newest Alembic revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from service.store.db import Store

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(store: Store) -> Config:
    """An Alembic config pointing at our migrations and this store's database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return cfg


def upgrade(store: Store) -> None:
    """Apply every migration not yet applied."""
    run(store, command.upgrade, "head")


class SchemaNotCurrent(Exception):
    """A database without the schema this code needs: missing, empty, behind or ahead."""

    def __init__(self, message: str, *, upgradable: bool = True) -> None:
        super().__init__(message)
        # Whether an upgrade (migrate) would fix it; not when the database is newer.
        self.upgradable = upgradable


def require_current(store: Store) -> None:
    """Raise SchemaNotCurrent unless the database is at the newest revision (or
    UnusableDatabase if it cannot be reached). Never creates a SQLite file."""
    store.check_folder()
    path = store.sqlite_path
    if path is not None and not path.exists():  # connecting would create it, empty
        raise SchemaNotCurrent(f"no database at {path}")
    store.check_reachable()
    script = ScriptDirectory.from_config(alembic_config(store))
    heads = set(script.get_heads())
    with store.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return
    where = store.describe()
    if not current:
        raise SchemaNotCurrent(f"{where} has no FinSMS schema")
    known = {rev.revision for rev in script.walk_revisions()}
    found, wanted = ", ".join(sorted(current)), ", ".join(sorted(heads))
    if current - known:
        raise SchemaNotCurrent(
            f"{where} is at schema revision {found}, newer than this FinSMS ({wanted})",
            upgradable=False,
        )
    raise SchemaNotCurrent(f"{where} is at schema revision {found}, not {wanted}")


def run(store: Store, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (upgrade or downgrade to `revision`) in one transaction.

    On SQLite, changing a constraint rebuilds the table (Alembic's batch mode): with
    foreign keys enforced, dropping the old `packages` fails as soon as an item points at
    it. So they are off for the migration (the pragma only takes effect outside a
    transaction) and every reference is checked before the commit instead.
    """
    cfg = alembic_config(store)
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if store.is_sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                if store.is_sqlite:
                    _check_foreign_keys(conn)
        finally:
            if store.is_sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left {len(broken)} broken references: {broken[:5]}")
