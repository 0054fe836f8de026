"""Moving items through their states: claim, hand over, report, time out, refund.

The items table is the queue. A claim marks items "sending" and commits before any
carrier sees them (at most once to the carrier); every later write is fenced by the
claim's owner and the state it expects, so a worker whose lease ran out cannot overwrite
what another process decided. Refunds follow the item's final state, once per item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from service.domain import packages as rules
from service.domain.constants import (
    NORMAL_VALIDITY,
    REPORT_GRACE_MINUTES,
    ItemState,
    PackageState,
)
from service.services import credit
from service.services.platform import Platform
from service.store.schema import items, packages, recent_sends


@dataclass(frozen=True)
class Claimed:
    """An item claimed for sending, with everything a carrier needs."""

    item_id: int
    package_id: int
    target: str
    text: str
    encoding: int
    parts: int
    operator: int | None
    sender: str
    validity: int
    xid: str | None


@dataclass(frozen=True)
class Submission:
    """What the carrier said about one item: accepted with a reference, or rejected."""

    item_id: int
    accepted: bool
    carrier_ref: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Report:
    """A delivery report: the carrier's reference and the final state it reports."""

    carrier_ref: str
    state: ItemState  # DELIVERED or UNDELIVERED
    at: datetime
    error: str | None = None


def movable_to(*targets: ItemState) -> Any:
    """SQL: the item is in a state from which it may move to `targets` (the fence of a
    write). A single state is an equality, which executemany accepts and IN is not."""
    states = rules.sources(*targets)
    return items.c.state == states[0] if len(states) == 1 else items.c.state.in_(states)


def _due(lane: int, now: datetime) -> Any:
    return select(items.c.id).where(movable_to(ItemState.SENDING),
                                    items.c.lane == lane, items.c.due_at <= now)


def _expired(now: datetime) -> Any:
    # Sent items expire at validity + 60 minutes. An item left "sending" by a crash between
    # claim and record was perhaps handed over: it is never sent again, and is settled once
    # even the longest validity (plus the hour) has passed since it was claimed.
    stranded_before = now - timedelta(minutes=NORMAL_VALIDITY[1] + REPORT_GRACE_MINUTES)
    return select(items.c.id).where(
        ((items.c.state == int(ItemState.SENT)) & (items.c.expires_at <= now))
        | ((items.c.state == int(ItemState.SENDING))
           & (items.c.processing_date <= stranded_before)))


def _any(platform: Platform, query: Any) -> bool:
    # A read first: idle dispatchers must not take SQLite's write lock many times a second.
    with platform.store.read() as conn:
        return conn.execute(query.limit(1)).first() is not None


