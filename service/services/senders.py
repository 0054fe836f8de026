"""Alphanumeric senders (başlıklar): what a user may send with, and their approval."""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.constants import SenderState
from service.domain.errors import DomainError, Err, invalid
from service.domain.params import Params
from service.services.auth import Principal
from service.services.paging import Page, listing
from service.services.platform import Platform
from service.store.errors import is_unique_violation
from service.store.schema import senders, users

# Alphanumeric originators are at most 11 GSM characters (3GPP TS 23.040 TP-OA).
_TITLE = re.compile(r"[A-Za-z0-9 .\-_&+']{2,11}")


def list_senders(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list-sender: the caller's senders, filtered by keyword and status."""
    page = Page.of(params)
    query = select(senders).where(senders.c.user_id == principal.user_id)
    keyword = params.search("keyword")
    if keyword:
        query = query.where(senders.c.title.ilike(f"%{_escape(keyword)}%", escape="\\"))
    status = params.int("status")
    if status is not None:
        query = query.where(senders.c.status == _state(status))
    with platform.store.read() as conn:
        return listing(
            conn,
            query,
            [senders.c.title],
            page,
            lambda r: {"uuid": r["uuid"], "status": r["status"], "title": r["title"]},
        )


_SENDER_STATUS = select(senders.c.status).where(
    senders.c.user_id == bindparam("uid"), senders.c.title == bindparam("title")
)


def require_approved(platform: Platform, conn: Connection, user_id: int, title: str | None) -> str:
    """The sender title when it is one of the user's approved senders."""
    if not title:
        raise DomainError(Err.ERR_INVALID_SMS_SENDER, "Gönderici başlığı zorunlu.", field="sender")
    if platform.approved_senders.get((user_id, title)):
        return title
    status = conn.execute(_SENDER_STATUS, {"uid": user_id, "title": title}).scalar()
    if status != SenderState.APPROVED:
        raise DomainError(Err.ERR_INVALID_SMS_SENDER, field="sender")
    platform.approved_senders.put((user_id, title), True)
    return title


def add_sender(
    platform: Platform, username: str, title: str, status: int = SenderState.WAITING
) -> dict[str, Any]:
    """Register a sender title for a user (waiting for approval unless told otherwise)."""
    if not _TITLE.fullmatch(title):
        raise invalid("title", "2-11 karakter: harf, rakam, boşluk ve . - _ & + '")
    state = _state(status)
    with platform.store.write() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if user_id is None:
            raise DomainError(Err.ERR_USER_NOT_FOUND, username)
        sender_uuid = str(uuidlib.uuid4())
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(senders).values(
                        uuid=sender_uuid,
                        user_id=user_id,
                        title=title,
                        status=int(state),
                        created_at=platform.clock.now(),
                    )
                )
        except IntegrityError as exc:
            if not is_unique_violation(exc):  # a NOT NULL or a foreign key: our fault
                raise
            raise DomainError(Err.ERR_SENDER_ALREADY_EXISTS, title) from None
    return {"uuid": sender_uuid, "title": title, "status": int(state), "user": username}


def set_sender_status(platform: Platform, username: str, title: str, status: int) -> dict[str, Any]:
    """Approve, reject or ban one of a user's senders."""
    state = _state(status)
    with platform.store.write() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        row = conn.execute(
            update(senders)
            .where(senders.c.user_id == user_id, senders.c.title == title)
            .values(status=int(state))
            .returning(senders.c.uuid)
        ).first()
    if row is None:
        raise DomainError(Err.ERR_BAD_REQUEST, f"{username} için {title} başlığı yok.")
    platform.approved_senders.clear()
    return {"uuid": row.uuid, "title": title, "status": int(state), "user": username}


def _state(value: int) -> SenderState:
    try:
        return SenderState(value)
    except ValueError:
        raise invalid("status", "0-3 arasında olmalı") from None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
