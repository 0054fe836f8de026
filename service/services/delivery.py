"""Moving items through their states: claim, hand over, report, time out, refund.

The items table is the queue. A claim marks items "sending" and commits before any
carrier sees them (at most once to the carrier); every later write is fenced by the
claim's owner and the state it expects, so a worker whose lease ran out cannot overwrite
what another process decided. Refunds follow the item's final state, once per item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)

from service.domain import packages as rules
from service.domain.constants import (
    NORMAL_VALIDITY,
    REPORT_GRACE_MINUTES,
    ItemState,
    PackageState,
)
from service.services.platform import Platform
from service.store.repositories.ledger import SqlLedger
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


def _ids(name: str = "b_ids") -> Any:
    """A list parameter for IN (...): one cached statement serves every list length."""
    return bindparam(name, expanding=True)


# The statements of the dispatcher's passes, built once: a pass runs a dozen of them, and
# building a statement and its cache key costs more than executing it on SQLite.
_DUE = select(items.c.id).where(
    movable_to(ItemState.SENDING),
    items.c.lane == bindparam("b_lane"),
    items.c.due_at <= bindparam("b_now"),
)
_ANY_DUE = _DUE.limit(1)


def _chosen(query: Any, name: str) -> Any:
    """The ids a query picks, locked (SKIP LOCKED: concurrent dispatchers on PostgreSQL take
    different rows, never wait) and evaluated once: as a plain IN (subquery ... LIMIT n) the
    planner may run the subquery again per row and update more than n rows."""
    chosen = (
        query.limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
        .cte(name)
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return items.c.id.in_(select(chosen.c.id))


_CLAIM = (
    update(items)
    .where(
        _chosen(_DUE.order_by(items.c.due_at, items.c.id), "due"),
        # Again on the row itself: after waiting for a lock PostgreSQL re-checks only this.
        movable_to(ItemState.SENDING),
    )
    .values(
        state=int(ItemState.SENDING),
        claim_owner=bindparam("b_owner"),
        lease_until=bindparam("b_lease"),
        processing_date=bindparam("b_now"),
    )
    .returning(
        items.c.id,
        items.c.package_id,
        items.c.target,
        items.c.msg,
        items.c.encoding,
        items.c.parts,
        items.c.operator,
        items.c.xid,
    )
)
_PACKAGE_FACTS = select(
    packages.c.id, packages.c.content, packages.c.sender, packages.c.validity
).where(packages.c.id.in_(_ids()))
_VALIDITY = (
    select(items.c.id, packages.c.validity)
    .join(packages, packages.c.id == items.c.package_id)
    .where(items.c.id.in_(_ids()))
)
_SUBMISSION_FENCE = and_(
    items.c.id == bindparam("b_id"),
    items.c.claim_owner == bindparam("b_owner"),
    movable_to(ItemState.SENT, ItemState.REJECTED),
)
_MARK_SENT = (
    update(items)
    .where(_SUBMISSION_FENCE)
    .values(
        state=int(ItemState.SENT),
        carrier_ref=bindparam("b_ref"),
        sending_date=bindparam("b_now"),
        expires_at=bindparam("b_exp"),
        lease_until=None,
    )
)
_MARK_REJECTED = (
    update(items)
    .where(_SUBMISSION_FENCE)
    .values(
        state=int(ItemState.REJECTED),
        error=bindparam("b_err"),
        sending_date=bindparam("b_now"),
        lease_until=None,
    )
)
_PACKAGES_OF_ITEMS = select(items.c.package_id).where(items.c.id.in_(_ids())).distinct()
_APPLY_REPORT = (
    update(items)
    .where(
        items.c.carrier_ref == bindparam("b_ref"),
        movable_to(ItemState.DELIVERED, ItemState.UNDELIVERED),
    )
    .values(state=bindparam("b_state"), delivery_date=bindparam("b_at"), error=bindparam("b_err"))
)
_ITEMS_OF_REFS = select(items.c.carrier_ref, items.c.package_id).where(
    items.c.carrier_ref.in_(_ids())
)
_IS_EXPIRED = (
    (items.c.state == int(ItemState.SENT)) & (items.c.expires_at <= bindparam("b_now"))
) | (
    (items.c.state == int(ItemState.SENDING)) & (items.c.processing_date <= bindparam("b_stranded"))
)
_EXPIRED = select(items.c.id).where(_IS_EXPIRED)
_ANY_EXPIRED = _EXPIRED.limit(1)
_EXPIRE = (
    update(items)
    .where(
        _chosen(_EXPIRED, "expired"),
        # Repeated on the row: a report committed while we waited for its lock has made the
        # item delivered, and PostgreSQL re-checks only the outer condition after the wait.
        _IS_EXPIRED,
    )
    .values(state=int(ItemState.TIMED_OUT), lease_until=None)
    .returning(items.c.package_id)
)
_OLD_FINGERPRINTS = recent_sends.c.expires_at <= bindparam("b_now")
_ANY_OLD_FINGERPRINT = select(recent_sends.c.user_id).where(_OLD_FINGERPRINTS).limit(1)


def _forget_fingerprints(row_locator: str) -> Any:
    # By the physical row id (SQLite's rowid, PostgreSQL's ctid): the oldest rows come
    # first in a table scan, so each chunk is found without reading the whole table; by
    # the (user_id, fingerprint) key instead, SQLite walked every row of the user per chunk.
    locator: Any = literal_column(row_locator)
    return delete(recent_sends).where(
        locator.in_(
            select(locator)
            .select_from(recent_sends)
            .where(_OLD_FINGERPRINTS)
            .limit(bindparam("b_limit"))
            .scalar_subquery()
        )
    )


_FORGET_FINGERPRINTS = {
    "sqlite": _forget_fingerprints("rowid"),
    "postgresql": _forget_fingerprints("ctid"),
}
# Fingerprints deleted per transaction. A busy sender's minute of OTPs is ~60,000 rows at
# random places of the key's index: deleted at once they held SQLite's write lock for ~1 s.
FORGET_CHUNK = 1000
_CLAIM_REFUNDS = (
    update(items)
    .where(
        items.c.package_id.in_(_ids()),
        items.c.refunded.is_(False),
        items.c.state.in_([int(s) for s in rules.REFUNDED_ITEM_STATES]),
    )
    .values(refunded=True)
    .returning(items.c.package_id, items.c.credit)
)
_RESERVED = select(packages.c.id, packages.c.user_id, packages.c.credit).where(
    packages.c.id.in_(_ids())
)
# FOR NO KEY UPDATE: see refresh_packages.
_LOCK_PACKAGES = (
    select(packages.c.id, packages.c.state, packages.c.sending_date)
    .where(packages.c.id.in_(_ids()))
    .order_by(packages.c.id)
    .with_for_update(key_share=True)
)
_COUNT_ITEMS = (
    select(items.c.package_id, items.c.state, func.count())
    .where(items.c.package_id.in_(_ids()))
    .group_by(items.c.package_id, items.c.state)
)
_SET_PACKAGE_STATE = (
    update(packages)
    .where(packages.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), updated_at=bindparam("b_now"))
)
# How long a report for a reference not recorded yet is kept and tried again.
REPORT_HOLD = timedelta(minutes=10)
# At most this many values in one IN (...): SQLite refuses more than 32766 parameters.
_IN_CHUNK = 1000


def _stranded_before(now: datetime) -> datetime:
    # Sent items expire at validity + 60 minutes. An item left "sending" by a crash between
    # claim and record was perhaps handed over: it is never sent again, and is settled once
    # even the longest validity (plus the hour) has passed since it was claimed.
    return now - timedelta(minutes=NORMAL_VALIDITY[1] + REPORT_GRACE_MINUTES)


def _any(platform: Platform, query: Any, params: dict[str, Any]) -> bool:
    # A read first: idle dispatchers must not take SQLite's write lock many times a second.
    with platform.store.read() as conn:
        return conn.execute(query, params).first() is not None


def claim(platform: Platform, owner: str, lane: int, limit: int) -> list[Claimed]:
    """Claim up to `limit` due items of a lane; they are "sending" once this returns."""
    now = platform.clock.now()
    if not _any(platform, _ANY_DUE, {"b_lane": lane, "b_now": now}):
        return []
    lease = now + timedelta(seconds=platform.settings.lease_seconds)
    with platform.store.write() as conn:
        rows = conn.execute(
            _CLAIM,
            {"b_lane": lane, "b_now": now, "b_limit": limit, "b_owner": owner, "b_lease": lease},
        ).all()
        if not rows:
            return []
        pkgs = {
            r.id: r._mapping
            for r in _each(conn, _PACKAGE_FACTS, sorted({r.package_id for r in rows}))
        }
        refresh_packages(conn, pkgs.keys(), now)
    return [
        Claimed(
            r.id,
            r.package_id,
            r.target,
            r.msg or pkgs[r.package_id]["content"] or "",
            r.encoding,
            r.parts,
            r.operator,
            pkgs[r.package_id]["sender"],
            pkgs[r.package_id]["validity"],
            r.xid,
        )
        for r in rows
    ]


def record_submissions(platform: Platform, owner: str, results: Sequence[Submission]) -> int:
    """Apply the carrier's answers to claimed items; rejected ones are refunded."""
    now = platform.clock.now()
    rejected = [
        {"b_id": r.item_id, "b_err": r.error, "b_owner": owner, "b_now": now}
        for r in results
        if not r.accepted
    ]
    with platform.store.write() as conn:
        validity = {
            r.id: r.validity
            for r in _each(conn, _VALIDITY, [r.item_id for r in results if r.accepted])
        }
        accepted = [
            {
                "b_id": r.item_id,
                "b_ref": r.carrier_ref,
                "b_owner": owner,
                "b_now": now,
                "b_exp": rules.expires_at(now, validity.get(r.item_id, 0)),
            }
            for r in results
            if r.accepted
        ]
        if accepted:
            conn.execute(_MARK_SENT, accepted)
        if rejected:
            conn.execute(_MARK_REJECTED, rejected)
        settle(conn, _packages_of(conn, [r.item_id for r in results]), now)
    return len(results)


