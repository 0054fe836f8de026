"""Creating, cancelling and re-creating SMS packages.

Creation runs as explicit steps, each a function a later feature extends:
resolve the recipients (the numbers, then the live contacts of the contact groups named,
sub-groups included, with their fields filled into the text) → filter them (repeats; for
commercial packages, İYS consent) → price them under the package source's policy →
write the package, its items and the debit in one transaction, which first drops the
numbers on the user's blacklist from a commercial package (the blacklist is read in
that same transaction, so a number blacklisted before the package commits never gets it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from service.domain import encoding as enc
from service.domain import packages as rules
from service.domain import schedules
from service.domain import webhooks as hooks
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
from service.domain.phone import OperatorLookup
from service.domain.pricing import NODE_PRICING, PricingPolicy, charged, policy_for
from service.domain.principal import Principal, visible_to
from service.domain.queries import PackageRef
from service.domain.records import NewItem, NewPackage, Package
from service.domain.sending import Recipient, SendRequest, member_text
from service.services import credit, iys, webhooks
from service.services.contacts import find_group
from service.services.platform import Platform
from service.services.ports import Tx
from service.services.senders import require_approved

# Something written with a package, in its transaction, given the package's id (a KVKK
# consent link): a refusal by it undoes the package.
OnWritten = Callable[[Tx, int], None]

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
    screened: bool = False  # blacklisted numbers already dropped (in this transaction)


def create_package(
    platform: Platform,
    principal: Principal,
    req: SendRequest,
    *,
    policy: PricingPolicy = NODE_PRICING,
    check_duplicates: bool = True,
    recreated_from: int | None = None,
    on_written: OnWritten | None = None,
) -> int:
    """Resolve, filter, price and write a package, reserving its credit; its id.
    `on_written(tx, package_id)` runs in the package's transaction."""
    now = platform.clock.now()
    if req.push_url is not None:
        allowed = hooks.parse_networks(platform.settings.webhook_allow_networks)
        hooks.check_push_url(req.push_url, allowed)
    start = _start(platform, req, now)
    kept = filter_recipients(platform, principal, req, resolve_recipients(platform, principal, req))
    recipients = kept.recipients
    if kept.skipped:  # left out like invalid numbers: no item, no charge, counted
        req = replace(req, invalid_count=req.invalid_count + kept.skipped)
    rules.check_split_span(start, len(recipients), req.periodic, now)
    priced = price_recipients(req, recipients, policy, platform.settings.max_message_parts)
    draft = draft_package(platform, principal, req, policy, start, now, priced, recreated_from)
    draft = _start_series(platform, draft)
    if check_duplicates and principal.duplicate_check:
        draft = Draft(draft.package, draft.items, _fingerprint(req, recipients, start, now))
    _precheck_credit(platform, principal, draft.package)
    groups = req.group_uuids
    package_id = platform.uow.write_job(
        lambda tx: write_package(platform, tx, principal, draft, now, on_written, groups=groups)
    )
    if draft.package.lane == rules.OTP_LANE and not draft.package.is_scheduled:
        platform.otp_doorbell.set()  # committed: the dispatcher can claim it now
    return package_id


def _start_series(platform: Platform, draft: Draft) -> Draft:
    """A repeating package (periodType 1-4) is run 0 of its series: note when run 1 is
    due (the housekeeping creates it shortly before)."""
    package = draft.package
    period = package.periodic.period_type if package.periodic else None
    if period is None or not schedules.is_repeating(period):
        return draft
    anchor = platform.local.to_local(package.sending_date)
    first = platform.local.to_utc(schedules.occurrence(anchor, period, 1))
    series = replace(package, next_run_at=first, next_run_no=1)
    return Draft(series, draft.items, draft.fingerprint)


def _precheck_credit(platform: Platform, principal: Principal, package: NewPackage) -> None:
    # A large package holds the write lock for seconds: fail before taking it. The
    # conditional debit in the write stays the rule; this only spares the others the wait.
    large = package.recipients > _PRECHECK_RECIPIENTS and package.credit
    if large and credit.balance_of(platform, principal.user_id) < package.credit:
        raise DomainError(Err.ERR_USER_CREDIT_REQUIRED)


