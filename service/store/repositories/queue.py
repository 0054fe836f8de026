"""The dispatcher's queue in SQL: every statement that moves items through their states.

The items table is the queue. Its statements live here and only here (claim, record the
carrier's answers, apply receipts, time out, claim refunds, refresh package states,
forget old duplicate fingerprints); the settlement service (service.services.delivery)
decides what to run when, inside one transaction. An in-memory twin with the same
methods is service.store.memory.queue.

THE RULE OF THE COUNTERS: every item state change (and every item insert) goes through a
repository method that updates the package counters (table package_counts, helpers in
service.store.repositories.counts) in the same transaction, from the rows its statement
returned or from counts it knows (e.g. the fence's one source state times the rows moved).
A package's state and its reports are read from those counters, never by counting items;
a write that moves items without them leaves packages stuck in the wrong state. A new
transition follows the pattern of mark_sent or expire below, and its memory twin moves
items through MemoryQueue._put, which keeps the twin's counters.

Plans on PostgreSQL: the dispatcher's statements run with plan_cache_mode =
force_custom_plan (set per transaction, see SqlQueue). psycopg prepares a statement on
the server after five executions, and PostgreSQL then keeps a generic plan built for the
table as it was: built while `items` was tiny, the claim kept a sequential scan and a
nested-loop semi join (9-17 s per claim on a 100,000-item package). A custom plan is made
for the table as it is now, at ~0.1 ms per statement. And without JIT compilation: with
statistics from before a large package went out, the planner's cost of a batch's lookup
passed jit_above_cost, and compiling it took 4 ms of a 5 ms statement, every time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    DateTime,
    SmallInteger,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import UserDefinedType

from service.domain import packages as rules
from service.domain.carrier import Outcome, Submission
from service.domain.constants import ItemState, PackageState
from service.domain.pricing import REFUND_SWEEP_WINDOW
from service.domain.records import Reservation
from service.store.lists import InList, unnest_rows
from service.store.repositories import counts
from service.store.schema import HOLDS_REFUNDS, in_states, items, packages, recent_sends


def movable_to(*targets: ItemState) -> Any:
    """SQL: the item is in a state from which it may move to `targets` (the fence of a
    write). A single state is an equality, which executemany accepts and IN is not."""
    states = rules.sources(*targets)
    return items.c.state == states[0] if len(states) == 1 else items.c.state.in_(states)


class _RowLocator(ColumnElement[str]):
    """The row's physical locator (PostgreSQL's ctid as text, SQLite's rowid), valid
    while the transaction holds the row's lock: the update that follows a locking read
    finds its rows by it."""

    inherit_cache = True
    _traverse_internals: list[Any] = []  # noqa: RUF012
    type = String()


@compiles(_RowLocator)
def _rowid(element: _RowLocator, compiler: Any, **kw: Any) -> str:
    return "items.rowid"


@compiles(_RowLocator, "postgresql")
def _ctid(element: _RowLocator, compiler: Any, **kw: Any) -> str:
    return "items.ctid::text"


# The statements of the dispatcher's passes, built once: a pass runs a dozen of them, and
# building a statement and its cache key costs more than executing it on SQLite.
_ANY_DUE = (
    select(items.c.id)
    .where(
        movable_to(ItemState.SENDING),
        items.c.lane == bindparam("b_lane"),
        items.c.due_at <= bindparam("b_now"),
    )
    .limit(1)
)


def _picked(row_locator: str, pick: Any) -> Any:
    """SQL: the row is one of those `pick(alias)` selects (a query over an alias of items,
    its where, order and limit), locked with SKIP LOCKED and evaluated once.

    On PostgreSQL `ctid = ANY(ARRAY(subquery))`: the subquery runs once (an InitPlan) and
    each row is fetched by a TID scan, whatever the table's size and statistics; the former
    `id IN (SELECT id FROM materialized cte)` was planned as a hash or nested-loop semi join
    over a sequential scan of every item. On SQLite `rowid IN (subquery)`, run once too.
    """
    alias = items.alias("picked_items")
    chosen = (
        pick(alias)
        .with_only_columns(literal_column(f"picked_items.{row_locator}"))
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    locator: Any = literal_column(f"items.{row_locator}")
    return locator == any_(func.ARRAY(chosen)) if row_locator == "ctid" else locator.in_(chosen)


def _due(due: Any) -> Any:
    # Ordered by (lane, due_at), the order of ix_items_due itself: a tie-break on id made
    # PostgreSQL read and sort every due item of a package (one due time for all 100,000
    # of them) to return 500.
    return (
        select(due.c.id)
        .where(
            in_states(due.c.state, frozenset(rules.sources(ItemState.SENDING))),
            due.c.lane == bindparam("b_lane"),
            due.c.due_at <= bindparam("b_now"),
        )
        .order_by(due.c.lane, due.c.due_at)
    )


def _claim(row_locator: str) -> Any:
    """The claim: up to b_limit due items of a lane, oldest due first, marked "sending"."""
    return (
        update(items)
        # Again on the row itself: after waiting for a lock PostgreSQL re-checks only this.
        .where(_picked(row_locator, _due), movable_to(ItemState.SENDING))
        .values(
            state=int(ItemState.SENDING),
            claim_owner=bindparam("b_owner"),
            lease_until=bindparam("b_lease"),
            processing_date=bindparam("b_now"),
            expires_at=bindparam("b_lease"),  # see delivery.expire: the lease, then its own
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


_CLAIM = {"postgresql": _claim("ctid"), "sqlite": _claim("rowid")}
_WAITING = int(ItemState.WAITING)
_SENDING = int(ItemState.SENDING)
_SENT = int(ItemState.SENT)
_CANCELLED = int(ItemState.CANCELLED)
_PACKAGE_FACTS = select(
    packages.c.id,
    packages.c.content,
    packages.c.sender,
    packages.c.validity,
    packages.c.trust_date,
).where(InList(packages.c.id))
_VALIDITY = (
    select(items.c.id, packages.c.validity)
    .join(packages, packages.c.id == items.c.package_id)
    .where(InList(items.c.id))
)
_SUBMISSION_FENCE = and_(
    items.c.id == bindparam("b_id"),
    items.c.claim_owner == bindparam("b_owner"),
    movable_to(ItemState.SENT, ItemState.REJECTED),
)


def _locking_read(*extra: Any) -> Any:
    """The rows of the list b_ids, locked in id order, with what a fence looks at (state,
    claim owner, expiry: checked by the caller, see _fenced), their counters' facts and
    their locator (the update that follows finds them by it).

    No condition but the ids, so the planner has the primary key or a scan to choose
    from: with the fence's `state = ...` in the WHERE and statistics from before a large
    package went out, it read ix_items_expiring instead, walking every item in flight, and
    joined the batch's values to them row by row (70 ms per 500 items instead of 7; see
    tests/integration/test_claim_plan.py). FOR UPDATE returns each row as it is once
    locked: one another transaction updated while this one waited is read at its latest
    version, and its locator is that version's."""
    fence = (items.c.id, items.c.state, items.c.claim_owner, items.c.expires_at)
    return (
        select(*fence, items.c.package_id, items.c.parts, _RowLocator().label("tid"), *extra)
        .where(InList(items.c.id))
        .order_by(items.c.id)
        .with_for_update()
    )


