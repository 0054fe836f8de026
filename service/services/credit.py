"""Credit: balances, the append-only ledger, debits, refunds and transfers down the tree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from service.domain.errors import DomainError, Err, invalid
from service.domain.params import Params
from service.services.auth import Principal
from service.services.platform import Platform
from service.store.prepared import Prepared
from service.store.schema import credit_ledger, users

_BALANCE = select(users.c.credit).where(users.c.id == bindparam("uid"))


def get_credit(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/user/credit: the caller's balance."""
    return {"credit": balance(platform, principal.user_id)}


def balance(platform: Platform, user_id: int) -> int:
    """A user's balance now."""
    with platform.store.read() as conn:
        return int(conn.execute(_BALANCE, {"uid": user_id}).scalar_one())


# Built once: these run on every package created, and statement building is not free.
_DEBIT = Prepared(
    update(users)
    .where(users.c.id == bindparam("uid"), users.c.credit >= bindparam("amount"))
    .values(credit=users.c.credit - bindparam("amount"))
    .returning(users.c.credit)
)
_REFUND = (
    update(users)
    .where(users.c.id == bindparam("uid"))
    .values(credit=users.c.credit + bindparam("amount"))
    .returning(users.c.credit)
)
_LEDGER = Prepared(insert(credit_ledger))


def debit(
    conn: Connection,
    user_id: int,
    amount: int,
    now: datetime,
    reason: str,
    package_id: int | None = None,
    err: Err = Err.ERR_USER_CREDIT_REQUIRED,
) -> int:
    """Take `amount` from the balance in one conditional update; never below zero."""
    balance = _DEBIT.scalar(conn, {"uid": user_id, "amount": amount})
    if balance is None:
        raise DomainError(err)
    _ledger(conn, user_id, -amount, balance, reason, now, package_id)
    return int(balance)


def refund(
    conn: Connection,
    user_id: int,
    amount: int,
    now: datetime,
    reason: str,
    package_id: int | None = None,
) -> int:
    """Give `amount` back to the balance and record why."""
    balance = conn.execute(_REFUND, {"uid": user_id, "amount": amount}).scalar_one()
    _ledger(conn, user_id, amount, balance, reason, now, package_id)
    return int(balance)


def _ledger(
    conn: Connection,
    user_id: int,
    amount: int,
    balance: int | None,
    reason: str,
    now: datetime,
    package_id: int | None = None,
    counterpart_id: int | None = None,
    note: str | None = None,
) -> None:
    _LEDGER.execute(
        conn,
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


def mint(platform: Platform, username: str, amount: int, note: str | None = None) -> int:
    """Operator top-up: new credit into a user's balance (the only source of credit)."""
    if amount <= 0:
        raise invalid("amount", "pozitif olmalı")
    with platform.store.write() as conn:
        user_id = _user_id(conn, username, Err.ERR_USER_NOT_FOUND)
        balance = conn.execute(_REFUND, {"uid": user_id, "amount": amount}).scalar_one()
        _ledger(conn, user_id, amount, balance, "topup", platform.clock.now(), note=note)
        return int(balance)


def transfer(platform: Platform, parent: str, child: str, amount: int) -> dict[str, int]:
    """Move credit from a parent to its direct child; a negative amount takes it back."""
    if amount == 0:
        raise invalid("amount", "sıfır olamaz")
    now = platform.clock.now()
    with platform.store.write() as conn:
        parent_id = _user_id(conn, parent, Err.ERR_PARENT_USER_NOT_FOUND)
        child_id = _user_id(conn, child, Err.ERR_USER_NOT_FOUND)
        if (
            conn.execute(select(users.c.parent_id).where(users.c.id == child_id)).scalar()
            != parent_id
        ):
            raise DomainError(Err.ERR_USER_NOT_AUTHORIZED, f"{child} {parent} altında değil.")
        # Both rows locked in id order first: a transfer and a take-back between the same
        # two users would otherwise lock them in opposite orders and deadlock.
        conn.execute(
            select(users.c.id)
            .where(users.c.id.in_([parent_id, child_id]))
            .order_by(users.c.id)
            .with_for_update(key_share=True)
        ).all()
        giver, taker = (parent_id, child_id) if amount > 0 else (child_id, parent_id)
        err = (
            Err.ERR_PARENT_USER_CREDIT_REQUIRED
            if amount > 0
            else Err.ERR_USER_CREDIT_DECREASING_LIMITED
        )
        debit(conn, giver, abs(amount), now, "transfer_out", err=err)
        refund(conn, taker, abs(amount), now, "transfer_in")
        balances = dict(
            conn.execute(
                select(users.c.username, users.c.credit).where(
                    users.c.id.in_([parent_id, child_id])
                )
            ).all()
        )
    return {k: int(v) for k, v in balances.items()}


def ledger(platform: Platform, username: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ledger entries of a user, newest first."""
    with platform.store.read() as conn:
        user_id = _user_id(conn, username, Err.ERR_USER_NOT_FOUND)
        rows = conn.execute(
            select(credit_ledger)
            .where(credit_ledger.c.user_id == user_id)
            .order_by(credit_ledger.c.id.desc())
            .limit(limit)
        ).mappings()
        return [
            {
                "id": r["id"],
                "amount": r["amount"],
                "balanceAfter": r["balance_after"],
                "reason": r["reason"],
                "pkgID": r["package_id"],
                "note": r["note"],
                "date": platform.local.format(r["created_at"]),
            }
            for r in rows
        ]


def _user_id(conn: Connection, username: str, err: Err) -> int:
    user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if user_id is None:
        raise DomainError(err, username)
    return int(user_id)