def resolve_recipients(
    platform: Platform, principal: Principal, req: SendRequest
) -> list[Recipient]:
    """Step 1: who the package goes to: the request's numbers, then the live contacts
    of its contact groups and of their sub-groups (one streamed query), each number once
    (a number given explicitly keeps its own text). A group that is not the caller's is
    ERR_PARENT_CONTACT_GROUP_NOT_FOUND; nobody at all is ERR_EMPTY_SMS_PACKAGE."""
    if not req.group_uuids:
        return list(req.recipients)
    found = list(req.recipients)
    with platform.uow.read() as tx:
        found.extend(_group_recipients(tx, principal, req, {r.target for r in found}))
    if not found:
        raise DomainError(
            Err.ERR_EMPTY_SMS_PACKAGE, "Gruplarda gönderilecek kişi yok.", field="groupUUIDs"
        )
    return found


def _group_recipients(
    tx: Tx, principal: Principal, req: SendRequest, seen: set[str]
) -> Iterator[Recipient]:
    """The groups' contacts whose numbers are not in `seen` yet, each with its own text
    when the content names one of its fields."""
    named = [find_group(tx, principal, uuid).id for uuid in req.group_uuids]
    content = req.content or ""
    for member in tx.groups.recipients(principal.user_id, tx.groups.subtree(named)):
        if member.gsm not in seen:
            seen.add(member.gsm)
            yield Recipient(member.gsm, member_text(content, member, req.custom_fields))


class Filtered(NamedTuple):
    """The recipients a package goes to, and how many its filters left out (repeats are
    not counted: a repeat is sent once, not skipped)."""

    recipients: list[Recipient]
    skipped: int


NO_CONSENT = "İYS onayı olan numara yok."


def filter_recipients(
    platform: Platform, principal: Principal, req: SendRequest, recipients: Sequence[Recipient]
) -> Filtered:
    """Step 2: who of them gets it: the same recipient twice is sent once; a commercial
    package only those with an approved İYS consent. None left: ERR_EMPTY_SMS_PACKAGE."""
    kept = Filtered(unique_recipients(recipients), 0)
    if req.commercial:
        with platform.uow.read() as tx:
            return consented(tx, principal.user_id, kept)
    if not kept.recipients:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, NO_CONSENT)
    return kept


def unique_recipients(recipients: Sequence[Recipient]) -> list[Recipient]:
    """The recipients in order, a repeated one once."""
    return list(dict.fromkeys(recipients))


def drop_blacklisted(tx: Tx, principal: Principal, draft: Draft) -> Draft:
    """Step 2, in the writing transaction: a commercial package loses the numbers on the
    user's blacklist (one set-based query). They are neither written nor charged, and
    count as invalid numbers in the package's statistics; a package left with no number
    is ERR_EMPTY_SMS_PACKAGE. Other packages (OTPs, informational) are sent as asked:
    the blacklist is an opt-out from commercial messages (İYS, MO "RET")."""
    package = draft.package
    if not package.commercial or draft.screened:
        return draft
    blocked = tx.blacklist.blocked(principal.user_id, [i.target for i in draft.items])
    if not blocked:
        return dataclasses.replace(draft, screened=True)
    kept = [i for i in draft.items if i.target not in blocked]
    if not kept:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, "Tüm numaralar kara listede.")
    price = sum(i.credit for i in kept)
    package = dataclasses.replace(
        package,
        recipients=len(kept),
        invalid_count=package.invalid_count + len(draft.items) - len(kept),
        parts=sum(i.parts for i in kept),
        credit=charged(price, principal.unlimited),
    )
    return Draft(package, kept, draft.fingerprint, screened=True)


def consented(tx: Tx, user_id: int, kept: Filtered) -> Filtered:
    """Of a commercial package's recipients, those with an approved İYS consent (one
    query for all of them), in the caller's transaction (a periodic run asks at each run);
    the others are left out. None left: ERR_EMPTY_SMS_PACKAGE. No İYS settings or brand
    code: the spec's errors."""
    found = iys.consented_in(tx, user_id, kept.recipients)
    if not found.recipients:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, NO_CONSENT)
    return Filtered(found.recipients, kept.skipped + found.skipped)


def price_recipients(
    req: SendRequest, recipients: Sequence[Recipient], policy: PricingPolicy, max_parts: int
) -> list[Priced]:
    """Step 3: each recipient's parts, price and encoding; too long a message is refused."""
    return list(_price(req, recipients, policy, max_parts))


def write_package(
    platform: Platform,
    tx: Tx,
    principal: Principal,
    draft: Draft,
    now: datetime,
    on_written: OnWritten | None = None,
    *,
    groups: Sequence[str] = (),
) -> int:
    """Step 4: the package, its duplicate-check slot, its items, the contact groups it
    was sent to and its debit; its id."""
    draft = drop_blacklisted(tx, principal, draft)
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
    if on_written is not None:
        on_written(tx, package_id)
    if groups:
        tx.packages.add_groups(package_id, groups)
    # Last: the debit locks the user's row until commit, so it is held briefly.
    if package.credit:
        credit.debit(tx, principal.user_id, package.credit, now, "package", package_id)
    return package_id