@dataclass(frozen=True)
class Applied:
    """What came of a batch of delivery reports."""

    settled: int  # reports that found their item (or found it settled already)
    early: list[Report]  # their item not recorded as sent yet: to be applied again
    unknown: int  # references never seen within REPORT_HOLD: dropped


def apply_reports(platform: Platform, reports: Sequence[Report]) -> Applied:
    """Settle sent items from delivery reports; a duplicate or late report changes nothing.

    A report can overtake the carrier's own answer to the submission (a receipt before
    submit_sm_resp, or a report polled between the two): its reference is not recorded
    yet. Dropping it left a delivered item to time out and be refunded, so such reports
    are handed back to be tried again, for REPORT_HOLD after the report's time.
    """
    final = [r for r in reports if r.state in (ItemState.DELIVERED, ItemState.UNDELIVERED)]
    if not final:
        return Applied(0, [], 0)
    now = platform.clock.now()
    with platform.store.write() as conn:
        packages_of = {
            row.carrier_ref: row.package_id
            for row in _each(conn, _ITEMS_OF_REFS, sorted({r.carrier_ref for r in final}))
        }
        known = [r for r in final if r.carrier_ref in packages_of]
        if known:
            conn.execute(
                _APPLY_REPORT,
                [
                    {
                        "b_ref": r.carrier_ref,
                        "b_state": int(r.state),
                        "b_at": r.at,
                        "b_err": r.error,
                    }
                    for r in known
                ],
            )
            settle(conn, {packages_of[r.carrier_ref] for r in known}, now)
    unmatched = [r for r in final if r.carrier_ref not in packages_of]
    early = [r for r in unmatched if now - r.at < REPORT_HOLD]
    return Applied(len(known), early, len(unmatched) - len(early))


