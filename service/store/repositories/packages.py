"""SMS packages and their items, in SQL: the write path of package creation and the reads
of reports. The statements of creation are prepared once (it is the API's hot path); the
items of a large package go in through the bulk path (COPY or executemany)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from service.domain import packages as rules
from service.domain.constants import ItemState, PackageState, PeriodType, ReportFilter
from service.domain.packages import Periodic
from service.domain.principal import Scope
from service.domain.queries import DateRange, ItemFilter, PackageFilter, PackageRef, PageRequest
from service.domain.records import (
    Cancelled,
    Delivery,
    Item,
    NewItem,
    NewPackage,
    Package,
    PackageStats,
    Page,
    Summary,
)
from service.domain.sending import Recipient
from service.store.bulk import insert_rows
from service.store.errors import is_unique_violation
from service.store.prepared import Prepared
from service.store.repositories import counts
from service.store.repositories.scope import visible
from service.store.schema import in_states, items, package_groups, packages, recent_sends, users

ITEM_COLUMNS = ("package_id", *NewItem._fields, "refunded")
UNDELIVERED_STATES = rules.UNDELIVERED_ITEM_STATES
# The one state a cancel moves items from (waiting): the counters move them from it.
(_CANCELLABLE,) = rules.sources(ItemState.CANCELLED)

# Prepared once: creating a package is the hot path of the API.
_INSERT_PACKAGE = Prepared(insert(packages).returning(packages.c.id))
_CUSTOM_ID_TAKEN = Prepared(
    select(packages.c.id).where(
        packages.c.user_id == bindparam("uid"), packages.c.custom_id == bindparam("cid")
    )
)


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


class SqlPackages:
    """The packages and items tables, and the duplicate check's fingerprints."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- writing -------------------------------------------------------------------------

    def custom_id_taken(self, user_id: int, custom_id: str) -> bool:
        """Whether one of the user's packages carries this customID."""
        return _CUSTOM_ID_TAKEN.first(self.conn, {"uid": user_id, "cid": custom_id}) is not None

    def add(self, package: NewPackage) -> int | None:
        """Insert a package; its id, or None when its customID was taken meanwhile."""
        values = dict(package.__dict__)
        values["periodic"] = _periodic_json(package.periodic)
        try:
            return int(_INSERT_PACKAGE.scalar(self.conn, values))
        except IntegrityError as exc:
            # A concurrent create won the customID between the check and the insert. Any
            # other refusal (a NOT NULL, a foreign key) is a fault of ours, not the client's.
            if package.custom_id and is_unique_violation(exc):
                return None
            raise

    def claim_fingerprint(
        self, user_id: int, digest: str, package_id: int, now: datetime, until: datetime
    ) -> bool:
        """Take the duplicate check's slot for this digest until `until`; False when an
        earlier package holds it still."""
        claim = _CLAIM_FINGERPRINT[self.conn.dialect.name]
        params = {
            "user_id": user_id,
            "fingerprint": digest,
            "package_id": package_id,
            "expires_at": until,
            "now": now,
        }
        return claim.first(self.conn, params) is not None

    def add_items(self, package_id: int, new_items: list[NewItem]) -> None:
        """Insert a package's items (bulk: COPY or executemany)."""
        insert_rows(self.conn, items, ITEM_COLUMNS, [(package_id, *i, False) for i in new_items])
        moves = counts.deltas()  # the package counters (see the queue repository's rule)
        for item in new_items:
            counts.added(moves, package_id, item.state, item.parts)
        counts.apply(self.conn, moves)

    def cancel_waiting(self, package_id: int, now: datetime) -> Cancelled:
        """Cancel the package's items nothing has been done with (marked refunded: the
        caller gives their price back); how many moved and what they cost. One statement:
        an item a dispatcher claims meanwhile is either cancelled here or sent, never both."""
        moved = self.conn.execute(
            update(items)
            .where(items.c.package_id == package_id, items.c.state == _CANCELLABLE)
            .values(state=int(ItemState.CANCELLED), refunded=True)
            .returning(items.c.credit, items.c.parts)
        ).all()
        moves = counts.deltas()  # the package counters (see the queue repository's rule)
        for _credit, parts in moved:
            counts.move(moves, package_id, parts, _CANCELLABLE, int(ItemState.CANCELLED))
        counts.apply(self.conn, moves)
        return Cancelled(len(moved), sum(int(c) for c, _parts in moved))

    def set_state(
        self, package_id: int, state: PackageState, now: datetime, error: str | None = None
    ) -> None:
        """Set a package's state (and the error that failed it)."""
        values: dict[str, Any] = {"state": int(state), "updated_at": now}
        if error is not None:
            values["error"] = error
        self.conn.execute(update(packages).where(packages.c.id == package_id).values(**values))

    def series_due(self, until: datetime, limit: int) -> list[Package]:
        """Up to `limit` series whose next run is due by `until`, the most overdue first
        (through the partial index on next_run_at)."""
        rows = self.conn.execute(
            select(packages)
            .where(packages.c.next_run_at.is_not(None), packages.c.next_run_at <= until)
            .order_by(packages.c.next_run_at, packages.c.id)
            .limit(limit)
        ).mappings()
        return [_package(r) for r in rows]

    def advance_series(
        self, package_id: int, expected: datetime, next_at: datetime, next_no: int
    ) -> bool:
        """Move a series to its next run if it is still at `expected`: of several workers
        only one sees its update change the row (PostgreSQL re-checks the condition after
        waiting for the row's lock)."""
        moved = self.conn.execute(
            update(packages)
            .where(packages.c.id == package_id, packages.c.next_run_at == expected)
            .values(next_run_at=next_at, next_run_no=next_no)
        ).rowcount
        return bool(moved)

    def stop_series(self, package_id: int, now: datetime) -> bool:
        """Create no further runs of this series; False when it was not running."""
        moved = self.conn.execute(
            update(packages)
            .where(packages.c.id == package_id, packages.c.next_run_at.is_not(None))
            .values(next_run_at=None, updated_at=now)
        ).rowcount
        return bool(moved)

    def runs_of(self, package_id: int) -> list[int]:
        """The ids of a series' runs, in order."""
        rows = self.conn.execute(
            select(packages.c.id).where(packages.c.run_of == package_id).order_by(packages.c.id)
        )
        return [int(r.id) for r in rows]

    def forget_fingerprints(self, package_id: int) -> None:
        """Release the duplicate check's slots a package holds."""
        self.conn.execute(delete(recent_sends).where(recent_sends.c.package_id == package_id))

    # --- reading -------------------------------------------------------------------------

    def find(self, scope: Scope, ref: PackageRef) -> Package | None:
        """A package in scope by id, uuid or customID."""
        row = (
            self.conn.execute(
                select(packages).where(
                    visible(packages.c.user_id, scope), packages.c[ref.kind] == ref.value
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _package(row)

    def listing(self, scope: Scope, filters: PackageFilter, page: PageRequest) -> Page[Package]:
        """One page of the packages in scope, newest first."""
        query = _filtered(select(packages).where(visible(packages.c.user_id, scope)), filters)
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(
            query.order_by(packages.c.id.desc()).limit(page.size).offset(page.offset)
        ).mappings()
        return Page(int(total), [_package(r) for r in rows])

    def stats(self, package_ids: list[int]) -> dict[int, PackageStats]:
        """Delivered and undelivered parts of each package."""
        parts = counts.parts_by_state(self.conn, package_ids)  # the counters, not the items
        return {
            pid: PackageStats(
                by_state.get(int(ItemState.DELIVERED), 0),
                sum(by_state.get(int(s), 0) for s in UNDELIVERED_STATES),
            )
            for pid, by_state in parts.items()
        }

    def items(self, package_id: int, filters: ItemFilter, page: PageRequest) -> Page[Item]:
        """One page of a package's items, in order."""
        query = _item_filter(select(items).where(items.c.package_id == package_id), filters)
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(
            query.order_by(items.c.id).limit(page.size).offset(page.offset)
        ).mappings()
        return Page(int(total), [_item(r) for r in rows])

    def all_items(self, package_id: int) -> list[Item]:
        """Every item of a package, in order: one query (a page at a time, each page
        counted and OFFSET past the ones before, grew with the square of its size)."""
        query = select(items).where(items.c.package_id == package_id).order_by(items.c.id)
        return [_item(r) for r in self.conn.execute(query).mappings()]

    def recipients(self, package_id: int) -> list[Recipient]:
        """The recipients of a package, in order (to send it again)."""
        rows = self.conn.execute(
            select(items.c.target, items.c.msg, items.c.xid)
            .where(items.c.package_id == package_id)
            .order_by(items.c.id)
        )
        return [Recipient(r.target, r.msg, r.xid) for r in rows]

    def add_groups(self, package_id: int, group_uuids: Sequence[str]) -> None:
        """Remember the contact groups a package was sent to."""
        rows = [{"package_id": package_id, "group_uuid": u} for u in dict.fromkeys(group_uuids)]
        if rows:
            self.conn.execute(insert(package_groups), rows)

    def groups_of(self, package_id: int) -> list[str]:
        """The uuids of the contact groups a package was sent to."""
        query = select(package_groups.c.group_uuid).where(package_groups.c.package_id == package_id)
        return sorted(self.conn.execute(query).scalars())

    def summary(self, scope: Scope, dates: DateRange) -> Summary:
        """Totals over the packages in scope sent within the dates (cancelled ones never
        were)."""
        window = [
            visible(packages.c.user_id, scope),
            packages.c.state != int(PackageState.CANCELLED),
            *_date_window(dates),
        ]
        row = self.conn.execute(
            select(
                func.coalesce(func.sum(items.c.parts), 0),
                _parts_in(frozenset({ItemState.DELIVERED})),
                _parts_in(UNDELIVERED_STATES),
                _parts_in(frozenset({ItemState.SENT})),
                func.count(items.c.id),
            )
            .select_from(packages.join(items, items.c.package_id == packages.c.id))
            .where(*window)
        ).one()
        reserved = self.conn.execute(
            select(func.coalesce(func.sum(packages.c.credit), 0)).where(*window)
        ).scalar_one()
        total, delivered, undelivered, pending, recipients = (int(v) for v in row)
        return Summary(total, delivered, undelivered, pending, recipients, int(reserved))

    def deliveries(
        self, scope: Scope, target: str, sender: str | None, dates: DateRange, page: PageRequest
    ) -> Page[Delivery]:
        """One page of what was sent to a number within the dates, newest first."""
        query = (
            select(
                items,
                packages.c.sms_type,
                packages.c.sender,
                packages.c.encoding,
                packages.c.validity,
                packages.c.content,
                packages.c.sending_date.label("pkg_date"),
                users.c.uuid.label("user_uuid"),
                users.c.username,
            )
            .select_from(
                items.join(packages, packages.c.id == items.c.package_id).join(
                    users, users.c.id == packages.c.user_id
                )
            )
            .where(items.c.target == target, visible(packages.c.user_id, scope))
            .where(*_date_window(dates))
        )
        if sender:
            query = query.where(packages.c.sender == sender)
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(
            query.order_by(items.c.id.desc()).limit(page.size).offset(page.offset)
        ).mappings()
        return Page(int(total), [_delivery(r) for r in rows])


def _filtered(query: Any, filters: PackageFilter) -> Any:
    if filters.ids:
        query = query.where(packages.c.id.in_(filters.ids))
    if filters.custom_ids:
        query = query.where(packages.c.custom_id.in_(filters.custom_ids))
    if filters.keyword:
        # Case-insensitive on both databases (SQLite's LIKE is, PostgreSQL's is not).
        query = query.where(packages.c.content.icontains(filters.keyword, autoescape=True))
    if filters.sender:
        query = query.where(packages.c.sender == filters.sender)
    if filters.status == ReportFilter.PERIODIC:
        query = query.where(packages.c.periodic.is_not(None))
    elif filters.status != ReportFilter.ALL:
        query = query.where(in_states(packages.c.state, rules.REPORT_FILTER_STATES[filters.status]))
    return query.where(*_date_window(filters.dates))


def _date_window(dates: DateRange) -> list[Any]:
    window = []
    if dates.start:
        window.append(packages.c.sending_date >= dates.start)
    if dates.finish:
        window.append(packages.c.sending_date <= dates.finish)
    return window


def _item_filter(query: Any, filters: ItemFilter) -> Any:
    if filters.target:
        query = query.where(items.c.target.contains(filters.target, autoescape=True))
    if filters.operator is not None:
        query = query.where(items.c.operator == filters.operator)
    if filters.state is not None:
        query = query.where(items.c.state == filters.state)
    return query


def _parts_in(states: frozenset[ItemState]) -> Any:
    return func.coalesce(
        func.sum(case((in_states(items.c.state, states), items.c.parts), else_=0)), 0
    )


def _periodic_json(periodic: Periodic | None) -> str | None:
    return json.dumps(periodic.as_dict()) if periodic else None


def _periodic(raw: str | None) -> Periodic | None:
    if not raw:
        return None
    data = json.loads(raw)
    return Periodic(PeriodType(data["periodType"]), data.get("interval"), data.get("amount"))


_PACKAGE_FIELDS = tuple(Package.__dataclass_fields__)
_ITEM_FIELDS = tuple(Item.__dataclass_fields__)


def _package(row: Any) -> Package:
    values = {name: row[name] for name in _PACKAGE_FIELDS}
    values["periodic"] = _periodic(row["periodic"])
    return Package(**values)


def _item(row: Any) -> Item:
    return Item(**{name: row[name] for name in _ITEM_FIELDS})


def _delivery(row: Any) -> Delivery:
    return Delivery(
        item=_item(row),
        package_id=row["package_id"],
        sms_type=row["sms_type"],
        sender=row["sender"],
        encoding=row["encoding"],
        validity=row["validity"],
        content=row["content"],
        package_sending_date=row["pkg_date"],
        user_uuid=row["user_uuid"],
        username=row["username"],
    )