def _fenced(
    rows: Iterable[Any], owner: str | None, *targets: ItemState, expired_by: datetime | None = None
) -> Iterator[Any]:
    """The rows of a locking read that may move to `targets` (held by `owner`, if given;
    expired by `expired_by`, if given): the fence of a write, as movable_to and the owner's
    condition say in SQL."""
    sources = {int(state) for state in rules.sources(*targets)}
    for row in rows:
        if row.state not in sources or (owner is not None and row.claim_owner != owner):
            continue
        if expired_by is None or (row.expires_at is not None and row.expires_at <= expired_by):
            yield row


# The rows a submission record, a receipt's outcome or a timeout may move, locked: for
# the counters, and where (the update that follows on PostgreSQL finds them by locator).
_LOCKED = _locking_read()
_MARK_SENT = (
    update(items)
    .where(_SUBMISSION_FENCE)
    .values(
        state=int(ItemState.SENT),
        carrier_ref=bindparam("b_ref"),
        carrier_link=bindparam("b_link"),
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


_SENT_ROWS = unnest_rows(id=BigInteger, ref=String, link=String, exp=DateTime)
_REJECTED_ROWS = unnest_rows(id=BigInteger, err=String)
_OUTCOME_ROWS = unnest_rows(id=BigInteger, state=SmallInteger, at=DateTime, err=String)


class _Tid(UserDefinedType[str]):
    """PostgreSQL's tid (a row's physical locator), passed as text and cast."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """The type's name in SQL."""
        return "tid"


def _locked(rows: Any) -> Any:
    """PostgreSQL: the items a locking read of this transaction returned (their locators
    as b_tids, fetched by a TID scan), joined with their values `rows` by id. The read
    checked the fence under the rows' locks, so the update repeats no fence: a fence here
    made the planner expect about one row and join the batch's values row by row."""
    tids = cast(bindparam("b_tids", type_=ARRAY(String)), ARRAY(_Tid()))
    return and_(literal_column("items.ctid") == any_(tids), items.c.id == rows.c.id)


# The same writes as _MARK_SENT, _MARK_REJECTED and _APPLY_OUTCOME, set-based, on the rows
# a locking read (_LOCKED) fenced.
_PG_MARK_SENT = (
    update(items)
    .where(_locked(_SENT_ROWS))
    .values(
        state=int(ItemState.SENT),
        carrier_ref=_SENT_ROWS.c.ref,
        carrier_link=_SENT_ROWS.c.link,
        sending_date=bindparam("b_now"),
        expires_at=_SENT_ROWS.c.exp,
        lease_until=None,
    )
)
_PG_MARK_REJECTED = (
    update(items)
    .where(_locked(_REJECTED_ROWS))
    .values(
        state=int(ItemState.REJECTED),
        error=_REJECTED_ROWS.c.err,
        sending_date=bindparam("b_now"),
        lease_until=None,
    )
)
_PG_APPLY_OUTCOMES = (
    update(items)
    .where(_locked(_OUTCOME_ROWS))
    .values(
        state=_OUTCOME_ROWS.c.state, delivery_date=_OUTCOME_ROWS.c.at, error=_OUTCOME_ROWS.c.err
    )
)
# A receipt settles only an item still "sent"; a duplicate or late one finds it final.
_APPLY_OUTCOME = (
    update(items)
    .where(
        items.c.id == bindparam("b_id"),
        movable_to(ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED),
    )
    .values(state=bindparam("b_state"), delivery_date=bindparam("b_at"), error=bindparam("b_err"))
)
_ITEMS_OF_REFS = select(items.c.carrier_link, items.c.carrier_ref, items.c.id).where(
    InList(items.c.carrier_ref)
)


def _items_of_each_ref() -> Any:
    """PostgreSQL: the items of each reference of the list b_ids, looked up one by one in
    ix_items_carrier_ref. As `carrier_ref = ANY(b_ids)`, statistics from before a package
    was sent (no reference at all) made the planner expect most items to match and scan
    the whole table (14 ms per 500 receipts on 100,000 items). The lookup is a LATERAL
    subquery with OFFSET 0, which the planner cannot merge into a join: it runs per
    reference, where an equality on the indexed column is read through the index."""
    refs = func.unnest(bindparam("b_ids", type_=ARRAY(String))).table_valued("ref")
    refs = refs.render_derived(name="wanted")
    found = (
        select(items.c.carrier_link, items.c.carrier_ref, items.c.id)
        .where(items.c.carrier_ref == refs.c.ref)
        .offset(0)
        .lateral("found")
    )
    return select(found.c.carrier_link, found.c.carrier_ref, found.c.id).select_from(
        refs.join(found, true())
    )


_PG_ITEMS_OF_REFS = _items_of_each_ref()
_SET_EXPIRY = update(items).where(InList(items.c.id)).values(expires_at=bindparam("b_exp"))
_TIME_OUT = (
    update(items).where(InList(items.c.id)).values(state=int(ItemState.TIMED_OUT), lease_until=None)
)
_MARK_RETRY = (
    update(items)
    .where(
        items.c.id == bindparam("b_id"),
        items.c.claim_owner == bindparam("b_owner"),
        movable_to(ItemState.WAITING),
    )
    .values(
        state=bindparam("b_state"),  # waiting; cancelled if its package was cancelled
        due_at=bindparam("b_due"),
        error=bindparam("b_err"),
        claim_owner=None,
        lease_until=None,
        processing_date=None,
        expires_at=None,
    )
)
# The rows a retry may move back to waiting, and whether their package was cancelled
# meanwhile (it has cancelled items: only a cancel makes them), locked.
_SIBLING = items.alias("sibling")
_RETRYABLE = _locking_read(
    exists()
    .where(_SIBLING.c.package_id == items.c.package_id, _SIBLING.c.state == _CANCELLED)
    .label("cancelled")
)
# Items in flight past their expiry: "sent" ones past sending + validity + grace, and
# "sending" ones past their lease (stamped at the claim; delivery.expire then gives each
# its own expiry, or times it out): a condition on expires_at, which ix_items_expiring
# holds for exactly these states (written as literals, as in the index's condition:
# SQLite uses a partial index only when it can see that the query implies the index's
# condition). One statement per source state, so that the counters know where every
# item returned came from.
_IN_FLIGHT: list[Any] = [literal_column(str(s)) for s in sorted(rules.IN_FLIGHT_ITEM_STATES)]


def _is_expired(t: Any, state: int | None = None) -> Any:
    cond = and_(t.c.state.in_(_IN_FLIGHT), t.c.expires_at <= bindparam("b_now"))
    return cond if state is None else and_(cond, t.c.state == state)


# Sent items past their expiry; items still "sending" are timed out by id, after
# delivery.expire has looked at each (time_out_stranded).
_EXPIRY: dict[int, Callable[[Any], Any]] = {_SENT: lambda t: _is_expired(t, _SENT)}
_ANY_EXPIRED = select(items.c.id).where(_is_expired(items)).limit(1)
_LEASES_OVER = (
    select(items.c.id, items.c.processing_date, packages.c.validity)
    .join(packages, packages.c.id == items.c.package_id)
    .where(_is_expired(items, _SENDING))
    .limit(bindparam("b_limit"))
)


def _expire(row_locator: str, state: int) -> Any:
    cond = _EXPIRY[state]
    return (
        update(items)
        .where(
            _picked(row_locator, lambda t: select(t.c.id).where(cond(t))),
            # Repeated on the row: a report committed while we waited for its lock has
            # made the item delivered, and PostgreSQL re-checks only the outer condition.
            cond(items),
        )
        .values(state=int(ItemState.TIMED_OUT), lease_until=None)
        .returning(items.c.package_id, items.c.parts)
    )


_EXPIRE = {
    (dialect, state): _expire(locator, state)
    for dialect, locator in (("postgresql", "ctid"), ("sqlite", "rowid"))
    for state in _EXPIRY
}
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
# From the packages of sources that hold refunds (their partial index's own condition,
# the same expression, so SQLite sees the index applies), sent within the sweep's window,
# to their failed, unrefunded items through ix_items_package_state.
_REFUNDS_PENDING = (
    select(packages.c.id)
    .where(
        HOLDS_REFUNDS,
        packages.c.sending_date >= bindparam("b_since"),
        packages.c.sending_date <= bindparam("b_before"),
        exists().where(
            items.c.package_id == packages.c.id,
            items.c.state.in_([int(s) for s in rules.REFUNDED_ITEM_STATES]),
            items.c.refunded.is_(False),
            items.c.sending_date <= bindparam("b_before"),
        ),
    )
    .limit(bindparam("b_limit"))
)


@cache
def _claim_refunds(held_sources: tuple[str, ...]) -> Any:
    """The refund claim, for packages whose sources hold refunds back for a while (the
    facade: 48 hours after sending): their items sent after `b_held_<n>` stay unclaimed
    until a later pass (the refund sweep) comes back for them. Built once per tuple."""
    statement = update(items).where(
        InList(items.c.package_id),
        items.c.refunded.is_(False),
        items.c.state.in_([int(s) for s in rules.REFUNDED_ITEM_STATES]),
    )
    for n, source in enumerate(held_sources):
        of_source = exists().where(packages.c.id == items.c.package_id, packages.c.source == source)
        statement = statement.where(
            or_(
                items.c.sending_date.is_(None),  # never handed over: nothing to wait for
                items.c.sending_date <= bindparam(f"b_held_{n}"),
                ~of_source,
            )
        )
    return statement.values(refunded=True).returning(items.c.package_id, items.c.credit)


_RESERVED = select(packages.c.id, packages.c.user_id, packages.c.credit).where(
    InList(packages.c.id)
)
# FOR NO KEY UPDATE: see refresh_packages.
_LOCK_PACKAGES = (
    select(packages.c.id, packages.c.state, packages.c.sending_date)
    .where(InList(packages.c.id))
    .order_by(packages.c.id)
    .with_for_update(key_share=True)
)
_SET_PACKAGE_STATE = (
    update(packages)
    .where(packages.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), updated_at=bindparam("b_now"))
)
# Both for this transaction only, in one round trip (see the module's docstring).
_CUSTOM_PLANS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('jit', 'off', true)"
)
# At most this many values in one IN (...): SQLite refuses more than 32766 parameters.
_IN_CHUNK = 1000


