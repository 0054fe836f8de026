"""The receipt inbox and the parts of multipart items, in memory: the twin of SqlReceipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.carrier import DeliveryReceipt, HeldReceipt, Outcome
from service.domain.packages import FINAL_ITEM_STATES

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryReceipts:
    """The inbox ({id: (receipt, attempt_after)}) and parts ({(link, ref): [item, outcome]})
    of a MemoryDatabase, kept in its `extra` tables."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.inbox: dict[int, tuple[HeldReceipt, datetime]] = db.extra.setdefault("inbox", {})
        self.parts: dict[tuple[str, str], list[Any]] = db.extra.setdefault("item_parts", {})

    def add(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        """Record receipts as received now."""
        for receipt in receipts:
            held = HeldReceipt(self.db.next_id("receipt_inbox"), receipt, now)
            self.inbox[held.id] = (held, now)

    def any_due(self, now: datetime) -> bool:
        """Whether any receipt waits to be applied now."""
        return any(after <= now for _held, after in self.inbox.values())

    def claim(self, now: datetime, limit: int) -> list[HeldReceipt]:
        """Up to `limit` receipts due now, oldest first."""
        due = sorted((after, held.id) for held, after in self.inbox.values() if after <= now)
        return [self.inbox[i][0] for _after, i in due[:limit]]

    def delete(self, ids: Sequence[int]) -> None:
        """Forget receipts."""
        for i in ids:
            self.inbox.pop(i, None)

    def postpone(self, ids: Sequence[int], until: datetime) -> None:
        """Try these again at `until`."""
        for i in ids:
            self.inbox[i] = (self.inbox[i][0], until)

    def add_parts(self, parts: Sequence[tuple[str, str, int]]) -> None:
        """(link, part reference, item id); a repeat adds nothing."""
        for link, ref, item_id in parts:
            self.parts.setdefault((link, ref), [item_id, None])

    def parts_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, part reference): item id} of the known parts among these."""
        return {key: self.parts[key][0] for key in keys if key in self.parts}

    def record_parts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Each part takes the outcome of its first receipt."""
        for r in receipts:
            part = self.parts.get((r.link, r.carrier_ref))
            if part is not None and part[1] is None:
                part[1] = Outcome(r.state, r.at, r.error)

    def parts_of_items(self, item_ids: Sequence[int]) -> dict[int, list[Outcome | None]]:
        """{item id: each part's outcome or None}."""
        wanted = set(item_ids)
        found: dict[int, list[Outcome | None]] = {}
        for item_id, outcome in self.parts.values():
            if item_id in wanted:
                found.setdefault(item_id, []).append(outcome)
        return found

    def any_settled_parts(self) -> bool:
        """Whether parts of settled items are left."""
        return bool(self._settled())

    def forget_settled_parts(self) -> int:
        """Forget the parts of items settled without them; how many."""
        settled = self._settled()
        for key in settled:
            del self.parts[key]
        return len(settled)

    def _settled(self) -> list[tuple[str, str]]:
        final = {int(s) for s in FINAL_ITEM_STATES}
        return [k for k, (i, _o) in self.parts.items() if self.db.items[i].state in final]

    def forget_parts(self, item_ids: Sequence[int]) -> None:
        """Forget the parts of settled items."""
        gone = set(item_ids)
        for key in [k for k, (item_id, _o) in self.parts.items() if item_id in gone]:
            del self.parts[key]
