"""What the services need of storage: a unit of work and its repositories, as protocols.

Two implementations ship: SQL (service.store.uow, on SQLite or PostgreSQL) and in memory
(service.store.memory, for unit tests of the services). A service opens a transaction
with `uow.read()`, `uow.write()` or `uow.write_job(job)` and works through the
transaction's repositories; it never sees a connection or a table.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, TypeVar

from service.domain.records import LedgerEntry

T = TypeVar("T")


class LedgerRepo(Protocol):
    """Balances and the append-only ledger of credit movements."""

    def balance(self, user_id: int) -> int | None:
        """A user's balance now; None for an unknown user."""
        ...

    def debit(
        self, user_id: int, amount: int, now: datetime, reason: str, package_id: int | None = None
    ) -> int | None:
        """Take `amount` if the balance holds it (one conditional update); the new balance,
        or None when it does not (nothing changed)."""
        ...

    def credit(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None = None,
        counterpart_id: int | None = None,
        note: str | None = None,
    ) -> int:
        """Add `amount` to the balance and record why; the new balance."""
        ...

    def entries(self, user_id: int, limit: int) -> list[LedgerEntry]:
        """The newest ledger entries of a user, newest first."""
        ...


class Tx(Protocol):
    """One transaction and the repositories that work inside it."""

    @property
    def ledger(self) -> LedgerRepo:
        """Balances and ledger."""
        ...


class UnitOfWork(Protocol):
    """Opens transactions."""

    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction."""
        ...

    def write(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, committed when the block ends without an error."""
        ...

    def write_job(self, job: Callable[[Tx], T]) -> T:
        """job(tx) in a write transaction that may be shared with concurrent jobs (group
        commit on SQLite); the job's error undoes only its own writes."""
        ...
