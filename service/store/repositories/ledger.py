"""Balances and the append-only credit ledger, in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from service.domain.records import LedgerEntry
from service.store.prepared import Prepared
from service.store.schema import credit_ledger, users

_BALANCE = select(users.c.credit).where(users.c.id == bindparam("uid"))
# Built once: these run for every package created, and statement building is not free.
_DEBIT = Prepared(
    update(users)
    .where(users.c.id == bindparam("uid"), users.c.credit >= bindparam("amount"))
    .values(credit=users.c.credit - bindparam("amount"))
    .returning(users.c.credit)
)
_CREDIT = (
    update(users)
    .where(users.c.id == bindparam("uid"))
    .values(credit=users.c.credit + bindparam("amount"))
    .returning(users.c.credit)
)
_LEDGER = Prepared(insert(credit_ledger))


class SqlLedger:
    """Balances on the users' rows; every movement also appended to credit_ledger."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def balance(self, user_id: int) -> int | None:
        """A user's balance now; None for an unknown user."""
        value = self.conn.execute(_BALANCE, {"uid": user_id}).scalar()
        return None if value is None else int(value)

    def debit(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None = None,
        counterpart_id: int | None = None,
    ) -> int | None:
        """Take `amount` in one conditional update (never below zero); None if short."""
        balance = _DEBIT.scalar(self.conn, {"uid": user_id, "amount": amount})
        if balance is None:
            return None
        self._append(user_id, -amount, balance, reason, now, package_id, counterpart_id)
        return int(balance)

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
        balance = self.conn.execute(_CREDIT, {"uid": user_id, "amount": amount}).scalar_one()
        self._append(user_id, amount, balance, reason, now, package_id, counterpart_id, note)
        return int(balance)

    def entries(self, user_id: int, limit: int) -> list[LedgerEntry]:
        """The newest ledger entries of a user, newest first."""
        rows = self.conn.execute(
            select(credit_ledger)
            .where(credit_ledger.c.user_id == user_id)
            .order_by(credit_ledger.c.id.desc())
            .limit(limit)
        ).mappings()
        return [LedgerEntry(**row) for row in rows]

    def _append(
        self,
        user_id: int,
        amount: int,
        balance: Any,
        reason: str,
        now: datetime,
        package_id: int | None = None,
        counterpart_id: int | None = None,
        note: str | None = None,
    ) -> None:
        _LEDGER.execute(
            self.conn,
            {
                "user_id": user_id,
                "amount": amount,
                "balance_after": balance,
                "reason": reason,
                "package_id": package_id,
                "counterpart_id": counterpart_id,
                "note": note,
                "created_at": now,
            },
        )
