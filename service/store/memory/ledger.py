"""Balances and the ledger, in memory."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from service.domain.records import LedgerEntry

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryLedger:
    """The in-memory twin of SqlLedger: balances on the users' records."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def balance(self, user_id: int) -> int | None:
        """A user's balance now; None for an unknown user."""
        user = self.db.users.get(user_id)
        return None if user is None else int(user.credit)

    def debit(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None = None,
        counterpart_id: int | None = None,
    ) -> int | None:
        """Take `amount` if the balance holds it; None if short."""
        user = self.db.users.get(user_id)
        if user is None or user.credit < amount:
            return None
        return self._move(user_id, -amount, now, reason, package_id, counterpart_id, None)

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
        """Add `amount` and record why; the new balance."""
        return self._move(user_id, amount, now, reason, package_id, counterpart_id, note)

    def entries(self, user_id: int, limit: int) -> list[LedgerEntry]:
        """The newest ledger entries of a user, newest first."""
        mine = [e for e in self.db.ledger if e.user_id == user_id]
        return sorted(mine, key=lambda e: e.id, reverse=True)[:limit]

    def _move(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None,
        counterpart_id: int | None,
        note: str | None,
    ) -> int:
        user = self.db.users[user_id]
        balance = int(user.credit) + amount
        self.db.users[user_id] = dataclasses.replace(user, credit=balance)
        entry_id = self.db.next_id("credit_ledger")
        self.db.ledger.append(
            LedgerEntry(
                entry_id, user_id, amount, balance, reason, package_id, counterpart_id, note, now
            )
        )
        return balance
