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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from service.config import Settings
from service.domain import packages as rules
from service.domain.carrier import DeliveryReceipt, Submission, SubmitResult
from service.domain.constants import ItemState
from service.domain.pricing import HOLDING_POLICIES
from service.services.clock import Clock
from service.services.ports import Tx, UnitOfWork

__all__ = [
    "Applied",
    "DeliveryReceipt",
    "Submission",
    "SubmitResult",
    "apply_reports",
    "claim",
    "expire",
    "forget_old_fingerprints",
    "record_submissions",
    "refund_due_items",
    "settle",
]

# How long a report for a reference not recorded yet is kept and tried again.
REPORT_HOLD = timedelta(minutes=10)
# Fingerprints deleted per transaction. A busy sender's minute of OTPs is ~60,000 rows at
# random places of the key's index: deleted at once they held SQLite's write lock for ~1 s.
FORGET_CHUNK = 1000
# Delivery reports applied per transaction (see apply_reports).
REPORT_CHUNK = 500
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
        claimed = tx.queue.claim(owner, lane, now, lease, limit)
        if claimed:
            tx.queue.refresh_packages({c.package_id for c in claimed}, now)
    return claimed


def record_submissions(platform: Host, owner: str, results: Sequence[SubmitResult]) -> int:
    """Apply the carrier's answers to claimed items; rejected ones are settled (refunded
    as their package's policy says)."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        validity = tx.queue.validities([r.item_id for r in results if r.accepted])
        sent = [
            (r.item_id, r.carrier_ref, rules.expires_at(now, validity.get(r.item_id, 0)))
            for r in results
            if r.accepted
        ]
        tx.queue.mark_sent(owner, sent, now)
        tx.queue.mark_rejected(
            owner, [(r.item_id, r.error) for r in results if not r.accepted], now
        )
        settle(tx, tx.queue.packages_of([r.item_id for r in results]), now)
    return len(results)


@dataclass(frozen=True)
class Applied:
    """What came of a batch of delivery reports."""

    settled: int  # reports that found their item (or found it settled already)
    early: list[DeliveryReceipt]  # their item not recorded as sent yet: to be applied again
    unknown: int  # references never seen within REPORT_HOLD: dropped


def apply_reports(platform: Host, reports: Sequence[DeliveryReceipt]) -> Applied:
    """Settle sent items from delivery reports; a duplicate or late report changes nothing.

    A report can overtake the carrier's own answer to the submission (a receipt before
    submit_sm_resp, or a report polled between the two): its reference is not recorded
    yet. Dropping it left a delivered item to time out and be refunded, so such reports
    are handed back to be tried again, for REPORT_HOLD after the report's time.

    At most REPORT_CHUNK reports per transaction: a settle pass may bring thousands while
    a large package goes out, and on SQLite one transaction for all of them held the
    single write lock for a few hundred milliseconds, with OTPs waiting behind it. If a
    chunk fails, the earlier ones stay applied; applying them again changes nothing.
    """
    final = [r for r in reports if r.state in (ItemState.DELIVERED, ItemState.UNDELIVERED)]
    settled, early, unknown = 0, [], 0
    for offset in range(0, len(final), REPORT_CHUNK):
        done = _apply_chunk(platform, final[offset : offset + REPORT_CHUNK])
        settled += done.settled
        early.extend(done.early)
        unknown += done.unknown
    return Applied(settled, early, unknown)


def _apply_chunk(platform: Host, final: Sequence[DeliveryReceipt]) -> Applied:
    now = platform.clock.now()
    with platform.uow.write() as tx:
        packages_of = tx.queue.packages_of_refs(sorted({r.carrier_ref for r in final}))
        known = [r for r in final if r.carrier_ref in packages_of]
        if known:
            tx.queue.apply_receipts(known)
            settle(tx, {packages_of[r.carrier_ref] for r in known}, now)
    unmatched = [r for r in final if r.carrier_ref not in packages_of]
    early = [r for r in unmatched if now - r.at < REPORT_HOLD]
    return Applied(len(known), early, len(unmatched) - len(early))


def expire(platform: Host, limit: int = 5000) -> int:
    """Time out items with no report past validity + 60 minutes (state 5), and items left
    "sending" by a crash once even the longest validity has passed; settle them."""
    now = platform.clock.now()
    stranded = rules.stranded_before(now)
    uow = platform.uow
    with uow.read() as tx:  # a read first: see claim
        if not tx.queue.any_expired(now, stranded):
            return 0
    with uow.write() as tx:
        expired = tx.queue.expire(now, stranded, limit)
        settle(tx, set(expired), now)
    return len(expired)


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
    return len(owed)


# The policies that hold refunds back for a while (looked up once: settle runs per pass).


def _held(now: datetime) -> dict[str, datetime]:
    """Per package source whose policy holds refunds back: failed items sent after this
    time are not refunded yet."""
    return {str(p.source): cut for p in HOLDING_POLICIES if (cut := p.held_after(now)) is not None}
