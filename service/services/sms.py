"""Creating, cancelling and re-creating SMS packages: the heart of the Node API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from service.domain import encoding as enc
from service.domain import packages as rules
from service.domain import sending
from service.domain.constants import DUPLICATE_WINDOW_MINUTES, ItemState, PackageState, SmsType
from service.domain.errors import DomainError, Err, invalid
from service.domain.params import Params
from service.domain.phone import operator_of
from service.services import credit
from service.services.auth import Principal
from service.services.delivery import movable_to
from service.services.lookup import find_package, package_ref
from service.services.platform import Platform
from service.services.senders import require_approved
from service.store.bulk import insert_rows
from service.store.errors import is_unique_violation
from service.store.ids import uuid7
from service.store.prepared import Prepared
from service.store.schema import items, packages, recent_sends

OTP_LANE, BULK_LANE = 0, 1
_PRECHECK_RECIPIENTS = 1000
_ITEM_COLUMNS = (
    "package_id",
    "target",
    "msg",
    "xid",
    "operator",
    "parts",
    "credit",
    "encoding",
    "state",
    "lane",
    "due_at",
    "refunded",
)

# Prepared once: creating a package is the hot path of the API.
_INSERT_PACKAGE = Prepared(insert(packages).returning(packages.c.id))
_CUSTOM_ID_TAKEN = Prepared(
    select(packages.c.id).where(
        packages.c.user_id == bindparam("uid"), packages.c.custom_id == bindparam("cid")
    )
)


def create_otp(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/create-otp: a one-recipient OTP package in the OTP lane."""
    return {"pkgID": create_package(platform, principal, sending.parse(params, otp=True))}