def claim(platform: Platform, owner: str, lane: int, limit: int) -> list[Claimed]:
    """Claim up to `limit` due items of a lane; they are "sending" once this returns."""
    now = platform.clock.now()
    if not _any(platform, _due(lane, now)):
        return []
    lease = now + timedelta(seconds=platform.settings.lease_seconds)
    with platform.store.write() as conn:
        due = _due(lane, now).order_by(items.c.due_at, items.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = conn.execute(
            update(items).where(items.c.id.in_(due.scalar_subquery()))
            .values(state=int(ItemState.SENDING), claim_owner=owner, lease_until=lease,
                    processing_date=now)
            .returning(items.c.id, items.c.package_id, items.c.target, items.c.msg,
                       items.c.encoding, items.c.parts, items.c.operator, items.c.xid)).all()
        if not rows:
            return []
        pkgs = _package_facts(conn, {r.package_id for r in rows})
        refresh_packages(conn, pkgs.keys(), now)
    return [Claimed(r.id, r.package_id, r.target, r.msg or pkgs[r.package_id]["content"] or "",
                    r.encoding, r.parts, r.operator, pkgs[r.package_id]["sender"],
                    pkgs[r.package_id]["validity"], r.xid) for r in rows]


def _package_facts(conn: Connection, package_ids: Iterable[int]) -> dict[int, Any]:
    rows = conn.execute(select(packages.c.id, packages.c.content, packages.c.sender,
                               packages.c.validity).where(packages.c.id.in_(list(package_ids))))
    return {r.id: r._mapping for r in rows}


def record_submissions(platform: Platform, owner: str, results: Sequence[Submission]) -> int:
    """Apply the carrier's answers to claimed items; rejected ones are refunded."""
    now = platform.clock.now()
    rejected = [{"b_id": r.item_id, "b_err": r.error} for r in results if not r.accepted]
    fence = and_(items.c.id == bindparam("b_id"), items.c.claim_owner == owner,
                 movable_to(ItemState.SENT, ItemState.REJECTED))
    with platform.store.write() as conn:
        validity = dict(conn.execute(
            select(items.c.id, packages.c.validity).join(
                packages, packages.c.id == items.c.package_id)
            .where(items.c.id.in_([r.item_id for r in results if r.accepted]))).all())
        accepted = [{"b_id": r.item_id, "b_ref": r.carrier_ref,
                     "b_exp": rules.expires_at(now, validity.get(r.item_id, 0))}
                    for r in results if r.accepted]
        if accepted:
            conn.execute(update(items).where(fence).values(
                state=int(ItemState.SENT), carrier_ref=bindparam("b_ref"), sending_date=now,
                expires_at=bindparam("b_exp"), lease_until=None), accepted)
        if rejected:
            conn.execute(update(items).where(fence).values(
                state=int(ItemState.REJECTED), error=bindparam("b_err"), sending_date=now,
                lease_until=None), rejected)
        touched = _packages_of(conn, [r.item_id for r in results])
        settle(conn, touched, now)
    return len(results)


def apply_reports(platform: Platform, reports: Sequence[Report]) -> int:
    """Settle sent items from delivery reports; an unknown or late report changes nothing."""
    if not reports:
        return 0
    now = platform.clock.now()
    params = [{"b_ref": r.carrier_ref, "b_state": int(r.state), "b_at": r.at, "b_err": r.error}
              for r in reports if r.state in (ItemState.DELIVERED, ItemState.UNDELIVERED)]
    with platform.store.write() as conn:
        conn.execute(update(items).where(
            items.c.carrier_ref == bindparam("b_ref"),
            movable_to(ItemState.DELIVERED, ItemState.UNDELIVERED))
            .values(state=bindparam("b_state"), delivery_date=bindparam("b_at"),
                    error=bindparam("b_err")), params)
        touched = {r.package_id for r in conn.execute(select(items.c.package_id).where(
            items.c.carrier_ref.in_([p["b_ref"] for p in params])).distinct())}
        settle(conn, touched, now)
    return len(params)


def expire(platform: Platform, limit: int = 5000) -> int:
    """Time out items with no report past validity + 60 minutes (state 5), and refund."""
    now = platform.clock.now()
    if not _any(platform, _expired(now)):
        return 0
    with platform.store.write() as conn:
        stale = _expired(now).limit(limit)
        rows = conn.execute(update(items).where(items.c.id.in_(stale.scalar_subquery()))
                            .values(state=int(ItemState.TIMED_OUT), lease_until=None)
                            .returning(items.c.package_id)).all()
        settle(conn, {r.package_id for r in rows}, now)
    return len(rows)


def forget_old_fingerprints(platform: Platform) -> int:
    """Delete duplicate-check entries whose window has passed."""
    now = platform.clock.now()
    if not _any(platform, select(recent_sends.c.user_id).where(
            recent_sends.c.expires_at <= now)):
        return 0
    with platform.store.write() as conn:
        return int(conn.execute(delete(recent_sends).where(
            recent_sends.c.expires_at <= now)).rowcount)


def settle(conn: Connection, package_ids: Iterable[int], now: datetime) -> None:
    """Refund newly failed items of these packages, then bring their states up to date."""
    ids = list(package_ids)
    if ids:
        _refund_failed(conn, ids, now)
        refresh_packages(conn, ids, now)


def _refund_failed(conn: Connection, package_ids: list[int], now: datetime) -> None:
    # Claim the refund and learn its size in one statement: a concurrent settler of the
    # same items (another dispatcher, on PostgreSQL) re-checks `refunded` under the row
    # lock and gets nothing back, so every item is refunded exactly once.
    claimed = conn.execute(
        update(items).where(items.c.package_id.in_(package_ids), items.c.refunded.is_(False),
                            items.c.state.in_([int(s) for s in rules.REFUNDED_ITEM_STATES]))
        .values(refunded=True).returning(items.c.package_id, items.c.parts)).all()
    owed: dict[int, int] = defaultdict(int)
    for package_id, parts in claimed:
        owed[package_id] += parts
    if not owed:
        return
    for package_id, user_id, reserved in conn.execute(
            select(packages.c.id, packages.c.user_id, packages.c.credit)
            .where(packages.c.id.in_(list(owed)))):
        if reserved:  # packages of unlimited users reserved nothing
            credit.refund(conn, user_id, owed[package_id], now, "refund", package_id)


def refresh_packages(conn: Connection, package_ids: Iterable[int], now: datetime) -> None:
    """Derive each package's state from its items' states."""
    ids = sorted(set(package_ids))
    if not ids:
        return
    # Lock the packages (in id order) before counting, so that a concurrent settler counts
    # after our commit and sees our items; counting first could leave two dispatchers each
    # writing a state that misses the other's last report. FOR NO KEY UPDATE: it does not
    # conflict with the key-share locks item writes take on their package (foreign key),
    # which a plain FOR UPDATE does, deadlocking dispatchers and cancels.
    facts = conn.execute(select(packages.c.id, packages.c.state, packages.c.sending_date)
                         .where(packages.c.id.in_(ids)).order_by(packages.c.id)
                         .with_for_update(key_share=True)).all()
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for package_id, state, n in conn.execute(
            select(items.c.package_id, items.c.state, func.count())
            .where(items.c.package_id.in_(ids)).group_by(items.c.package_id, items.c.state)):
        counts[package_id][state] = n
    for package_id, current, sending_date in facts:
        if current == PackageState.CANCELLED:
            continue
        state = rules.package_state(counts[package_id], scheduled_future=sending_date > now)
        if state != current:
            conn.execute(update(packages).where(packages.c.id == package_id)
                         .values(state=int(state), updated_at=now))


def _packages_of(conn: Connection, item_ids: list[int]) -> set[int]:
    if not item_ids:
        return set()
    return {r.package_id for r in conn.execute(
        select(items.c.package_id).where(items.c.id.in_(item_ids)).distinct())}
