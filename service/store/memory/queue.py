"""The dispatcher's queue, in memory: the twin of SqlQueue over MemoryDatabase's records."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain import packages as rules
from service.domain.carrier import Outcome, Submission
from service.domain.constants import ItemState, PackageState
from service.domain.pricing import HELD_REFUND_SOURCES, REFUND_SWEEP_WINDOW
from service.domain.records import Item, Reservation

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


def count(db: MemoryDatabase, package_id: int, state: int, items: int, parts: int) -> None:
    """Add to the package counters of (package, state), as counts.apply does in SQL."""
    row = db.counts.setdefault((package_id, state), [0, 0])
    row[0] += items
    row[1] += parts


def _movable_to(item: Item, *targets: ItemState) -> bool:
    """The fence of a write, as SqlQueue's movable_to: the item may move to `targets`."""
    return item.state in rules.sources(*targets)


class MemoryQueue:
    """The items of a MemoryDatabase as the dispatcher's queue."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def any_due(self, lane: int, now: datetime) -> bool:
        """Whether any item of the lane is due."""
        return any(True for _ in self._due(lane, now))

    def claim(
        self, owner: str, lane: int, now: datetime, lease_until: datetime, limit: int
    ) -> list[Submission]:
        """Mark up to `limit` due items of the lane "sending", oldest due first."""
        chosen = sorted(self._due(lane, now), key=lambda i: (i.due_at, i.id))[:limit]
        claimed = []
        for item in chosen:
            self._put(
                item,
                state=int(ItemState.SENDING),
                claim_owner=owner,
                lease_until=lease_until,
                processing_date=now,
                expires_at=lease_until,
            )
            pkg = self.db.packages[item.package_id]
            text = item.msg or pkg.content or ""
            claimed.append(
                Submission(
                    item.id,
                    item.package_id,
                    item.target,
                    text,
                    item.encoding,
                    item.parts,
                    item.operator,
                    pkg.sender,
                    pkg.validity,
                    item.xid,
                    pkg.trust_date,
                )
            )
        return claimed

    def validities(self, item_ids: Sequence[int]) -> dict[int, int]:
        """The validity (minutes) of each item's package."""
        found = (self.db.items.get(i) for i in item_ids)
        return {i.id: self.db.packages[i.package_id].validity for i in found if i is not None}

    def mark_sent(
        self, owner: str, sent: Sequence[tuple[int, str | None, str, datetime]], now: datetime
    ) -> set[int]:
        """Accepted items move to "sent", if `owner` still holds them "sending"."""
        moved = set()
        for item_id, ref, link, expires in sent:
            item = self._fenced(item_id, owner)
            if item is not None:
                moved.add(item.package_id)
                self._put(
                    item,
                    state=int(ItemState.SENT),
                    carrier_ref=ref,
                    carrier_link=link,
                    sending_date=now,
                    expires_at=expires,
                    lease_until=None,
                )
        return moved

    def mark_rejected(
        self, owner: str, rejected: Sequence[tuple[int, str | None]], now: datetime
    ) -> set[int]:
        """Refused items move to "rejected", fenced like mark_sent."""
        moved = set()
        for item_id, error in rejected:
            item = self._fenced(item_id, owner)
            if item is not None:
                moved.add(item.package_id)
                self._put(
                    item,
                    state=int(ItemState.REJECTED),
                    error=error,
                    sending_date=now,
                    lease_until=None,
                )
        return moved

    def restamp(self, expiries: Mapping[int, datetime], now: datetime) -> None:
        """Items still "sending" past their expiry take these expiries."""
        for item_id, at in expiries.items():
            item = self._stranded(item_id, now)
            if item is not None:
                self._put(item, expires_at=at)

    def time_out_stranded(self, item_ids: Sequence[int], now: datetime) -> list[int]:
        """Time out these items if still "sending" past their expiry."""
        timed_out = []
        for item_id in sorted(item_ids):
            item = self._stranded(item_id, now)
            if item is not None:
                self._put(item, state=int(ItemState.TIMED_OUT), lease_until=None)
                timed_out.append(item.package_id)
        return timed_out

    def _stranded(self, item_id: int, now: datetime) -> Item | None:
        item = self.db.items.get(item_id)
        if item is None or item.state != ItemState.SENDING or not self._expired(item, now):
            return None
        return item

    def leases_over(self, now: datetime, limit: int) -> list[tuple[int, datetime, int]]:
        """(item id, claimed at, validity) of items "sending" past their expiry."""
        over = [
            (i.id, i.processing_date, self.db.packages[i.package_id].validity)
            for i in self.db.items.values()
            if i.state == ItemState.SENDING and self._expired(i, now)
        ]
        return [(i, at, v) for i, at, v in over if at is not None][:limit]

    def mark_retry(
        self, owner: str, retries: Sequence[tuple[int, str | None]], due_at: datetime
    ) -> set[int]:
        """Items `owner` holds "sending" go back to waiting, due at `due_at` (cancelled if
        their package was cancelled meanwhile)."""
        moved = set()
        for item_id, error in retries:
            item = self.db.items.get(item_id)
            if item is None or item.claim_owner != owner:
                continue
            if _movable_to(item, ItemState.WAITING):
                moved.add(item.package_id)
                cancelled = self.db.counts.get((item.package_id, int(ItemState.CANCELLED)))
                target = ItemState.CANCELLED if cancelled and cancelled[0] else ItemState.WAITING
                self._put(
                    item,
                    state=int(target),
                    due_at=due_at,
                    error=error,
                    claim_owner=None,
                    lease_until=None,
                    processing_date=None,
                    expires_at=None,
                )
        return moved

    def items_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, carrier reference): item id}; an item with no link matches any link."""
        wanted = set(keys)
        found: dict[tuple[str, str], int] = {}
        for item in self.db.items.values():
            if item.carrier_ref is None:
                continue
            for key in wanted:
                if key[1] == item.carrier_ref and item.carrier_link in (key[0], None):
                    found[key] = item.id
        return found

    def apply_outcomes(self, outcomes: Sequence[tuple[int, Outcome]]) -> set[int]:
        """Sent items take the final state reported; final ones stay."""
        targets = (ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED)
        moved = set()
        for item_id, outcome in outcomes:
            item = self.db.items.get(item_id)
            if item is not None and _movable_to(item, *targets):
                moved.add(item.package_id)
                self._put(
                    item, state=int(outcome.state), delivery_date=outcome.at, error=outcome.error
                )
        return moved

    def any_expired(self, now: datetime) -> bool:
        """Whether any item is to be timed out."""
        return any(self._expired(i, now) for i in self.db.items.values())

    def expire(self, now: datetime, limit: int) -> list[int]:
        """Time out up to `limit` expired "sent" items; the package of each."""
        found = [
            i for i in self.db.items.values() if i.state == ItemState.SENT and self._expired(i, now)
        ]
        for item in found[:limit]:
            self._put(item, state=int(ItemState.TIMED_OUT), lease_until=None)
        return [i.package_id for i in found[:limit]]

    def claim_refunds(
        self, package_ids: Sequence[int], held: Mapping[str, datetime]
    ) -> dict[int, int]:
        """Mark failed, unrefunded items refunded (unless their source holds them); owed."""
        wanted = set(package_ids)
        owed: dict[int, int] = defaultdict(int)
        for item in list(self.db.items.values()):
            if item.package_id not in wanted or not self._refund_pending(item):
                continue
            cutoff = held.get(self.db.packages[item.package_id].source)
            if cutoff is not None and item.sending_date is not None and item.sending_date > cutoff:
                continue
            self._put(item, refunded=True)
            owed[item.package_id] += item.credit
        return dict(owed)

    def reservations(self, package_ids: Sequence[int]) -> list[Reservation]:
        """What each package reserved, and of whose balance."""
        pkgs = (self.db.packages[p] for p in package_ids if p in self.db.packages)
        return [Reservation(p.id, p.user_id, p.credit) for p in pkgs]

    def refunds_pending(self, sent_before: datetime, limit: int) -> list[int]:
        """Packages with failed items sent before this and not refunded yet."""
        since = sent_before - REFUND_SWEEP_WINDOW
        found: dict[int, None] = {}
        for item in self.db.items.values():
            sent = item.sending_date
            package = self.db.packages[item.package_id]
            if (
                package.source in HELD_REFUND_SOURCES
                and since <= package.sending_date <= sent_before
                and self._refund_pending(item)
                and sent is not None
                and sent <= sent_before
            ):
                found[item.package_id] = None
        return list(found)[:limit]

    def refresh_packages(self, package_ids: Iterable[int], now: datetime) -> None:
        """Derive each package's state from its counters (items per state)."""
        ids = set(package_ids)
        counts: dict[int, dict[int, int]] = {p: {} for p in ids}
        for (package_id, state), (n, _parts) in self.db.counts.items():
            if package_id in ids and n:
                counts[package_id][state] = n
        for package_id in sorted(ids):
            pkg = self.db.packages.get(package_id)
            if pkg is None or pkg.state == PackageState.CANCELLED:
                continue
            state = rules.package_state(counts[package_id], pkg.sending_date > now)
            if state != pkg.state:
                self.db.packages[package_id] = dataclasses.replace(
                    pkg, state=int(state), updated_at=now
                )

    def any_old_fingerprint(self, now: datetime) -> bool:
        """Whether any duplicate-check entry's window has passed."""
        return any(expires <= now for _pkg, expires in self.db.fingerprints.values())

    def forget_fingerprints(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` entries whose window has passed; how many."""
        old = [k for k, (_pkg, expires) in self.db.fingerprints.items() if expires <= now]
        for key in old[:limit]:
            del self.db.fingerprints[key]
        return len(old[:limit])

    def _due(self, lane: int, now: datetime) -> Iterable[Item]:
        return (
            i
            for i in self.db.items.values()
            if _movable_to(i, ItemState.SENDING) and i.lane == lane and i.due_at <= now
        )

    def _fenced(self, item_id: int, owner: str) -> Item | None:
        item = self.db.items.get(item_id)
        if item is None or item.claim_owner != owner:
            return None
        return item if _movable_to(item, ItemState.SENT, ItemState.REJECTED) else None

    @staticmethod
    def _expired(item: Item, now: datetime) -> bool:
        in_flight = item.state in rules.IN_FLIGHT_ITEM_STATES
        return in_flight and item.expires_at is not None and item.expires_at <= now

    @staticmethod
    def _refund_pending(item: Item) -> bool:
        return not item.refunded and item.state in rules.REFUNDED_ITEM_STATES

    def _put(self, item: Item, **changes: Any) -> None:
        # Every state change of the twin passes here and moves the package counters.
        state = changes.get("state", item.state)
        if state != item.state:
            count(self.db, item.package_id, item.state, -1, -item.parts)
            count(self.db, item.package_id, state, 1, item.parts)
        self.db.items[item.id] = dataclasses.replace(item, **changes)
