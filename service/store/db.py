"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from service.store.errors import hide_values
from service.store.group_commit import GroupCommit

log = logging.getLogger("finsms.store")
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for postgres URLs that name no driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class UnusableDatabase(Exception):
    """A database FinSMS cannot use: an unparseable URL, an unknown driver, no answer."""


def _first_line(error: BaseException) -> str:
    # Drivers explain on several lines (psycopg adds a hint, SQLAlchemy a link): the first
    # names the cause.
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class Store:
    """The database of one FinSMS process: an engine and its transactions."""

    def __init__(self, url: str, *, pool_size: int = 10, search_path: str | None = None) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        try:
            self.engine = self._make_engine(pool_size, search_path)
        except NoSuchModuleError:  # before ArgumentError, its base class
            name = self.url.split(":", 1)[0]
            raise UnusableDatabase(f"unknown database driver {name!r}") from None
        except ArgumentError:
            raise UnusableDatabase("not a database URL (dialect+driver://...)") from None
        except ImportError as exc:  # a dialect SQLAlchemy knows, its driver not installed
            raise UnusableDatabase(f"driver not installed: {exc.name or exc}") from None
        self._writers = _WriterQueue(self.engine.url.database) if self.is_sqlite else None
        self._checkpointer = _Checkpointer.for_database(self.engine.url.database, self._writers)
        self.group_commit = GroupCommit(self.write) if self.is_sqlite else None
        self._writer: tuple[int, Connection] | None = None  # (pid, SQLite write connection)

    def _make_engine(self, pool_size: int, search_path: str | None) -> Engine:
        if self.is_sqlite:
            engine = _sqlite_engine(self.url, pool_size)
        else:
            kwargs: dict[str, Any] = {
                "pool_size": pool_size,
                "max_overflow": pool_size * 2,
                "pool_timeout": 60,
                "pool_pre_ping": True,
                "hide_parameters": True,
            }
            if search_path:
                kwargs["connect_args"] = {"options": f"-c search_path={search_path}"}
            engine = create_engine(self.url, **kwargs)
        event.listen(engine, "handle_error", _hide_values)
        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction; on SQLite it takes the write lock up front."""
        if self._writers is None:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        if self._checkpointer is not None:
            self._checkpointer.ensure_running()
        with self._writers:
            conn = self._writer_connection()
            try:
                with conn.begin():
                    yield conn
            except BaseException as exc:
                # A statement the failed work left half-read, kept alive by the frames of
                # the traceback, would fail every later commit: drop those frames' locals.
                traceback.clear_frames(exc.__traceback__)
                # A failed COMMIT leaves SQLite's transaction open (SQLAlchemy leaves that
                # rollback to the pool, which this connection never returns to): close it.
                # A refused package (no credit, a duplicate) keeps the connection.
                if conn.invalidated or _in_transaction(conn):
                    self._drop_writer()
                raise

    def _writer_connection(self) -> Connection:
        # The writes of a process are serialised by _writers, so one connection serves
        # them all: no pool checkout per transaction, and a page cache kept between them.
        if self._writer is None or self._writer[0] != os.getpid():
            conn = self.engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            self._writer = (os.getpid(), conn)
        return self._writer[1]

    def _drop_writer(self) -> None:
        # Invalidate: the SQLite connection itself is closed (its statements finalised,
        # its transaction rolled back) rather than handed back to the pool as it is.
        writer, self._writer = self._writer, None
        if writer is not None and writer[0] == os.getpid():
            writer[1].invalidate()
            writer[1].close()

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Within, this thread's write transactions go ahead of others waiting for
        SQLite's write lock (nothing on PostgreSQL, whose writers do not queue)."""
        if self._writers is None:
            yield
            return
        with self._writers.urgent():
            yield

    def write_job(self, job: Callable[[Connection], T]) -> T:
        """job(conn) in a write transaction; on SQLite possibly shared with other jobs
        (group commit), each in a savepoint of its own. The job must leave the
        transaction to its caller: no commit, no rollback, no savepoint of its own."""
        if self.group_commit is not None:
            return self.group_commit.run(job)
        with self.write() as conn:
            return job(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (READ COMMITTED on PostgreSQL: a count and the page after it
        may differ by what committed in between)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    @property
    def sqlite_path(self) -> Path | None:
        """The absolute path of the SQLite file; None in memory and on PostgreSQL."""
        database = self.engine.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return None
        return Path(database).absolute()

    def describe(self) -> str:
        """Where the data is, for messages: the SQLite file, or the URL without password."""
        path = self.sqlite_path
        return str(path) if path else self.engine.url.render_as_string(hide_password=True)

    def check_folder(self) -> None:
        """Raise UnusableDatabase when a SQLite file's folder is missing (it would not be
        created: SQLite only says 'unable to open database file')."""
        path = self.sqlite_path
        if path is not None and not path.parent.is_dir():
            raise UnusableDatabase(f"folder {path.parent} does not exist")

    def check_reachable(self) -> None:
        """Raise UnusableDatabase unless a connection opens (this creates a SQLite file)."""
        self.check_folder()
        try:
            self.ping()
        except DBAPIError as exc:
            raise UnusableDatabase(f"cannot connect: {_first_line(exc.orig or exc)}") from None

    def dispose(self) -> None:
        """Close every pooled connection and stop the checkpointer."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._writers is not None:
            # This process's lock only: the flock would create the lock file beside a
            # database never written to (a command refused for want of a schema).
            with self._writers.in_process():
                self._drop_writer()
        self.engine.dispose()


def _hide_values(context: Any) -> None:
    # hide_parameters hides what we sent; this hides the row the server quotes back.
    hide_values(context.sqlalchemy_exception or context.original_exception)


def _in_transaction(conn: Connection) -> bool:
    raw = conn.connection.dbapi_connection
    return raw is None or bool(raw.in_transaction)


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    # Pooled connections keep their pragmas; a connection serves one thread at a time, so
    # check_same_thread is off. WAL lets readers run beside the single writer.
    # hide_parameters: a database error's message must not carry SMS texts (OTP codes).
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=60,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE is ours to issue.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # wal_autocheckpoint=0: the committing request would otherwise copy the WAL back
        # and fsync every ~1000 pages, inside its transaction's lock; _Checkpointer does it.
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
            "wal_autocheckpoint=0",
            f"journal_size_limit={_WAL_SIZE_LIMIT}",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Straight to the driver: this runs for every transaction.
        conn.connection.dbapi_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]

    return engine


class _WriterQueue:
    """Serialises SQLite writers of this process (a lock) and of all processes (flock),
    letting urgent writers (a thread inside urgent(): the dispatcher's OTP lane) go ahead
    of those waiting.

    SQLite admits one writer; contenders otherwise poll in its busy handler, sleeping
    1, 2, 5, 10... ms between tries, which wrecks throughput under concurrent requests.
    Waiting here instead hands the lock over as soon as it is released.

    Urgent first: while a large package goes out, the bulk lane's transactions (500 items
    each) queue for the lock back to back, and an OTP's claim waited behind several of
    them. In this process a waiting urgent writer is served before any other; across
    processes it holds a gate (`<database>.writegate`, exclusive) while it waits: other
    writers pass the gate (shared, for an instant) before they queue, and one that gets
    the lock while the gate is held hands it back and queues again. Only the writer in
    its transaction when the urgent one came goes first.
    """

    def __init__(self, database: str | None) -> None:
        self._lock = threading.Lock()
        self._gate = threading.Condition()
        self._urgent_waiting = 0  # written under _gate
        self._urgent = threading.local()
        memory = not database or database == ":memory:"
        self._path = None if memory else f"{database}.writelock"
        self._gate_path = None if memory else f"{database}.writegate"
        self._fds: tuple[int, int] | None = None
        self._pid = -1

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """This thread's writes go ahead of waiting writers while inside."""
        before = getattr(self._urgent, "on", False)
        self._urgent.on = True
        try:
            yield
        finally:
            self._urgent.on = before

    def __enter__(self) -> None:
        urgent = bool(getattr(self._urgent, "on", False))
        self._acquire_in_process(urgent)
        if self._path is None:
            return
        try:
            lock, gate = self._files()
            if urgent:
                fcntl.flock(gate, fcntl.LOCK_EX)  # others stop at the gate meanwhile
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                finally:
                    fcntl.flock(gate, fcntl.LOCK_UN)
            else:
                self._lock_after_urgent(lock, gate)
        except BaseException:
            self._release_in_process()
            raise

    @staticmethod
    def _lock_after_urgent(lock: int, gate: int) -> None:
        """Take the lock file, letting an urgent writer of any process go first: one that
        waits holds the gate, so a writer that got the lock meanwhile hands it back."""
        while True:
            fcntl.flock(gate, fcntl.LOCK_SH)  # waits while an urgent writer waits
            fcntl.flock(gate, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                fcntl.flock(gate, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                fcntl.flock(lock, fcntl.LOCK_UN)  # an urgent writer came: after it
                continue
            fcntl.flock(gate, fcntl.LOCK_UN)
            return

    def _acquire_in_process(self, urgent: bool) -> None:
        # A plain lock, which a writer in a loop may take again before a waiting thread
        # wakes: handing it over in order (a queue served first come, first served) cost
        # a third of the OTPs per second under load. Urgent writers count themselves
        # while they wait; the others stand aside for them: before they queue, and after
        # taking the lock, when an urgent one came meanwhile.
        if urgent:
            with self._gate:
                self._urgent_waiting += 1
            try:
                self._lock.acquire()
            finally:
                with self._gate:
                    self._urgent_waiting -= 1
                    if not self._urgent_waiting:
                        self._gate.notify_all()
            return
        while True:
            if self._urgent_waiting:  # an unlocked read: a hint, checked again below
                with self._gate:
                    while self._urgent_waiting:
                        self._gate.wait()
            self._lock.acquire()
            if not self._urgent_waiting:
                return
            self._lock.release()  # an urgent writer came while this one waited

    def _release_in_process(self) -> None:
        self._lock.release()

    def _files(self) -> tuple[int, int]:
        """The lock and gate files, opened once per process (a forked child reopens)."""
        if self._fds is None or self._pid != os.getpid():
            assert self._path is not None and self._gate_path is not None
            lock = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            gate = os.open(self._gate_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fds, self._pid = (lock, gate), os.getpid()
        return self._fds

    @contextmanager
    def in_process(self) -> Iterator[None]:
        """Exclude this process's writers only."""
        self._acquire_in_process(False)
        try:
            yield
        finally:
            self._release_in_process()

    def __exit__(self, *exc: object) -> None:
        try:
            if self._path is not None and self._fds is not None:
                fcntl.flock(self._fds[0], fcntl.LOCK_UN)
        finally:
            self._release_in_process()


_WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes a reset WAL file is truncated back to
_CHECKPOINT_SECONDS = 0.1
_WAL_RESTART_FRAMES = 1000  # SQLite's own autocheckpoint threshold
_CHECKPOINT_MAX_BACKOFF = 5.0  # seconds between tries while checkpoints keep failing


class _Checkpointer:
    """Copies the SQLite WAL back into the database file from a thread of its own.

    A PASSIVE checkpoint waits for nobody and blocks nobody, so writers don't pay for it.
    But the WAL only starts over when a writer finds it copied completely, which never
    happens while writers keep appending: under steady load it grew without bound (400 MB
    in five seconds of the benchmark, and every page lookup slower for it). So once it holds
    _WAL_RESTART_FRAMES, a second pass runs holding the writer queue: it copies only what
    came in since the first, and the next writer starts the WAL over.
    """

    def __init__(self, path: str, writers: _WriterQueue) -> None:
        self._path = path
        self._writers = writers
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # the current thread's; a new one per thread
        self._pid = -1

    @classmethod
    def for_database(
        cls, database: str | None, writers: _WriterQueue | None
    ) -> _Checkpointer | None:
        """A checkpointer for a database file; None in memory (there is no WAL)."""
        if writers is None or not database or database == ":memory:":
            return None
        return cls(database, writers)

    def ensure_running(self) -> None:
        """Start the thread unless it runs in this process already."""
        if self._running():
            return
        with self._lock:
            # A forked child does not inherit threads; a thread that died is replaced,
            # since no connection checkpoints by itself (wal_autocheckpoint=0).
            if not self._running():
                self._stopping = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stopping,), name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()
                self._pid = os.getpid()

    def _running(self) -> bool:
        return self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        with self._lock:
            thread, self._thread, self._pid = self._thread, None, -1
            self._stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _run(self, stopping: threading.Event) -> None:
        conn: sqlite3.Connection | None = None
        delay = _CHECKPOINT_SECONDS
        while not stopping.wait(delay):
            try:
                conn = conn or sqlite3.connect(self._path, check_same_thread=False)
                self._checkpoint(conn)
                delay = _CHECKPOINT_SECONDS
            except Exception:  # keep going: without this thread the WAL only grows
                log.warning("WAL checkpoint failed; retrying", exc_info=True)
                if conn is not None:
                    conn.close()
                conn = None
                delay = min(delay * 2, _CHECKPOINT_MAX_BACKOFF)
        if conn is not None:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= _WAL_RESTART_FRAMES:
            with self._writers:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
