"""Alphanumeric senders (başlıklar): what a user may send with, and their approval."""

from __future__ import annotations

import re
import uuid as uuidlib

from service.domain.constants import PAGE_SIZE_MAX, SenderState
from service.domain.errors import DomainError, Err, invalid
from service.domain.principal import Principal, visible_to
from service.domain.queries import PageRequest, SenderFilter
from service.domain.records import Page, Sender, User
from service.services.platform import Platform
from service.services.ports import Tx

# Alphanumeric originators are at most 11 GSM characters (3GPP TS 23.040 TP-OA).
_TITLE = re.compile(r"[A-Za-z0-9 .\-_&+']{2,11}")


def list_senders(
    platform: Platform, principal: Principal, filters: SenderFilter, page: PageRequest
) -> Page[Sender]:
    """The caller's senders, filtered by keyword and state, by title."""
    with platform.uow.read() as tx:
        return tx.senders.listing(visible_to(principal), filters, page)


def senders_of(platform: Platform, username: str) -> list[Sender]:
    """Every sender of a user (for operators' tools)."""
    with platform.uow.read() as tx:
        return every_sender(tx, _user(tx, username).principal, SenderFilter())


def every_sender(tx: Tx, principal: Principal, filters: SenderFilter) -> list[Sender]:
    """All of a caller's senders matching the filters, by title: every page of the listing."""
    scope, found, index = visible_to(principal), list[Sender](), 0
    while True:
        page = tx.senders.listing(scope, filters, PageRequest(index, PAGE_SIZE_MAX))
        found.extend(page.rows)
        if len(page.rows) < PAGE_SIZE_MAX or len(found) >= page.total:
            return found
        index += 1


def require_approved(platform: Platform, tx: Tx, user_id: int, title: str | None) -> str:
    """The sender title when it is one of the user's approved senders."""
    if not title:
        raise DomainError(Err.ERR_INVALID_SMS_SENDER, "Gönderici başlığı zorunlu.", field="sender")
    if platform.approved_senders.get((user_id, title)):
        return title
    if tx.senders.status(user_id, title) != SenderState.APPROVED:
        raise DomainError(Err.ERR_INVALID_SMS_SENDER, field="sender")
    platform.approved_senders.put((user_id, title), True)
    return title


def add_sender(
    platform: Platform, username: str, title: str, status: int = SenderState.WAITING
) -> Sender:
    """Register a sender title for a user (waiting for approval unless told otherwise)."""
    if not _TITLE.fullmatch(title):
        raise invalid("title", "2-11 karakter: harf, rakam, boşluk ve . - _ & + '")
    state = sender_state(status)
    now = platform.clock.now()
    with platform.uow.write() as tx:
        user = _user(tx, username)
        sender = Sender(0, str(uuidlib.uuid4()), user.id, title, int(state), now)
        if not tx.senders.add(sender.uuid, user.id, title, int(state), now):
            raise DomainError(Err.ERR_SENDER_ALREADY_EXISTS, title)
    return sender


def set_sender_status(platform: Platform, username: str, title: str, status: int) -> Sender:
    """Approve, reject or ban one of a user's senders."""
    state = sender_state(status)
    with platform.uow.write() as tx:
        user = _user(tx, username)
        sender = tx.senders.set_status(user.id, title, int(state))
    if sender is None:
        raise DomainError(Err.ERR_BAD_REQUEST, f"{username} için {title} başlığı yok.")
    platform.approved_senders.clear()
    return sender


def sender_state(value: int) -> SenderState:
    """A sender state from its number; ERR_INVALID_PARAM for another."""
    try:
        return SenderState(value)
    except ValueError:
        raise invalid("status", "0-3 arasında olmalı") from None


def _user(tx: Tx, username: str) -> User:
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user
