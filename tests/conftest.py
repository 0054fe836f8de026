"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable), platforms, users.

PostgreSQL runs in a private schema per test session, truncated between tests. Set
FINSMS_REQUIRE_POSTGRES=1 (CI does) to fail instead of skipping when it is unreachable.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pytest
from sqlalchemy import text

from service import cli
from service.config import Settings
from service.domain.constants import SenderState, UserType
from service.domain.records import User
from service.services import credit, senders, users
from service.services.clock import Clock, FixedClock
from service.services.platform import Platform
from service.store.db import Store
from service.store.migrate import upgrade
from service.store.schema import metadata

PG_URL = os.environ.get("FINSMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("FINSMS_REQUIRE_POSTGRES") == "1"
PASSWORD = "s3cret-pass"

# Cheap hashing in tests: Argon2id still, with the smallest sane cost.
TEST_SETTINGS = dict(
    argon2_time_cost=1,
    argon2_memory_kib=8192,
    secret_key="test-secret",
    simulator_report_delay=0.0,
    poll_interval=0.02,
    auth_fail_limit=1000,
)


@cache
def postgres_reachable() -> bool:
    """Whether the test PostgreSQL answers."""
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@dataclass(frozen=True)
class Database:
    """Where a test's data lives."""

    kind: str
    url: str
    search_path: str | None = None

    def store(self, pool_size: int = 10) -> Store:
        """A new Store on this database."""
        return Store(self.url, pool_size=pool_size, search_path=self.search_path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "finsms.db"
    store = Store(f"sqlite:///{path}")
    upgrade(store)
    store.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[Database]:
    """A private, migrated PostgreSQL schema for this test session."""
    if not postgres_reachable():
        if REQUIRE_PG:
            pytest.fail(
                f"PostgreSQL required (FINSMS_REQUIRE_POSTGRES=1) but {PG_URL} is unreachable"
            )
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = f"finsms_test_{uuid.uuid4().hex[:10]}"
    admin = Store(PG_URL, pool_size=1)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database("postgresql", PG_URL, schema)
    store = db.store(1)
    upgrade(store)
    store.dispose()
    yield db
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate(db: Database) -> None:
    store = db.store(1)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    store.dispose()


def database_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A clean database of a kind for one test."""
    if kind == "sqlite":
        path = tmp_path / "finsms.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return Database("sqlite", f"sqlite:///{path}")
    db: Database = request.getfixturevalue("postgres_schema")
    _truncate(db)
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A clean database: every test using it runs on SQLite and on PostgreSQL."""
    return database_for(request.param, request, tmp_path)


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A clean SQLite database."""
    return database_for("sqlite", request, tmp_path)


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A clean PostgreSQL database (schema)."""
    return database_for("postgresql", request, tmp_path)


if TYPE_CHECKING:

    class SqlPlatform(Platform):
        """What make_platform makes, as the type checker sees it: a Platform on a database.

        Platform.store is None only for a platform on an in-memory unit of work, which
        these never are; at run time this is Platform itself."""

        store: Store

else:
    SqlPlatform = Platform


P = ParamSpec("P")
R = TypeVar("R")


def counted(calls: list[int], real: Callable[P, R]) -> Callable[P, R]:
    """`real`, appending 1 to `calls` at each call: a monkeypatch that counts calls."""

    def counting(*args: P.args, **kwargs: P.kwargs) -> R:
        calls.append(1)
        return real(*args, **kwargs)

    return counting


def sqlite_file(store: Store) -> str:
    """The database file of a SQLite store."""
    path = store.engine.url.database
    assert path is not None, f"{store.url} names no database file"
    return path


_MADE: list[Platform] = []


@pytest.fixture(autouse=True)
def _close_platforms() -> Iterator[None]:
    """Close every platform a test made: a pooled connection left to the garbage collector
    is a ResourceWarning, which fails the suite."""
    yield
    while _MADE:
        _MADE.pop().close()


def make_platform(
    db: Database, clock: Clock | None = None, pool_size: int = 10, **settings: Any
) -> SqlPlatform:
    """A platform on a test database."""
    config = Settings(database_url=db.url, **{**TEST_SETTINGS, **settings})
    platform = SqlPlatform(config, store=db.store(pool_size), clock=clock)
    _MADE.append(platform)
    return platform


@pytest.fixture
def cheap_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI runs hash passwords cheaply and take no database from the environment."""
    monkeypatch.setenv("FINSMS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("FINSMS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.delenv("FINSMS_DATABASE_URL", raising=False)


def finsms(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the finsms command in process: (exit code, stdout, stderr)."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clock() -> FixedClock:
    """A clock stopped at Monday 2 March 2026, 08:00, that a test advances by hand."""
    return FixedClock(datetime(2026, 3, 2, 8, 0))


@pytest.fixture
def platform(db: Database) -> Iterator[SqlPlatform]:
    """A platform on each database."""
    p = make_platform(db)
    yield p
    p.store.dispose()


def add_customer(
    platform: Platform,
    username: str = "acme",
    balance: int = 1000,
    sender: str | None = "ACME",
    user_type: int = UserType.STANDARD,
    parent: str | None = None,
    **options: bool,
) -> User:
    """A user with credit and an approved sender, ready to send."""
    user = users.create_user(platform, username, PASSWORD, user_type, parent)
    if balance:
        credit.mint(platform, username, balance)
    if sender:
        senders.add_sender(platform, username, sender, SenderState.APPROVED)
    if options:
        users.set_options(platform, username, **options)
    return user


class LiveServer:
    """The WSGI app served on loopback in a thread, as clients see it."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.platform: SqlPlatform = app.platform
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(5)


def start_server(platform: SqlPlatform) -> LiveServer:
    """Serve create_app over this platform on a free loopback port."""
    from service.app import create_app

    return LiveServer(create_app(platform=platform))


def consent(platform: Platform, username: str, *numbers: str) -> None:
    """The user's İYS settings, and approved consents of these numbers synced through the
    simulated İYS: what a commercial package needs of its recipients."""
    from service.delivery.iys.simulator import SimulatedIys
    from service.domain.constants import IysSource
    from service.domain.iys import ConsentStatus
    from service.services import iys

    iys.save_settings(platform, username, iys_code="1234", brand_code="5678")
    for number in numbers:
        iys.add_consent(platform, username, number, ConsentStatus.ONAY, IysSource.HS_WEB)
    while iys.sync_consents(platform, SimulatedIys(), "consent-helper").claimed:
        pass