def expire(platform: Platform, limit: int = 5000) -> int:
    """Time out items with no report past validity + 60 minutes (state 5), and refund."""
    now = platform.clock.now()
    params = {"b_now": now, "b_stranded": _stranded_before(now)}
    if not _any(platform, _ANY_EXPIRED, params):
        return 0
    with platform.store.write() as conn:
        rows = conn.execute(_EXPIRE, {**params, "b_limit": limit}).all()
        settle(conn, {r.package_id for r in rows}, now)
    return len(rows)


def forget_old_fingerprints(platform: Platform) -> int:
    """Delete duplicate-check entries whose window has passed, a chunk per transaction so
    that package creations wait for one chunk at most."""
    params = {"b_now": platform.clock.now()}
    forgotten = 0
    while _any(platform, _ANY_OLD_FINGERPRINT, params):
        with platform.store.write() as conn:
            deleted = int(
                conn.execute(
                    _FORGET_FINGERPRINTS[conn.dialect.name], {**params, "b_limit": FORGET_CHUNK}
                ).rowcount
            )
        forgotten += deleted
        if deleted < FORGET_CHUNK:
            break
    return forgotten


def settle(conn: Connection, package_ids: Iterable[int], now: datetime) -> None:
    """Refund newly failed items of these packages, then bring their states up to date.

    Every settler takes its locks in one order (items, then balances by user id, then
    packages by id), so two settling overlapping packages wait for each other, never in
    a cycle (on PostgreSQL; SQLite has one writer).
    """
    ids = sorted(set(package_ids))
    owed: dict[int, int] = defaultdict(int)
    for package_id, parts in _each(conn, _CLAIM_REFUNDS, ids):
        # Claim the refund and learn its size in one statement: a concurrent settler of
        # the same items re-checks `refunded` under the row lock and gets nothing back,
        # so every item is refunded exactly once.
        owed[package_id] += parts
    reserved = sorted(_each(conn, _RESERVED, sorted(owed)), key=lambda r: (r.user_id, r.id))
    for package_id, user_id, credit_reserved in reserved:
        if credit_reserved:  # packages of unlimited users reserved nothing
            SqlLedger(conn).credit(user_id, owed[package_id], now, "refund", package_id)
    refresh_packages(conn, ids, now)