def draft_package(
    platform: Platform,
    principal: Principal,
    req: SendRequest,
    policy: PricingPolicy,
    start: datetime,
    now: datetime,
    priced: list[Priced],
    recreated_from: int | None,
) -> Draft:
    """A package and its items priced and due from `start`, ready to write."""
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
    return Draft(package, _items(req, priced, start, platform.operators), None)


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


def _items(
    req: SendRequest, priced: list[Priced], start: datetime, operators: OperatorLookup
) -> list[NewItem]:
    lane = rules.lane_of(req.sms_type, req.otp)
    waiting = int(ItemState.WAITING)
    return [
        NewItem(
            p.recipient.target,
            p.recipient.msg,
            p.recipient.xid,
            operators.operator_of(p.recipient.target),
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
    """Cancel what of a package is not handed to a carrier yet, and give its price back;
    what was handed over settles as usual. A periodic series stops: no further runs, and
    the waiting items of its runs are cancelled too."""
    now = platform.clock.now()
    # The series stops in a transaction of its own, first: once it commits no worker can
    # create a run, and the runs created before it are all visible to the cancel below.
    with platform.uow.write() as tx:
        package = find_package(tx, principal, ref)
        stopped = package.next_run_at is not None and tx.packages.stop_series(package.id, now)
    with platform.uow.write() as tx:
        targets = [package.id, *(tx.packages.runs_of(package.id) if stopped else [])]
        moved = _cancel_waiting(tx, package, targets, now)
        if not moved and not stopped:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Gönderilmemiş mesaj kalmadı.")
        tx.queue.refresh_packages(targets, now)
        webhooks.record_settled(tx, targets, now)  # cancelled items are reported too
        if moved == package.recipients:
            # Nothing of it was ever sent: the same SMS may be sent again at once.
            tx.packages.forget_fingerprints(package.id)


def _cancel_waiting(tx: Tx, package: Package, targets: list[int], now: datetime) -> int:
    """Cancel the waiting items of these packages (a package and its runs) and give back
    what each reserved for them (nothing to an unlimited user, who reserved nothing); how
    many of `package`'s own items moved."""
    reserved = {r.package_id: r.credit for r in tx.queue.reservations(targets)}
    moved: dict[int, int] = {}
    for package_id in targets:
        cancelled = tx.packages.cancel_waiting(package_id, now)
        moved[package_id] = cancelled.items
        if cancelled.credit and reserved.get(package_id):
            tx.ledger.credit(package.user_id, cancelled.credit, now, "cancel", package_id)
    return moved[package.id]


def recreate(
    platform: Platform,
    principal: Principal,
    ref: PackageRef,
    title: str,
    include_new: bool = False,
) -> int:
    """Send a finished package again, as a new package, to its recipients; the new id.
    With `include_new`, a package sent to contact groups also goes to the contacts in
    those groups now (added since) and remembers the groups; groups deleted since are
    skipped. Without it, only the original numbers get it."""
    with platform.uow.read() as tx:
        package = find_package(tx, principal, ref)
        if package.state not in rules.RECREATABLE_PACKAGE_STATES:
            raise DomainError(Err.ERR_SMS_PKG_NOT_CHANGEABLE, "Paket henüz tamamlanmadı.")
        recipients = tx.packages.recipients(package.id)
        groups = _live_groups(tx, principal, package.id) if include_new else ()
    req = replace(copy_request(package, rules.check_title(title), recipients), group_uuids=groups)
    policy = policy_for(package.source)
    return create_package(
        platform, principal, req, policy=policy, check_duplicates=False, recreated_from=package.id
    )


def _live_groups(tx: Tx, principal: Principal, package_id: int) -> tuple[str, ...]:
    """The groups a package was sent to that the caller still has."""
    scope = visible_to(principal)
    uuids = tx.packages.groups_of(package_id)
    return tuple(u for u in uuids if tx.groups.find(scope, u) is not None)


def copy_request(package: Package, title: str | None, recipients: list[Recipient]) -> SendRequest:
    """A request to send a package again: its text, options and recipients."""
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
        # A split is how the package was sent; a repeat is not copied: a copy is one package.
        periodic=package.periodic if package.periodic and package.periodic.is_split else None,
        push_url=package.push_url,
        commercial=package.commercial,
        custom_id=None,
        trust_date=None,
        recipients=tuple(recipients),
    )
