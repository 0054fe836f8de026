"""Creating, cancelling and re-creating SMS packages.

Creation runs as explicit steps, each a function a later feature extends:
resolve the recipients (numbers today; contact groups and placeholders next) → filter
them (repeats today; blacklist and İYS consent next) → price them under the package
source's policy → write the package, its items and the debit in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from service.domain import encoding as enc
from service.domain import packages as rules
from service.domain.constants import (
    DUPLICATE_WINDOW_MINUTES,
    Encoding,
    ItemState,
    PackageState,
    SendingType,
    SmsType,
)
from service.domain.errors import DomainError, Err, invalid
from service.domain.ids import uuid7
from service.domain.phone import operator_of
from service.domain.pricing import NODE_PRICING, PricingPolicy, charged, policy_for
from service.domain.principal import Principal, visible_to
from service.domain.queries import PackageRef
from service.domain.records import NewItem, NewPackage, Package
from service.domain.sending import Recipient, SendRequest
from service.services import credit
from service.services.platform import Platform
from service.services.ports import Tx
from service.services.senders import require_approved

# Above this many recipients, a package's credit is checked before the write lock is taken.
_PRECHECK_RECIPIENTS = 1000


class Priced(NamedTuple):
    """A recipient with what its message costs: parts, price and effective encoding."""

    recipient: Recipient
    parts: int
    price: int
    encoding: int


@dataclass(frozen=True)
class Draft:
    """A package ready to be written: everything that needs no database, prepared before
    the write lock is taken (on SQLite the lock serialises every writer)."""

    package: NewPackage
    items: list[NewItem]
    fingerprint: str | None  # the duplicate check's key, when the check applies


def create_package(
    platform: Platform,
    principal: Principal,
    req: SendRequest,
    *,
    policy: PricingPolicy = NODE_PRICING,
    check_duplicates: bool = True,
    recreated_from: int | None = None,
) -> int:
    """Resolve, filter, price and write a package, reserving its credit; its id."""
    now = platform.clock.now()
    start = _start(platform, req, now)
    recipients = filter_recipients(resolve_recipients(req))
    rules.check_split_span(start, len(recipients), req.periodic, now)
    priced = price_recipients(req, recipients, policy, platform.settings.max_message_parts)
    draft = _draft(platform, principal, req, policy, start, now, priced, recreated_from)
    if check_duplicates and principal.duplicate_check:
        draft = Draft(draft.package, draft.items, _fingerprint(req, recipients, start, now))
    _precheck_credit(platform, principal, draft.package)
    package_id = platform.uow.write_job(
        lambda tx: write_package(platform, tx, principal, draft, now)
    )
    if draft.package.lane == rules.OTP_LANE and not draft.package.is_scheduled:
        platform.otp_doorbell.set()  # committed: the dispatcher can claim it now
    return package_id


def _precheck_credit(platform: Platform, principal: Principal, package: NewPackage) -> None:
    # A large package holds the write lock for seconds: fail before taking it. The
    # conditional debit in the write stays the rule; this only spares the others the wait.
    large = package.recipients > _PRECHECK_RECIPIENTS and package.credit
    if large and credit.balance_of(platform, principal.user_id) < package.credit:
        raise DomainError(Err.ERR_USER_CREDIT_REQUIRED)


def resolve_recipients(req: SendRequest) -> list[Recipient]:
    """Step 1: who the package goes to (the request's numbers)."""
    return list(req.recipients)


def filter_recipients(recipients: Sequence[Recipient]) -> list[Recipient]:
    """Step 2: who of them gets it: the same recipient twice is sent once."""
    return list(dict.fromkeys(recipients))


def price_recipients(
    req: SendRequest, recipients: Sequence[Recipient], policy: PricingPolicy, max_parts: int
) -> list[Priced]:
    """Step 3: each recipient's parts, price and encoding; too long a message is refused."""
    return list(_price(req, recipients, policy, max_parts))


def write_package(
    platform: Platform, tx: Tx, principal: Principal, draft: Draft, now: datetime
) -> int:
    """Step 4: the package, its duplicate-check slot, its items and its debit; its id."""
    package = draft.package
    require_approved(platform, tx, principal.user_id, package.sender)
    taken = Err.ERR_SMS_PKG_CUSTOM_ID_DUPLICATION
    if package.custom_id and tx.packages.custom_id_taken(principal.user_id, package.custom_id):
        raise DomainError(taken, field="customID")
    package_id = tx.packages.add(package)
    if package_id is None:
        raise DomainError(taken, field="customID")
    if draft.fingerprint is not None:
        until = now + timedelta(minutes=DUPLICATE_WINDOW_MINUTES)
        if not tx.packages.claim_fingerprint(
            principal.user_id, draft.fingerprint, package_id, now, until
        ):
            raise DomainError(Err.ERR_SMS_PKG_DUPLICATION)
    tx.packages.add_items(package_id, draft.items)
    # Last: the debit locks the user's row until commit, so it is held briefly.
    if package.credit:
        credit.debit(tx, principal.user_id, package.credit, now, "package", package_id)
    return package_id


def _draft(
    platform: Platform,
    principal: Principal,
    req: SendRequest,
    policy: PricingPolicy,
    start: datetime,
    now: datetime,
    priced: list[Priced],
    recreated_from: int | None,
) -> Draft:
    scheduled = start > now
    title = req.title or f"{platform.local.to_local(start):%Y-%m-%d %H:%M} tarihli gönderim"
    price = sum(p.price for p in priced)
    package = NewPackage(
        uuid=uuid7(),
        user_id=principal.user_id,
        custom_id=req.custom_id,
        sms_type=int(req.sms_type),
        sending_type=int(req.sending_type),
        title=title,
        content=req.content,
        sender=req.sender or "",
        encoding=int(req.encoding),
        validity=req.validity,
        state=int(PackageState.WAITING if scheduled else PackageState.QUEUEING),
        lane=rules.lane_of(req.sms_type, req.otp),
        sending_date=start,
        is_scheduled=scheduled,
        periodic=req.periodic,
        push_url=req.push_url,
        commercial=req.commercial,
        trust_date=platform.local.to_utc(req.trust_date) if req.trust_date else None,
        recipients=len(priced),
        invalid_count=req.invalid_count,
        parts=sum(p.parts for p in priced),
        credit=charged(price, principal.unlimited),
        source=str(policy.source),
        recreated_from=recreated_from,
        created_at=now,
        updated_at=now,
    )
    return Draft(package, _items(req, priced, start), None)


def _start(platform: Platform, req: SendRequest, now: datetime) -> datetime:
    if req.sending_date is None:
        return now
    when = rules.check_sending_date(platform.local.to_utc(req.sending_date), now)
    return max(when or now, now)


def _price(
    req: SendRequest, recipients: Sequence[Recipient], policy: PricingPolicy, max_parts: int
) -> Iterator[Priced]:
    shared = _segment(req.content, req.encoding, max_parts) if req.content else None
    cache: dict[str, enc.Segmentation] = {}
    for recipient in recipients:
        text = recipient.msg
        if text is None:
            seg, text = shared, req.content or ""
        else:
            seg = cache.get(text)
            if seg is None:
                seg = cache[text] = _segment(text, req.encoding, max_parts)
        assert seg is not None
        yield Priced(recipient, seg.parts, policy.price(text, seg), int(seg.effective))


def _segment(text: str, encoding: int, max_parts: int) -> enc.Segmentation:
    seg = enc.segment(text, encoding)
    if seg.parts > max_parts:
        raise invalid("content", f"mesaj en fazla {max_parts} parça olabilir ({seg.parts})")
    return seg


def _fingerprint(
    req: SendRequest, recipients: Sequence[Recipient], start: datetime, now: datetime
) -> str:
    content = req.content or ""
    pairs = ((r.target, r.msg or content) for r in recipients)
    return rules.fingerprint(req.sender or "", pairs, start if start > now else None)


def _items(req: SendRequest, priced: list[Priced], start: datetime) -> list[NewItem]:
    lane = rules.lane_of(req.sms_type, req.otp)
    waiting = int(ItemState.WAITING)
    return [
        NewItem(
            p.recipient.target,
            p.recipient.msg,
            p.recipient.xid,
            operator_of(p.recipient.target),
            p.parts,
            p.price,
            p.encoding,
            waiting,
            lane,
            rules.split_due(start, index, req.periodic),
        )
        for index, p in enumerate(priced)
    ]


def find_package(tx: Tx, principal: Principal, ref: PackageRef) -> Package:
    """One of the caller's packages; another user's package is simply not found."""
    package = tx.packages.find(visible_to(principal), ref)
    if package is None:
        raise DomainError(Err.ERR_SMS_PKG_NOT_FOUND)
    return package


def cancel(platform: Platform, principal: Principal, ref: PackageRef) -> None:
    """Cancel a package nothing of which has gone out yet, and give its credit back."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        package = find_package(tx, principal, ref)
        if package.state not in rules.CANCELLABLE_PACKAGE_STATES:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE)
        # Only waiting items move; if the dispatcher took any, the package has started.
        if tx.packages.cancel_waiting(package.id, now) != package.recipients:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Gönderim başladı.")
        tx.packages.set_state(package.id, PackageState.CANCELLED, now)
        if package.credit:
            tx.ledger.credit(package.user_id, package.credit, now, "cancel", package.id)
        # A cancelled package was never sent: the same SMS may be sent again at once.
        tx.packages.forget_fingerprints(package.id)


def recreate(platform: Platform, principal: Principal, ref: PackageRef, title: str) -> int:
    """Send a finished package again, as a new package, to its recipients; the new id."""
    with platform.uow.read() as tx:
        package = find_package(tx, principal, ref)
        if package.state not in rules.RECREATABLE_PACKAGE_STATES:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Paket henüz tamamlanmadı.")
        recipients = tx.packages.recipients(package.id)
    req = _copy_request(package, rules.check_title(title), recipients)
    policy = policy_for(package.source)
    return create_package(
        platform, principal, req, policy=policy, check_duplicates=False, recreated_from=package.id
    )


def _copy_request(package: Package, title: str | None, recipients: list[Recipient]) -> SendRequest:
    return SendRequest(
        sms_type=SmsType(package.sms_type),
        sending_type=SendingType(package.sending_type),
        otp=package.lane == rules.OTP_LANE,
        sender=package.sender,
        content=package.content,
        encoding=Encoding(package.encoding),
        validity=package.validity,
        title=title,
        sending_date=None,
        periodic=package.periodic,
        push_url=package.push_url,
        commercial=package.commercial,
        custom_id=None,
        trust_date=None,
        recipients=tuple(recipients),
    )