def create(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/create: single, 1-N or N-N package, now or at sendingDate."""
    return {"pkgID": create_package(platform, principal, sending.parse(params, otp=False))}


@dataclass(frozen=True)
class _Priced:
    """A recipient with what its message costs."""

    recipient: sending.Recipient
    parts: int
    encoding: int


@dataclass(frozen=True)
class _Draft:
    """A package ready to be written: everything that needs no database, prepared before
    the write lock is taken (on SQLite the lock serialises every writer)."""

    values: dict[str, Any]  # the package row
    items: list[tuple[Any, ...]]  # item rows without their package id
    fingerprint: str | None  # the duplicate check's key, when the check applies
    parts: int


def create_package(
    platform: Platform,
    principal: Principal,
    req: sending.SendRequest,
    *,
    check_duplicates: bool = True,
    recreated_from: int | None = None,
) -> int:
    """Write a package and its items, reserving credit, in one transaction; its id."""
    now = platform.clock.now()
    start = _start(platform, req, now)
    rules.check_split_span(start, len(req.recipients), req.periodic, now)
    priced = list(_price(req, platform.settings.max_message_parts))
    draft = _draft(
        platform,
        principal,
        req,
        start,
        now,
        priced,
        recreated_from,
        check_duplicates and principal.duplicate_check,
    )
    if (
        len(priced) > _PRECHECK_RECIPIENTS
        and not principal.unlimited
        and credit.balance(platform, principal.user_id) < draft.parts
    ):
        # A large package holds the write lock for seconds: fail before taking it. The
        # conditional debit below stays the rule; this only spares the others the wait.
        raise DomainError(Err.ERR_USER_CREDIT_REQUIRED)

    def write(conn: Connection) -> int:
        require_approved(platform, conn, principal.user_id, req.sender)
        package_id = _insert_package(conn, principal.user_id, req.custom_id, draft.values)
        if draft.fingerprint is not None:
            _claim_fingerprint(conn, principal.user_id, draft.fingerprint, package_id, now)
        insert_rows(conn, items, _ITEM_COLUMNS, [(package_id, *row) for row in draft.items])
        # Last: the debit locks the user's row until commit, so it is held briefly.
        if not principal.unlimited:
            credit.debit(conn, principal.user_id, draft.parts, now, "package", package_id)
        return package_id

    return platform.store.write_job(write)


def _draft(
    platform: Platform,
    principal: Principal,
    req: sending.SendRequest,
    start: datetime,
    now: datetime,
    priced: list[_Priced],
    recreated_from: int | None,
    check_duplicates: bool,
) -> _Draft:
    scheduled = start > now
    total_parts = sum(p.parts for p in priced)
    title = req.title or f"{platform.local.to_local(start):%Y-%m-%d %H:%M} tarihli gönderim"
    values = dict(
        uuid=uuid7(),
        user_id=principal.user_id,
        custom_id=req.custom_id,
        sms_type=int(req.sms_type),
        sending_type=int(req.sending_type),
        title=title,
        content=req.content,
        sender=req.sender,
        encoding=int(req.encoding),
        validity=req.validity,
        state=int(PackageState.WAITING if scheduled else PackageState.QUEUEING),
        lane=_lane(req),
        sending_date=start,
        is_scheduled=scheduled,
        periodic=json.dumps(req.periodic.as_dict()) if req.periodic else None,
        push_url=req.push_url,
        commercial=req.commercial,
        trust_date=platform.local.to_utc(req.trust_date) if req.trust_date else None,
        recipients=len(priced),
        invalid_count=req.invalid_count,
        parts=total_parts,
        credit=0 if principal.unlimited else total_parts,
        source="node",
        recreated_from=recreated_from,
        created_at=now,
        updated_at=now,
    )
    digest = _fingerprint(req, start if scheduled else None) if check_duplicates else None
    return _Draft(values, _item_rows(req, priced, start), digest, total_parts)


def _start(platform: Platform, req: sending.SendRequest, now: datetime) -> datetime:
    if req.sending_date is None:
        return now
    when = rules.check_sending_date(platform.local.to_utc(req.sending_date), now)
    return max(when or now, now)


def _price(req: sending.SendRequest, max_parts: int) -> Iterator[_Priced]:
    shared = _segment(req.content, req.encoding, max_parts) if req.content else None
    cache: dict[str, enc.Segmentation] = {}
    for recipient in req.recipients:
        if recipient.msg is None:
            seg = shared
        else:
            seg = cache.get(recipient.msg)
            if seg is None:
                seg = cache[recipient.msg] = _segment(recipient.msg, req.encoding, max_parts)
        assert seg is not None
        yield _Priced(recipient, seg.parts, int(seg.effective))


def _segment(text: str, encoding: int, max_parts: int) -> enc.Segmentation:
    seg = enc.segment(text, encoding)
    if seg.parts > max_parts:
        raise invalid("content", f"mesaj en fazla {max_parts} parça olabilir ({seg.parts})")
    return seg


def _insert_package(
    conn: Connection, user_id: int, custom_id: str | None, values: dict[str, Any]
) -> int:
    if custom_id and _CUSTOM_ID_TAKEN.first(conn, {"uid": user_id, "cid": custom_id}):
        raise DomainError(Err.ERR_SMS_PKG_CUSTOM_ID_DUPLICATION, field="customID")
    try:
        return int(_INSERT_PACKAGE.scalar(conn, values))
    except IntegrityError as exc:
        # A concurrent create won the customID between our check and our insert. Any other
        # refusal (a NOT NULL, a foreign key) is a fault of ours, not the client's.
        if custom_id and is_unique_violation(exc):
            raise DomainError(Err.ERR_SMS_PKG_CUSTOM_ID_DUPLICATION, field="customID") from None
        raise


def _fingerprint_upsert(dialect: Any) -> Prepared:
    stmt = dialect.insert(recent_sends)
    # Take the slot when it is free or its window has passed; otherwise it is a duplicate.
    stmt = stmt.on_conflict_do_update(
        index_elements=[recent_sends.c.user_id, recent_sends.c.fingerprint],
        set_={"package_id": stmt.excluded.package_id, "expires_at": stmt.excluded.expires_at},
        where=recent_sends.c.expires_at <= bindparam("now"),
    )
    return Prepared(stmt.returning(recent_sends.c.package_id))


_CLAIM_FINGERPRINT = {
    "postgresql": _fingerprint_upsert(postgresql),
    "sqlite": _fingerprint_upsert(sqlite),
}


def _fingerprint(req: sending.SendRequest, scheduled: datetime | None) -> str:
    content = req.content or ""
    return rules.fingerprint(
        req.sender or "", ((r.target, r.msg or content) for r in req.recipients), scheduled
    )


def _claim_fingerprint(
    conn: Connection, user_id: int, digest: str, package_id: int, now: datetime
) -> None:
    claim = _CLAIM_FINGERPRINT[conn.dialect.name]
    taken = claim.first(
        conn,
        {
            "user_id": user_id,
            "fingerprint": digest,
            "package_id": package_id,
            "expires_at": now + timedelta(minutes=DUPLICATE_WINDOW_MINUTES),
            "now": now,
        },
    )
    if taken is None:
        raise DomainError(Err.ERR_SMS_PKG_DUPLICATION)


def _lane(req: sending.SendRequest) -> int:
    """OTPs travel in their own lane, never behind bulk packages."""
    return OTP_LANE if req.otp or req.sms_type == SmsType.OTP else BULK_LANE


def _item_rows(
    req: sending.SendRequest, priced: list[_Priced], start: datetime
) -> list[tuple[Any, ...]]:
    """The items' rows in _ITEM_COLUMNS order, all but the package id."""
    lane = _lane(req)
    waiting = int(ItemState.WAITING)
    return [
        (
            p.recipient.target,
            p.recipient.msg,
            p.recipient.xid,
            operator_of(p.recipient.target),
            p.parts,
            p.parts,
            p.encoding,
            waiting,
            lane,
            rules.split_due(start, index, req.periodic),
            False,
        )
        for index, p in enumerate(priced)
    ]


def cancel(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/cancel: cancel a package nothing of which has gone out yet; refund it."""
    ref = package_ref(params)
    now = platform.clock.now()
    with platform.store.write() as conn:
        pkg = find_package(conn, principal.user_id, ref)
        if pkg["state"] not in rules.CANCELLABLE_PACKAGE_STATES:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE)
        # Only waiting items move; if the dispatcher took any, the package has started.
        moved = conn.execute(
            update(items)
            .where(items.c.package_id == pkg["id"], movable_to(ItemState.CANCELLED))
            .values(state=int(ItemState.CANCELLED), refunded=True)
        ).rowcount
        if moved != pkg["recipients"]:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Gönderim başladı.")
        conn.execute(
            update(packages)
            .where(packages.c.id == pkg["id"])
            .values(state=int(PackageState.CANCELLED), updated_at=now)
        )
        if pkg["credit"]:
            credit.refund(conn, principal.user_id, int(pkg["credit"]), now, "cancel", pkg["id"])
        # A cancelled package was never sent: the same SMS may be sent again at once.
        conn.execute(delete(recent_sends).where(recent_sends.c.package_id == pkg["id"]))
    return {"status": 1}


def recreate(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/recreate: send a finished package again, as a new package, to its recipients."""
    ref = package_ref(params, allow_custom_id=False)
    title = params.str("title")
    if title is None:
        raise invalid("title", "zorunlu")
    if params.bool("includeNewNumbers") is None:
        raise invalid("includeNewNumbers", "zorunlu")
    with platform.store.read() as conn:
        pkg = find_package(conn, principal.user_id, ref)
        if pkg["state"] not in rules.RECREATABLE_PACKAGE_STATES:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Paket henüz tamamlanmadı.")
        rows = conn.execute(
            select(items.c.target, items.c.msg, items.c.xid)
            .where(items.c.package_id == pkg["id"])
            .order_by(items.c.id)
        ).all()
    req = _copy_request(pkg, rules.check_title(title), rows)
    return {
        "pkgID": create_package(
            platform, principal, req, check_duplicates=False, recreated_from=int(pkg["id"])
        )
    }


def _copy_request(pkg: Any, title: str | None, rows: Sequence[Any]) -> sending.SendRequest:
    periodic = json.loads(pkg["periodic"]) if pkg["periodic"] else None
    return sending.SendRequest(
        sms_type=SmsType(pkg["sms_type"]),
        sending_type=sending.SendingType(pkg["sending_type"]),
        otp=pkg["lane"] == OTP_LANE,
        sender=pkg["sender"],
        content=pkg["content"],
        encoding=sending.Encoding(pkg["encoding"]),
        validity=pkg["validity"],
        title=title,
        sending_date=None,
        periodic=rules.check_periodic(
            periodic["periodType"], periodic["interval"], periodic["amount"]
        )
        if periodic
        else None,
        push_url=pkg["push_url"],
        commercial=pkg["commercial"],
        custom_id=None,
        trust_date=None,
        recipients=[sending.Recipient(r.target, r.msg, r.xid) for r in rows],
    )
