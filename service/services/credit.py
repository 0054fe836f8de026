"""Credit: balances, the ledger, debits, top-ups and transfers down the tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.errors import DomainError, Err, invalid
from service.domain.principal import Principal
from service.domain.records import LedgerEntry, User
from service.services.platform import Platform
from service.services.ports import Tx


@dataclass(frozen=True)
class Transfer:
    """The balances of both sides after a transfer."""

    parent: str
    parent_credit: int
    child: str
    child_credit: int

    def balances(self) -> dict[str, int]:
        """{username: balance} of both sides."""
        return {self.parent: self.parent_credit, self.child: self.child_credit}


def balance(platform: Platform, principal: Principal) -> int:
    """The caller's balance."""
    return balance_of(platform, principal.user_id)


def balance_of(platform: Platform, user_id: int) -> int:
    """A user's balance now."""
    with platform.uow.read() as tx:
        value = tx.ledger.balance(user_id)
    if value is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND)
    return value


def debit(
    tx: Tx,
    user_id: int,
    amount: int,
    now: datetime,
    reason: str,
    package_id: int | None = None,
    err: Err = Err.ERR_USER_CREDIT_REQUIRED,
) -> int:
    """Take `amount` from the balance, never below zero (`err` when it does not hold it)."""
    left = tx.ledger.debit(user_id, amount, now, reason, package_id)
    if left is None:
        raise DomainError(err)
    return left


def mint(platform: Platform, username: str, amount: int, note: str | None = None) -> int:
    """Operator top-up: new credit into a user's balance (the only source of credit)."""
    if amount <= 0:
        raise invalid("amount", "pozitif olmalı")
    with platform.uow.write() as tx:
        user = _user(tx, username, Err.ERR_USER_NOT_FOUND)
        return tx.ledger.credit(user.id, amount, platform.clock.now(), "topup", note=note)


def transfer(platform: Platform, parent: str, child: str, amount: int) -> Transfer:
    """Move credit from a parent to its direct child; a negative amount takes it back.
    Each side's ledger entry names the other (counterpart)."""
    if amount == 0:
        raise invalid("amount", "sıfır olamaz")
    now = platform.clock.now()
    with platform.uow.write() as tx:
        giver_user = _user(tx, parent, Err.ERR_PARENT_USER_NOT_FOUND)
        taker_user = _user(tx, child, Err.ERR_USER_NOT_FOUND)
        if taker_user.parent_id != giver_user.id:
            raise DomainError(Err.ERR_USER_NOT_AUTHORIZED, f"{child}, {parent} altında değil.")
        giver, taker = (giver_user, taker_user) if amount > 0 else (taker_user, giver_user)
        err = (
            Err.ERR_PARENT_USER_CREDIT_REQUIRED
            if amount > 0
            else Err.ERR_USER_CREDIT_DECREASING_LIMITED
        )
        # Both rows locked in id order first: a transfer and a take-back between the same
        # two users would otherwise lock them in opposite orders and deadlock.
        tx.users.lock([giver.id, taker.id])
        if (
            tx.ledger.debit(giver.id, abs(amount), now, "transfer_out", counterpart_id=taker.id)
            is None
        ):
            raise DomainError(err)
        tx.ledger.credit(taker.id, abs(amount), now, "transfer_in", counterpart_id=giver.id)
        balances = {u.username: tx.ledger.balance(u.id) for u in (giver_user, taker_user)}
    return Transfer(parent, int(balances[parent] or 0), child, int(balances[child] or 0))


def ledger(platform: Platform, username: str, limit: int = 50) -> tuple[User, list[LedgerEntry]]:
    """A user and its newest ledger entries, newest first."""
    with platform.uow.read() as tx:
        user = _user(tx, username, Err.ERR_USER_NOT_FOUND)
        return user, tx.ledger.entries(user.id, limit)


def _user(tx: Tx, username: str, err: Err) -> User:
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(err, username)
    return user
