"""Settlement: moving items through their states: claim, hand over, report, time out, refund.

The items table is the queue. A claim marks items "sending" and commits before any
carrier sees them (at most once to the carrier); every later write is fenced by the
claim's owner and the state it expects, so a worker whose lease ran out cannot overwrite
what another process decided. Refunds follow the item's final state, once per item, when
the pricing policy of the package's source says they are due: Node API items at once,
FinSMS facade items 48 hours after sending (the housekeeping sweep comes back for those).

These use cases work on plain values through a unit of work; the SQL is the queue
repository's (service.store.repositories.queue), and unit tests run them in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from service.config import Settings
from service.domain import packages as rules
from service.domain.carrier import (
    RECEIPT_STATES,
    DeliveryReceipt,
    Outcome,
    Submission,
    SubmitResult,
    combine_parts,
)
from service.domain.pricing import HOLDING_POLICIES
from service.domain.text import is_storable, storable
from service.services import webhooks
from service.services.clock import Clock
from service.services.ports import Tx, UnitOfWork

__all__ = [
    "Applied",
    "DeliveryReceipt",
    "Submission",
    "SubmitResult",
    "apply_receipts",
    "claim",
    "expire",
    "forget_old_fingerprints",
    "forget_settled_parts",
    "record_receipts",
    "record_submissions",
    "refund_due_items",
    "settle",
]

log = logging.getLogger("finsms.delivery")
# What an item (and the receipt inbox) keeps of a carrier's reference and error text.
MAX_REF = 64
MAX_ERROR = 64
# How long a report for a reference not recorded yet is kept and tried again, and how
# long it waits between tries (it overtook its submit_sm_resp: usually milliseconds).
REPORT_HOLD = timedelta(minutes=10)
REPORT_RETRY = timedelta(seconds=2)
# Receipts applied per transaction: a settle pass may bring thousands while a large
# package goes out, and on SQLite one transaction for all of them held the single write
# lock for a few hundred milliseconds, with OTPs waiting behind it.
RECEIPT_BATCH = 500
# Fingerprints deleted per transaction. A busy sender's minute of OTPs is ~60,000 rows at
# random places of the key's index: deleted at once they held SQLite's write lock for ~1 s.
FORGET_CHUNK = 1000
# Packages whose held-back refunds came due, settled per transaction by the sweep.
REFUND_SWEEP_CHUNK = 500


class Host(Protocol):
    """What the settlement service needs of the platform (read-only: a host may hold a
    narrower clock or unit of work, e.g. a test's FixedClock and in-memory store)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def uow(self) -> UnitOfWork: ...


def claim(platform: Host, owner: str, lane: int, limit: int) -> list[Submission]:
    """Claim up to `limit` due items of a lane; they are "sending" once this returns."""
    now = platform.clock.now()
    uow = platform.uow
    # A read first: idle dispatchers must not take SQLite's write lock many times a second.
    with uow.read() as tx:
        if not tx.queue.any_due(lane, now):
            return []
    lease = now + timedelta(seconds=platform.settings.lease_seconds)
    with uow.write() as tx:
        # The claim stamps the lease as the items' expiry, in the same write: a second
        # write of every claimed row for its own expiry cost a fifth of PostgreSQL's
        # dispatch. expire() gives an item still "sending" when its lease is over its own.
        claimed = tx.queue.claim(owner, lane, now, lease, limit)
        if claimed:
            tx.queue.refresh_packages({c.package_id for c in claimed}, now)
    return claimed


def record_submissions(platform: Host, owner: str, results: Sequence[SubmitResult]) -> int:
    """Apply the carrier's answers to claimed items: accepted ones are sent (with the refs
    of their parts), rejected ones settled (refunded as their package's policy says), and
    those to retry go back to waiting, due a little later, neither charged nor refunded."""
    now = platform.clock.now()
    accepted = [r for r in results if r.accepted]
    with platform.uow.write() as tx:
        validity = tx.queue.validities([r.item_id for r in accepted])
        sent = [
            (r.item_id, r.carrier_ref, r.link, rules.expires_at(now, validity.get(r.item_id, 0)))
            for r in accepted
        ]
        moved = tx.queue.mark_sent(owner, sent, now)
        tx.receipts.add_parts(
            [
                (r.link, ref, r.item_id)
                for r in accepted
                if len(r.part_refs) > 1
                for ref in r.part_refs
            ]
        )
        moved |= tx.queue.mark_rejected(
            owner, [(r.item_id, r.error) for r in results if not r.accepted and not r.retry], now
        )
        retries = [(r.item_id, r.error) for r in results if not r.accepted and r.retry]
        moved |= tx.queue.mark_retry(owner, retries, now + rules.RETRY_DELAY)
        settle(tx, moved, now)
    return len(results)


def record_receipts(platform: Host, link: str, receipts: Sequence[DeliveryReceipt]) -> int:
    """Durably record receipts a link handed over (committed when this returns); how many.
    Receipts of other states than a final one (an intermediate ENROUTE) are not kept, nor
    are those whose reference no item can have (too long, or not storable): refused, such a
    receipt would fail its whole batch, which the operator would then redeliver forever."""
    final = [
        replace(r, link=link, error=_error_text(r.error))
        for r in receipts
        if r.state in RECEIPT_STATES and _usable_ref(r.carrier_ref, link)
    ]
    if final:
        with platform.uow.write() as tx:
            tx.receipts.add(final, platform.clock.now())
    return len(final)


def _usable_ref(ref: str, link: str) -> bool:
    if len(ref) <= MAX_REF and is_storable(ref):
        return True
    log.warning("receipt on %s with an unusable reference %r dropped", link, ref[:80])
    return False


def _error_text(error: str | None) -> str | None:
    """An operator's error text as the inbox keeps it."""
    return None if error is None else storable(error)[:MAX_ERROR]


@dataclass(frozen=True)
class Applied:
    """What came of a pass over the receipt inbox."""

    settled: int  # receipts that found their item (or found it settled already)
    waiting: int  # their item not recorded as sent yet: tried again a little later
    dropped: int  # references never seen within REPORT_HOLD: dropped


def apply_receipts(platform: Host, limit: int = RECEIPT_BATCH) -> Applied:
    """Apply a batch of recorded receipts to their items and settle them.

    A receipt can overtake the carrier's answer to its submission (a receipt before
    submit_sm_resp): its reference is not recorded yet, so it stays in the inbox and is
    tried again, for REPORT_HOLD after it was received; then it is dropped. A part of a
    multipart item is recorded; the item is settled once every part has its receipt.
    """
    now = platform.clock.now()
    uow = platform.uow
    with uow.read() as tx:  # a read first: see claim
        if not tx.receipts.any_due(now):
            return Applied(0, 0, 0)
    with uow.write() as tx:
        held = tx.receipts.claim(now, limit)
        matched, packages = _apply_held(tx, [h.receipt for h in held])
        settle(tx, packages, now)
        unmatched = [h for h in held if _key(h.receipt) not in matched]
        dropped = [h.id for h in unmatched if now - h.received_at >= REPORT_HOLD]
        tx.receipts.delete([h.id for h in held if _key(h.receipt) in matched] + dropped)
        waiting = [h.id for h in unmatched if now - h.received_at < REPORT_HOLD]
        tx.receipts.postpone(waiting, now + REPORT_RETRY)
    return Applied(len(held) - len(unmatched), len(waiting), len(dropped))


def _key(receipt: DeliveryReceipt) -> tuple[str, str]:
    return receipt.link, receipt.carrier_ref


def _apply_held(
    tx: Tx, receipts: Sequence[DeliveryReceipt]
) -> tuple[set[tuple[str, str]], set[int]]:
    """Apply receipts to their items, or to their parts; the (link, ref) keys that found
    their item or part, and the packages of the items settled."""
    keys = sorted({_key(r) for r in receipts})
    part_of = tx.receipts.parts_of_refs(keys)
    item_of = tx.queue.items_of_refs([k for k in keys if k not in part_of])
    tx.receipts.record_parts([r for r in receipts if _key(r) in part_of])
    complete = _complete_items(tx, sorted({part_of[k] for k in keys if k in part_of}))
    outcomes = [
        (item_of[_key(r)], Outcome(r.state, r.at, r.error)) for r in receipts if _key(r) in item_of
    ]
    packages = tx.queue.apply_outcomes(outcomes + list(complete.items()))
    tx.receipts.forget_parts(sorted(complete))
    return set(part_of) | set(item_of), packages


def _complete_items(tx: Tx, item_ids: Sequence[int]) -> dict[int, Outcome]:
    """{item id: its outcome} of the multipart items whose every part has its receipt."""
    if not item_ids:
        return {}
    complete: dict[int, Outcome] = {}
    for item_id, parts in tx.receipts.parts_of_items(item_ids).items():
        reported = [p for p in parts if p is not None]
        if len(reported) == len(parts):
            complete[item_id] = combine_parts(reported)
    return complete


def expire(platform: Host, limit: int = 5000) -> int:
    """Time out items with no report past validity + 60 minutes (state 5): sent ones from
    their sending, and ones left "sending" by a worker that died from their claim; settle
    them; how many."""
    now = platform.clock.now()
    uow = platform.uow
    with uow.read() as tx:  # a read first: see claim
        if not tx.queue.any_expired(now):
            return 0
    with uow.write() as tx:
        # An item still "sending" when its lease is over (its worker died before recording
        # the carrier's answer, or is slow) is never sent again: it times out at its own
        # claim + validity + grace (a receipt may settle it first), not the longest one.
        own = {i: rules.stranded_expiry(at, v) for i, at, v in tx.queue.leases_over(now, limit)}
        tx.queue.restamp({i: at for i, at in own.items() if at > now}, now)
        expired = tx.queue.time_out_stranded([i for i, at in own.items() if at <= now], now)
        expired += tx.queue.expire(now, limit - len(expired))
        settle(tx, set(expired), now)
    return len(expired)


def forget_settled_parts(platform: Host) -> int:
    """Forget the recorded parts of multipart items that timed out before every part had
    its receipt; how many parts."""
    with platform.uow.read() as tx:  # a read first: see claim
        if not tx.receipts.any_settled_parts():
            return 0
    with platform.uow.write() as tx:
        return tx.receipts.forget_settled_parts()


def forget_old_fingerprints(platform: Host) -> int:
    """Delete duplicate-check entries whose window has passed, a chunk per transaction so
    that package creations wait for one chunk at most."""
    now = platform.clock.now()
    uow = platform.uow
    forgotten = 0
    while True:
        with uow.read() as tx:
            if not tx.queue.any_old_fingerprint(now):
                break
        with uow.write() as tx:
            deleted = tx.queue.forget_fingerprints(now, FORGET_CHUNK)
        forgotten += deleted
        if deleted < FORGET_CHUNK:
            break
    return forgotten


def refund_due_items(platform: Host) -> int:
    """Settle packages whose held-back refunds have come due (FinSMS facade items 48 hours
    after sending): no report or timeout will touch those packages again. How many
    packages got a refund."""
    now = platform.clock.now()
    cutoffs = [cut for cut in _held(now).values()]
    if not cutoffs:
        return 0
    # The latest cut-off finds every item due under any policy; settle applies each
    # package's own.
    sent_before = max(cutoffs)
    uow = platform.uow
    refunded = 0
    while True:
        with uow.read() as tx:
            package_ids = tx.queue.refunds_pending(sent_before, REFUND_SWEEP_CHUNK)
        if not package_ids:
            break
        with uow.write() as tx:
            done = settle(tx, package_ids, now)
        refunded += done
        # Fewer than a chunk: that was the last; nothing refunded: the rest is not due yet.
        if len(package_ids) < REFUND_SWEEP_CHUNK or not done:
            break
    return refunded


def settle(tx: Tx, package_ids: Iterable[int], now: datetime) -> int:
    """Refund the newly failed items of these packages whose refund is due, then bring
    the packages' states up to date; how many packages got a refund.

    Every settler takes its locks in one order (items, then balances by user id, then
    packages by id), so two settling overlapping packages wait for each other, never in
    a cycle (on PostgreSQL; SQLite has one writer).
    """
    ids = sorted(set(package_ids))
    owed = tx.queue.claim_refunds(ids, _held(now))
    reserved = sorted(tx.queue.reservations(sorted(owed)), key=lambda r: (r.user_id, r.package_id))
    for reservation in reserved:
        if reservation.credit:  # packages of unlimited users reserved nothing
            package_id = reservation.package_id
            tx.ledger.credit(reservation.user_id, owed[package_id], now, "refund", package_id)
    tx.queue.refresh_packages(ids, now)
    # After the refresh (a report carries its package's state); its item locks are on
    # items this transaction made final, so the lock order above still holds.
    webhooks.record_settled(tx, ids, now)
    return len(owed)


# The policies that hold refunds back for a while (looked up once: settle runs per pass).


def _held(now: datetime) -> dict[str, datetime]:
    """Per package source whose policy holds refunds back: failed items sent after this
    time are not refunded yet."""
    return {str(p.source): cut for p in HOLDING_POLICIES if (cut := p.held_after(now)) is not None}