class SqlQueue:
    """The items table as the dispatcher's queue, inside one transaction's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"
        if self._postgres:
            # Custom plans for this transaction's statements (see the module's docstring):
            # a prepared statement keeps its text, not a plan made for a smaller table.
            conn.execute(_CUSTOM_PLANS)

    # --- claim ---------------------------------------------------------------------

    def any_due(self, lane: int, now: datetime) -> bool:
        """Whether any item of the lane is due (a read, for idle dispatchers)."""
        return self.conn.execute(_ANY_DUE, {"b_lane": lane, "b_now": now}).first() is not None

    def claim(
        self, owner: str, lane: int, now: datetime, lease_until: datetime, limit: int
    ) -> list[Submission]:
        """Mark up to `limit` due items of the lane "sending" for `owner`, oldest due first,
        skipping rows another transaction holds; what each needs to be sent."""
        rows = self.conn.execute(
            _CLAIM[self.conn.dialect.name],
            {
                "b_lane": lane,
                "b_now": now,
                "b_limit": limit,
                "b_owner": owner,
                "b_lease": lease_until,
            },
        ).all()
        if not rows:
            return []
        moves = counts.deltas()
        for r in rows:
            counts.move(moves, r.package_id, r.parts, _WAITING, _SENDING)
        counts.apply(self.conn, moves)
        pkgs = {
            r.id: r._mapping
            for r in self._each(_PACKAGE_FACTS, sorted({r.package_id for r in rows}))
        }
        return [
            Submission(
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
                pkgs[r.package_id]["trust_date"],
            )
            for r in rows
        ]

    # --- the carrier's answers and receipts ------------------------------------------

    def validities(self, item_ids: Sequence[int]) -> dict[int, int]:
        """The validity (minutes) of each item's package."""
        return {r.id: r.validity for r in self._each(_VALIDITY, item_ids)}

    def mark_sent(
        self, owner: str, sent: Sequence[tuple[int, str | None, str, datetime]], now: datetime
    ) -> set[int]:
        """(item id, carrier reference, link, expiry): accepted by the carrier; only items
        still claimed by `owner` and "sending" move (the fence of a late worker)."""
        if not sent:
            return set()
        held = self._fenced_moves(owner, [i for i, _ref, _link, _exp in sent], ItemState.SENT)
        rows = [(i, ref, link, exp) for i, ref, link, exp in sent if i in held]
        if rows and self._postgres:
            ids, refs, links, exps = zip(*rows, strict=True)
            tids = [held[i][1] for i in ids]
            params = {"b_tids": tids, "b_ids": ids, "b_refs": refs, "b_links": links}
            self.conn.execute(_PG_MARK_SENT, {**params, "b_exps": exps, "b_now": now})
        elif rows:
            self.conn.execute(
                _MARK_SENT,
                [
                    {
                        "b_id": i,
                        "b_ref": ref,
                        "b_link": link,
                        "b_owner": owner,
                        "b_now": now,
                        "b_exp": exp,
                    }
                    for i, ref, link, exp in rows
                ],
            )
        return {package_id for package_id, _tid in held.values()}

    def mark_rejected(
        self, owner: str, rejected: Sequence[tuple[int, str | None]], now: datetime
    ) -> set[int]:
        """(item id, error): refused by the carrier; fenced like mark_sent."""
        if not rejected:
            return set()
        held = self._fenced_moves(owner, [i for i, _err in rejected], ItemState.REJECTED)
        rows = [(i, err) for i, err in rejected if i in held]
        if rows and self._postgres:
            ids, errs = zip(*rows, strict=True)
            params = {"b_tids": [held[i][1] for i in ids], "b_ids": ids, "b_errs": errs}
            self.conn.execute(_PG_MARK_REJECTED, {**params, "b_now": now})
        elif rows:
            self.conn.execute(
                _MARK_REJECTED,
                [{"b_id": i, "b_err": err, "b_owner": owner, "b_now": now} for i, err in rows],
            )
        return {package_id for package_id, _tid in held.values()}

    def any_expired(self, now: datetime) -> bool:
        """Whether any item is to be timed out (a read, for idle dispatchers)."""
        return self.conn.execute(_ANY_EXPIRED, {"b_now": now}).first() is not None

    def expire(self, now: datetime, limit: int) -> list[int]:
        """Time out up to `limit` items "sent" whose expiry has passed (those "sending":
        time_out_stranded); the package id of each one timed out."""
        params = {"b_now": now, "b_limit": limit}
        timed_out: list[int] = []
        moves = counts.deltas()
        for state in _EXPIRY:
            left = limit - len(timed_out)
            if left <= 0:
                break
            statement = _EXPIRE[(self.conn.dialect.name, state)]
            for package_id, parts in self.conn.execute(statement, {**params, "b_limit": left}):
                counts.move(moves, package_id, parts, state, int(ItemState.TIMED_OUT))
                timed_out.append(package_id)
        counts.apply(self.conn, moves)
        return timed_out

    # --- refunds and package states ----------------------------------------------------

    def claim_refunds(
        self, package_ids: Sequence[int], held: Mapping[str, datetime]
    ) -> dict[int, int]:
        """Mark the failed, unrefunded items of these packages refunded and return the
        credit owed per package. `held`: per package source, items sent after this time
        are not refunded yet (left unmarked)."""
        sources = tuple(sorted(held))
        statement = _claim_refunds(sources)
        params = {f"b_held_{n}": held[s] for n, s in enumerate(sources)}
        owed: dict[int, int] = defaultdict(int)
        for package_id, credit in self._each(statement, package_ids, params):
            # Claim the refund and learn its size in one statement: a concurrent settler of
            # the same items re-checks `refunded` under the row lock and gets nothing back,
            # so every item is refunded exactly once.
            owed[package_id] += credit
        return dict(owed)

    def reservations(self, package_ids: Sequence[int]) -> list[Reservation]:
        """What each package reserved, and of whose balance."""
        return [Reservation(*row) for row in self._each(_RESERVED, package_ids)]

    def refunds_pending(self, sent_before: datetime, limit: int) -> list[int]:
        """Up to `limit` packages with failed items sent before this whose refund is not
        given yet (refunds a source holds back, now perhaps due)."""
        since = sent_before - REFUND_SWEEP_WINDOW
        params = {"b_since": since, "b_before": sent_before, "b_limit": limit}
        return [r.id for r in self.conn.execute(_REFUNDS_PENDING, params)]

    def refresh_packages(self, package_ids: Iterable[int], now: datetime) -> None:
        """Derive each package's state from its counters (items per state)."""
        ids = sorted(set(package_ids))
        # Lock the packages (in id order) before counting, so that a concurrent settler
        # counts after our commit and sees our items; counting first could leave two
        # dispatchers each writing a state that misses the other's last report. FOR NO KEY
        # UPDATE: it does not conflict with the key-share locks item writes take on their
        # package (foreign key), which a plain FOR UPDATE does, deadlocking dispatchers and
        # cancels.
        facts = list(self._each(_LOCK_PACKAGES, ids))
        by_state = counts.items_by_state(self.conn, ids)
        changes = []
        for package_id, current, sending_date in facts:
            if current == PackageState.CANCELLED:
                continue
            state = rules.package_state(
                by_state.get(package_id, {}), scheduled_future=sending_date > now
            )
            if state != current:
                changes.append({"b_id": package_id, "b_state": int(state), "b_now": now})
        if changes:  # one statement for the batch: a pass of OTPs touches a package per item
            self.conn.execute(_SET_PACKAGE_STATE, changes)

    # --- durable receipts, retries, stranded items (issue #10) ----------------------------

    def restamp(self, expiries: Mapping[int, datetime], now: datetime) -> None:
        """{item id: its own expiry}: items still "sending" whose expiry (their lease) has
        passed by `now` take these. Locked in id order first, as a submission record
        locks them, and fenced: an item sent or settled meanwhile keeps its own."""
        held = [r.id for r in self._held_stranded(list(expiries), now)]
        by_time: dict[datetime, list[int]] = defaultdict(list)
        for item_id in held:
            by_time[expiries[item_id]].append(item_id)
        for at, ids in sorted(by_time.items()):
            for offset in range(0, len(ids), _IN_CHUNK):
                chunk = ids[offset : offset + _IN_CHUNK]
                self.conn.execute(_SET_EXPIRY, {"b_exp": at, "b_ids": chunk})

    def time_out_stranded(self, item_ids: Sequence[int], now: datetime) -> list[int]:
        """Time out these items if still "sending" with their expiry passed by `now`
        (fenced as restamp); the package id of each one timed out."""
        rows = list(self._held_stranded(item_ids, now))
        moves = counts.deltas()
        for row in rows:
            counts.move(moves, row.package_id, row.parts, _SENDING, int(ItemState.TIMED_OUT))
        counts.apply(self.conn, moves)
        ids = [r.id for r in rows]
        for offset in range(0, len(ids), _IN_CHUNK):
            self.conn.execute(_TIME_OUT, {"b_ids": ids[offset : offset + _IN_CHUNK]})
        return [r.package_id for r in rows]

    def _held_stranded(self, item_ids: Sequence[int], now: datetime) -> Iterator[Any]:
        """The items among these still "sending" with their expiry passed, locked."""
        rows = self._each(_LOCKED, sorted(item_ids))
        # "Sending" is the state from which an item may be sent (or rejected).
        return _fenced(rows, None, ItemState.SENT, ItemState.REJECTED, expired_by=now)

    def leases_over(self, now: datetime, limit: int) -> list[tuple[int, datetime, int]]:
        """(item id, claimed at, validity minutes) of up to `limit` items still "sending"
        past their expiry (through ix_items_expiring)."""
        rows = self.conn.execute(_LEASES_OVER, {"b_now": now, "b_limit": limit})
        return [(r.id, r.processing_date, r.validity) for r in rows if r.processing_date]

    def mark_retry(
        self, owner: str, retries: Sequence[tuple[int, str | None]], due_at: datetime
    ) -> set[int]:
        """(item id, error): the carrier asked to retry (nothing sent); "sending" items
        `owner` holds go back to waiting, due at `due_at`, and are neither charged again nor
        refunded. An item whose package was cancelled while it was being handed over is
        cancelled instead (its refund follows at settlement): the customer cancelled it."""
        moves = counts.deltas()
        ids = sorted(i for i, _err in retries)
        target: dict[int, int] = {}
        packages: set[int] = set()
        for row in _fenced(self._each(_RETRYABLE, ids), owner, ItemState.WAITING):
            target[row.id] = _CANCELLED if row.cancelled else _WAITING
            counts.move(moves, row.package_id, row.parts, _SENDING, target[row.id])
            packages.add(row.package_id)
        counts.apply(self.conn, moves)
        params = [
            {"b_id": i, "b_owner": owner, "b_due": due_at, "b_err": e, "b_state": target[i]}
            for i, e in retries
            if i in target
        ]
        if params:
            self.conn.execute(_MARK_RETRY, params)
        return packages

    def items_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, carrier reference): item id} of the items recorded with these references
        on these links (an item recorded before links were, with no link, matches any)."""
        wanted = set(keys)
        found: dict[tuple[str, str], int] = {}
        refs = sorted({ref for _link, ref in wanted})
        statement = _PG_ITEMS_OF_REFS if self._postgres else _ITEMS_OF_REFS
        for link, ref, item_id in self._each(statement, refs):
            for key in ((link, ref),) if link is not None else _any_link(wanted, ref):
                if key in wanted:
                    found[key] = item_id
        return found

    def apply_outcomes(self, outcomes: Sequence[tuple[int, Outcome]]) -> set[int]:
        """(item id, outcome): "sent" items take the final state their receipts report;
        items already final (a duplicate or late receipt) stay as they are."""
        first: dict[int, Outcome] = {}  # an item twice: the first outcome moves it
        for item_id, outcome in outcomes:
            first.setdefault(item_id, outcome)
        moves = counts.deltas()
        held: dict[int, object] = {}
        packages: set[int] = set()
        receivable = (ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED)
        for row in _fenced(self._each(_LOCKED, sorted(first)), None, *receivable):
            counts.move(moves, row.package_id, row.parts, _SENT, int(first[row.id].state))
            held[row.id] = row.tid
            packages.add(row.package_id)
        counts.apply(self.conn, moves)
        if not held:
            return packages
        if self._postgres:
            ids = list(held)
            params = {
                "b_tids": [held[i] for i in ids],
                "b_ids": ids,
                "b_states": [int(first[i].state) for i in ids],
                "b_ats": [first[i].at for i in ids],
                "b_errs": [first[i].error for i in ids],
            }
            self.conn.execute(_PG_APPLY_OUTCOMES, params)
            return packages
        self.conn.execute(
            _APPLY_OUTCOME,
            [
                {"b_id": i, "b_state": int(o.state), "b_at": o.at, "b_err": o.error}
                for i, o in sorted(first.items())
                if i in held  # one lock order
            ],
        )
        return packages

    def _fenced_moves(
        self, owner: str, item_ids: Sequence[int], target: ItemState
    ) -> dict[int, tuple[int, object]]:
        """Lock the items a submission record may move ("sending", held by `owner`), count
        their move to `target`; {item id: (package id, row locator)} of those that will."""
        moves = counts.deltas()
        held: dict[int, tuple[int, object]] = {}
        rows = self._each(_LOCKED, sorted(item_ids))
        for row in _fenced(rows, owner, ItemState.SENT, ItemState.REJECTED):
            counts.move(moves, row.package_id, row.parts, _SENDING, int(target))
            held[row.id] = (row.package_id, row.tid)
        counts.apply(self.conn, moves)
        return held

    # --- duplicate fingerprints ----------------------------------------------------------

    def any_old_fingerprint(self, now: datetime) -> bool:
        """Whether any duplicate-check entry's window has passed (a read)."""
        return self.conn.execute(_ANY_OLD_FINGERPRINT, {"b_now": now}).first() is not None

    def forget_fingerprints(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` duplicate-check entries whose window has passed; how many."""
        statement = _FORGET_FINGERPRINTS[self.conn.dialect.name]
        return int(self.conn.execute(statement, {"b_now": now, "b_limit": limit}).rowcount)

    def _each(
        self, statement: Any, values: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """The rows of a statement over a list (`b_ids`) of any length, a chunk at a time,
        in the list's order."""
        for offset in range(0, len(values), _IN_CHUNK):
            chunk = list(values[offset : offset + _IN_CHUNK])
            yield from self.conn.execute(statement, {**(params or {}), "b_ids": chunk})


def _any_link(wanted: Iterable[tuple[str, str]], ref: str) -> list[tuple[str, str]]:
    """The wanted keys with this reference on any link (an item with no link recorded)."""
    return [key for key in wanted if key[1] == ref]
