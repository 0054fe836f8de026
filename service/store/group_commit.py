"""Group commit: concurrent write jobs of one process share one SQLite transaction.

SQLite admits one writer at a time, and on the hot path most of a small transaction's cost
is fixed: taking the write lock, and at commit writing every touched page to the WAL (two
syscalls a page). Jobs that arrive while a transaction is under way queue up; the next
leader runs them all in one transaction, each inside a savepoint of its own, so one job's
failure undoes only that job. Consecutive packages touch the same pages (the user's row,
the tables' right edges), so a batch of n writes far fewer than n times the pages.

PostgreSQL runs writers side by side and is not batched: there, sharing a transaction would
let one job's row locks wait on another's and invite deadlocks between processes.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")

MAX_BATCH = 64  # jobs per transaction: bounds how long one transaction holds the lock


class _Job(Generic[T]):
    __slots__ = ("done", "error", "fn", "lead", "result")

    def __init__(self, fn: Callable[[Connection], T]) -> None:
        self.fn = fn
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False  # handed leadership by the previous leader

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Runs write jobs, batching the ones that arrive together into one transaction."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._begin = begin  # opens a write transaction (the store's write lock included)
        self._cond = threading.Condition()
        self._queue: list[_Job[Any]] = []
        self._leading = False
        self.batches = 0  # transactions committed or tried, for tests and metrics
        self.jobs = 0

    def waiting(self) -> int:
        """Jobs queued for the next transaction."""
        with self._cond:
            return len(self._queue)

    def run(self, fn: Callable[[Connection], T]) -> T:
        """Run fn(conn) in a write transaction, perhaps shared; its result or its error."""
        job: _Job[T] = _Job(fn)
        with self._cond:
            self._queue.append(job)
            while self._leading and not (job.done or job.lead):
                self._cond.wait()
            if not job.done:
                self._leading = True
        if not job.done:
            self._lead()
        return job.outcome()

    def _lead(self) -> None:
        with self._cond:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._execute(batch)
        finally:
            with self._cond:
                for job in batch:
                    job.done = True
                if self._queue:
                    self._queue[0].lead = True  # the next batch is led by its oldest job
                else:
                    self._leading = False
                self._cond.notify_all()

    def _execute(self, batch: list[_Job[Any]]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        try:
            with self._begin() as conn:
                if len(batch) == 1:  # alone: its error rolls the whole transaction back
                    batch[0].result = batch[0].fn(conn)
                else:
                    for job in batch:
                        _in_savepoint(conn, job)
        except BaseException as exc:  # the commit, or a lone job: nothing was written
            for job in batch:
                if job.error is None:
                    job.error, job.result = exc, None
            if not isinstance(exc, Exception):
                raise


def _in_savepoint(conn: Connection, job: _Job[Any]) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("SAVEPOINT job")
    try:
        job.result = job.fn(conn)
    except Exception as exc:
        job.error = exc
        if not raw.in_transaction:
            # SQLite gave up the whole transaction (disk full, I/O error): every job of
            # the batch fails, with this, the real cause.
            raise
        # A statement the job left half-read would block ROLLBACK TO and RELEASE: drop
        # the job's locals (the traceback keeps its lines) so its cursor is finalised.
        traceback.clear_frames(exc.__traceback__)
        raw.execute("ROLLBACK TO job")  # undo this job only; the transaction goes on
    raw.execute("RELEASE job")