def refresh_packages(conn: Connection, package_ids: Iterable[int], now: datetime) -> None:
    """Derive each package's state from its items' states."""
    ids = sorted(set(package_ids))
    # Lock the packages (in id order) before counting, so that a concurrent settler counts
    # after our commit and sees our items; counting first could leave two dispatchers each
    # writing a state that misses the other's last report. FOR NO KEY UPDATE: it does not
    # conflict with the key-share locks item writes take on their package (foreign key),
    # which a plain FOR UPDATE does, deadlocking dispatchers and cancels.
    facts = list(_each(conn, _LOCK_PACKAGES, ids))
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for package_id, state, n in _each(conn, _COUNT_ITEMS, ids):
        counts[package_id][state] = n
    changes = []
    for package_id, current, sending_date in facts:
        if current == PackageState.CANCELLED:
            continue
        state = rules.package_state(counts[package_id], scheduled_future=sending_date > now)
        if state != current:
            changes.append({"b_id": package_id, "b_state": int(state), "b_now": now})
    if changes:  # one statement for the batch: a pass of OTPs touches a package per item
        conn.execute(_SET_PACKAGE_STATE, changes)


def _each(conn: Connection, statement: Any, values: Sequence[Any]) -> Iterator[Any]:
    """The rows of a statement over a list (`b_ids`) of any length, a chunk at a time, in
    the list's order."""
    for offset in range(0, len(values), _IN_CHUNK):
        yield from conn.execute(statement, {"b_ids": list(values[offset : offset + _IN_CHUNK])})


def _packages_of(conn: Connection, item_ids: list[int]) -> set[int]:
    return {r.package_id for r in _each(conn, _PACKAGES_OF_ITEMS, item_ids)}
