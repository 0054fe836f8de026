"""Packages, items and the duplicate check's fingerprints, in memory."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from service.domain import packages as rules
from service.domain.constants import ItemState, PackageState, ReportFilter
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
from service.store.memory.accounts import in_scope
from service.store.memory.queue import count

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase

_UNDELIVERED = rules.UNDELIVERED_ITEM_STATES


class MemoryPackages:
    """The in-memory twin of SqlPackages."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def custom_id_taken(self, user_id: int, custom_id: str) -> bool:
        """Whether one of the user's packages carries this customID."""
        return any(
            p.user_id == user_id and p.custom_id == custom_id for p in self.db.packages.values()
        )

    def add(self, package: NewPackage) -> int | None:
        """Insert a package; None when its customID is taken (the unique index)."""
        if package.custom_id and self.custom_id_taken(package.user_id, package.custom_id):
            return None
        if package.run_of is not None and any(
            p.run_of == package.run_of and p.run_no == package.run_no
            for p in self.db.packages.values()
        ):
            raise ValueError("run written twice")  # the SQL unique index's refusal
        package_id = self.db.next_id("packages")
        # One level deep: asdict would turn a Periodic into a dict as well.
        fields = {f.name: getattr(package, f.name) for f in dataclasses.fields(package)}
        self.db.packages[package_id] = Package(id=package_id, error=None, **fields)
        return package_id

    def claim_fingerprint(
        self, user_id: int, digest: str, package_id: int, now: datetime, until: datetime
    ) -> bool:
        """Take the duplicate check's slot unless an unexpired one holds it."""
        held = self.db.fingerprints.get((user_id, digest))
        if held is not None and held[1] > now:
            return False
        self.db.fingerprints[(user_id, digest)] = (package_id, until)
        return True

    def add_items(self, package_id: int, new_items: list[NewItem]) -> None:
        """Insert a package's items."""
        for new in new_items:
            item_id = self.db.next_id("items")
            self.db.items[item_id] = Item(
                id=item_id, package_id=package_id, error=None, sending_date=None,
                processing_date=None, delivery_date=None, **new._asdict(),
            )  # fmt: skip
            count(self.db, package_id, new.state, 1, new.parts)

    def cancel_waiting(self, package_id: int, now: datetime) -> Cancelled:
        """Cancel the package's waiting items; how many moved and what they cost."""
        movable = set(rules.sources(ItemState.CANCELLED))
        moved = credit = 0
        for item in self._items_of(package_id):
            if item.state in movable:
                self.db.items[item.id] = dataclasses.replace(
                    item, state=int(ItemState.CANCELLED), refunded=True
                )
                count(self.db, package_id, item.state, -1, -item.parts)
                count(self.db, package_id, int(ItemState.CANCELLED), 1, item.parts)
                moved += 1
                credit += item.credit
        return Cancelled(moved, credit)

    def set_state(
        self, package_id: int, state: PackageState, now: datetime, error: str | None = None
    ) -> None:
        """Set a package's state (and the error that failed it)."""
        package = self.db.packages[package_id]
        self._put(package, state=int(state), updated_at=now, error=error or package.error)

    def series_due(self, until: datetime, limit: int) -> list[Package]:
        """Up to `limit` series whose next run is due by `until`, the most overdue first."""
        due = [
            p
            for p in self.db.packages.values()
            if p.next_run_at is not None and p.next_run_at <= until
        ]
        return sorted(due, key=lambda p: (p.next_run_at or until, p.id))[:limit]

    def advance_series(
        self, package_id: int, expected: datetime, next_at: datetime, next_no: int
    ) -> bool:
        """Move a series to its next run if it is still at `expected`."""
        package = self.db.packages[package_id]
        if package.next_run_at != expected:
            return False
        self._put(package, next_run_at=next_at, next_run_no=next_no)
        return True

    def stop_series(self, package_id: int, now: datetime) -> bool:
        """Create no further runs of this series; False when it was not running."""
        package = self.db.packages[package_id]
        if package.next_run_at is None:
            return False
        self._put(package, next_run_at=None, updated_at=now)
        return True

    def runs_of(self, package_id: int) -> list[int]:
        """The ids of a series' runs, in order."""
        return sorted(p.id for p in self.db.packages.values() if p.run_of == package_id)

    def _put(self, package: Package, **changes: object) -> None:
        self.db.packages[package.id] = dataclasses.replace(package, **changes)  # type: ignore[arg-type]

    def forget_fingerprints(self, package_id: int) -> None:
        """Release the duplicate check's slots a package holds."""
        for key in [k for k, v in self.db.fingerprints.items() if v[0] == package_id]:
            del self.db.fingerprints[key]

    def find(self, scope: Scope, ref: PackageRef) -> Package | None:
        """A package in scope by id, uuid or customID."""
        for package in self.db.packages.values():
            if getattr(package, ref.kind) == ref.value and in_scope(
                self.db, package.user_id, scope
            ):
                return package
        return None

    def listing(self, scope: Scope, filters: PackageFilter, page: PageRequest) -> Page[Package]:
        """One page of the packages in scope, newest first."""
        rows = [
            p
            for p in sorted(self.db.packages.values(), key=lambda p: -p.id)
            if in_scope(self.db, p.user_id, scope) and _matches(p, filters)
        ]
        return Page(len(rows), rows[page.offset : page.offset + page.size])

    def stats(self, package_ids: list[int]) -> dict[int, PackageStats]:
        """Delivered and undelivered parts of each package."""
        found: dict[int, PackageStats] = {}
        for package_id in package_ids:
            rows = self._items_of(package_id)
            delivered = sum(i.parts for i in rows if i.state == ItemState.DELIVERED)
            undelivered = sum(i.parts for i in rows if i.state in _UNDELIVERED)
            found[package_id] = PackageStats(delivered, undelivered)
        return found

    def items(self, package_id: int, filters: ItemFilter, page: PageRequest) -> Page[Item]:
        """One page of a package's items, in order."""
        rows = [
            i
            for i in self._items_of(package_id)
            if (filters.target is None or filters.target in i.target)
            and filters.operator in (None, i.operator)
            and filters.state in (None, i.state)
        ]
        return Page(len(rows), rows[page.offset : page.offset + page.size])

    def add_groups(self, package_id: int, group_uuids: Sequence[str]) -> None:
        """Remember the contact groups a package was sent to."""
        table: dict[int, list[str]] = self.db.extra.setdefault("package_groups", {})
        table[package_id] = list(dict.fromkeys([*table.get(package_id, []), *group_uuids]))

    def groups_of(self, package_id: int) -> list[str]:
        """The uuids of the contact groups a package was sent to."""
        table: dict[int, list[str]] = self.db.extra.get("package_groups", {})
        return sorted(table.get(package_id, []))

    def all_items(self, package_id: int) -> list[Item]:
        """Every item of a package, in order."""
        return list(self._items_of(package_id))

    def recipients(self, package_id: int) -> list[Recipient]:
        """The recipients of a package, in order."""
        return [Recipient(i.target, i.msg, i.xid) for i in self._items_of(package_id)]

    def summary(self, scope: Scope, dates: DateRange) -> Summary:
        """Totals over the packages in scope sent within the dates (not cancelled)."""
        chosen = [
            p
            for p in self.db.packages.values()
            if in_scope(self.db, p.user_id, scope)
            and p.state != PackageState.CANCELLED
            and _within(p.sending_date, dates)
        ]
        rows = [i for p in chosen for i in self._items_of(p.id)]
        return Summary(
            total=sum(i.parts for i in rows),
            delivered=sum(i.parts for i in rows if i.state == ItemState.DELIVERED),
            undelivered=sum(i.parts for i in rows if i.state in _UNDELIVERED),
            pending=sum(i.parts for i in rows if i.state == ItemState.SENT),
            recipients=len(rows),
            credit=sum(p.credit for p in chosen),
        )

    def deliveries(
        self, scope: Scope, target: str, sender: str | None, dates: DateRange, page: PageRequest
    ) -> Page[Delivery]:
        """One page of what was sent to a number within the dates, newest first."""
        rows = []
        for item in sorted(self.db.items.values(), key=lambda i: -i.id):
            package = self.db.packages[item.package_id]
            if (
                item.target == target
                and in_scope(self.db, package.user_id, scope)
                and sender in (None, package.sender)
                and _within(package.sending_date, dates)
            ):
                user = self.db.users[package.user_id]
                rows.append(
                    Delivery(
                        item,
                        package.id,
                        package.sms_type,
                        package.sender,
                        package.encoding,
                        package.validity,
                        package.content,
                        package.sending_date,
                        user.uuid,
                        user.username,
                    )
                )
        return Page(len(rows), rows[page.offset : page.offset + page.size])

    def _items_of(self, package_id: int) -> list[Item]:
        return sorted(
            (i for i in self.db.items.values() if i.package_id == package_id), key=lambda i: i.id
        )


def _matches(package: Package, filters: PackageFilter) -> bool:
    status_states = rules.REPORT_FILTER_STATES.get(filters.status)
    return (
        (not filters.ids or package.id in filters.ids)
        and (not filters.custom_ids or package.custom_id in filters.custom_ids)
        and (not filters.keyword or filters.keyword.lower() in (package.content or "").lower())
        and filters.sender in (None, package.sender)
        and (filters.status != ReportFilter.PERIODIC or package.periodic is not None)
        and (status_states is None or package.state in status_states)
        and _within(package.sending_date, filters.dates)
    )


def _within(when: datetime, dates: DateRange) -> bool:
    return (dates.start is None or when >= dates.start) and (
        dates.finish is None or when <= dates.finish
    )
