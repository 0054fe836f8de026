"""Delivery receipts in SQL: the durable inbox the carrier links write to, and the parts
of multipart items that receipts settle one by one.

A receipt is committed here before its link acknowledges it; the settlement service
(service.services.delivery) claims a batch (FOR UPDATE SKIP LOCKED: workers sharing a
PostgreSQL database take different rows), applies it to the items through the queue
repository, and deletes it. An in-memory twin is service.store.memory.receipts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, bindparam, delete, exists, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from service.domain.carrier import DeliveryReceipt, HeldReceipt, Outcome
from service.domain.constants import ItemState
from service.domain.packages import FINAL_ITEM_STATES
from service.store.bulk import insert_rows
from service.store.lists import InList, unnest_rows
from service.store.schema import in_states, item_parts, items, receipt_inbox

_IN_CHUNK = 1000  # values per IN (...): SQLite refuses more than 32766 parameters
_INBOX = receipt_inbox.c
_PARTS = item_parts.c

_ANY_DUE = select(_INBOX.id).where(_INBOX.attempt_after <= bindparam("b_now")).limit(1)
_CLAIM = (
    select(_INBOX.id, _INBOX.link, _INBOX.carrier_ref, _INBOX.state, _INBOX.done_at)
    .add_columns(_INBOX.error, _INBOX.received_at)
    .where(_INBOX.attempt_after <= bindparam("b_now"))
    .order_by(_INBOX.attempt_after, _INBOX.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)
_DELETE = delete(receipt_inbox).where(InList(_INBOX.id))
_POSTPONE = (
    update(receipt_inbox).where(InList(_INBOX.id)).values(attempt_after=bindparam("b_until"))
)
_PARTS_OF_REFS = select(_PARTS.link, _PARTS.carrier_ref, _PARTS.item_id).where(
    tuple_(_PARTS.link, _PARTS.carrier_ref).in_(bindparam("b_ids", expanding=True))
)
# PostgreSQL: the keys as two arrays; 500 expanded pairs made a statement of 1,000
# parameters, converted and planned anew on every call (6 ms, mostly for no part at all).
_KEYS = unnest_rows(link=String, ref=String)
_PG_PARTS_OF_REFS = select(_PARTS.link, _PARTS.carrier_ref, _PARTS.item_id).where(
    tuple_(_PARTS.link, _PARTS.carrier_ref).in_(select(_KEYS.c.link, _KEYS.c.ref))
)
_RECORD_PART = (
    update(item_parts)
    .where(
        _PARTS.link == bindparam("b_link"),
        _PARTS.carrier_ref == bindparam("b_ref"),
        _PARTS.state.is_(None),  # the first receipt of a part counts, a repeat does not
    )
    .values(state=bindparam("b_state"), done_at=bindparam("b_at"), error=bindparam("b_err"))
)
_PARTS_OF_ITEMS = select(_PARTS.item_id, _PARTS.state, _PARTS.done_at, _PARTS.error).where(
    InList(_PARTS.item_id)
)
_FORGET_PARTS = delete(item_parts).where(InList(_PARTS.item_id))
# Parts of items settled without them: timed out, or a part's receipt that never came.
_OF_SETTLED_ITEM = exists().where(
    items.c.id == _PARTS.item_id, in_states(items.c.state, FINAL_ITEM_STATES)
)
_ANY_SETTLED_PART = select(_PARTS.item_id).where(_OF_SETTLED_ITEM).limit(1)
_FORGET_SETTLED_PARTS = delete(item_parts).where(_OF_SETTLED_ITEM)
_INSERT_PARTS = {
    "postgresql": postgresql.insert(item_parts).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(item_parts).on_conflict_do_nothing(),
}


class SqlReceipts:
    """The receipt inbox and the parts of multipart items, inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- the inbox ---------------------------------------------------------------------

    def add(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        """Record receipts as received now (each names its link), to apply at once."""
        rows = [_inbox_row(r, now) for r in receipts]
        insert_rows(self.conn, receipt_inbox, _INBOX_COLUMNS, rows)

    def any_due(self, now: datetime) -> bool:
        """Whether any receipt waits to be applied now (a read, for idle dispatchers)."""
        return self.conn.execute(_ANY_DUE, {"b_now": now}).first() is not None

    def claim(self, now: datetime, limit: int) -> list[HeldReceipt]:
        """Up to `limit` receipts due now, oldest first, locked for this transaction and
        skipping those another transaction holds."""
        rows = self.conn.execute(_CLAIM, {"b_now": now, "b_limit": limit})
        return [
            HeldReceipt(
                r.id,
                DeliveryReceipt(r.carrier_ref, ItemState(r.state), r.done_at, r.error, r.link),
                r.received_at,
            )
            for r in rows
        ]

    def delete(self, ids: Sequence[int]) -> None:
        """Forget receipts applied (or dropped)."""
        for chunk in _chunks(ids):
            self.conn.execute(_DELETE, {"b_ids": chunk})

    def postpone(self, ids: Sequence[int], until: datetime) -> None:
        """Receipts whose item is not recorded yet: try them again at `until`."""
        for chunk in _chunks(ids):
            self.conn.execute(_POSTPONE, {"b_ids": chunk, "b_until": until})

    # --- parts of multipart items ----------------------------------------------------------

    def add_parts(self, parts: Sequence[tuple[str, str, int]]) -> None:
        """(link, part reference, item id) of items sent as several messages; a repeat
        of the same answer adds nothing."""
        if parts:
            statement = _INSERT_PARTS[self.conn.dialect.name]
            self.conn.execute(
                statement,
                [{"link": link, "carrier_ref": ref, "item_id": i} for link, ref, i in parts],
            )

    def parts_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, part reference): item id} of the known parts among these."""
        if self.conn.dialect.name != "postgresql":
            return {(r.link, r.carrier_ref): r.item_id for r in self._each(_PARTS_OF_REFS, keys)}
        if not keys:
            return {}
        links, refs = zip(*keys, strict=True)
        rows = self.conn.execute(_PG_PARTS_OF_REFS, {"b_links": links, "b_refs": refs})
        return {(r.link, r.carrier_ref): r.item_id for r in rows}

    def record_parts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Each part takes the outcome of its first receipt."""
        if receipts:
            self.conn.execute(
                _RECORD_PART,
                [
                    {
                        "b_link": r.link,
                        "b_ref": r.carrier_ref,
                        "b_state": int(r.state),
                        "b_at": r.at,
                        "b_err": r.error,
                    }
                    # One lock order: two workers holding repeats of the same receipts never
                    # wait for each other in a cycle.
                    for r in sorted(receipts, key=lambda r: (r.link, r.carrier_ref))
                ],
            )

    def parts_of_items(self, item_ids: Sequence[int]) -> dict[int, list[Outcome | None]]:
        """{item id: each part's outcome, None while a part has no receipt}."""
        found: dict[int, list[Outcome | None]] = defaultdict(list)
        for r in self._each(_PARTS_OF_ITEMS, item_ids):
            outcome = None if r.state is None else Outcome(ItemState(r.state), r.done_at, r.error)
            found[r.item_id].append(outcome)
        return dict(found)

    def forget_parts(self, item_ids: Sequence[int]) -> None:
        """Forget the parts of items that are settled."""
        for chunk in _chunks(item_ids):
            self.conn.execute(_FORGET_PARTS, {"b_ids": chunk})

    def any_settled_parts(self) -> bool:
        """Whether parts of settled items are left (a read)."""
        return self.conn.execute(_ANY_SETTLED_PART).first() is not None

    def forget_settled_parts(self) -> int:
        """Forget the parts of items settled without them (timed out); how many."""
        return int(self.conn.execute(_FORGET_SETTLED_PARTS).rowcount)

    def _each(self, statement: Any, values: Sequence[Any]) -> Iterator[Any]:
        for chunk in _chunks(values):
            yield from self.conn.execute(statement, {"b_ids": chunk})


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for offset in range(0, len(values), _IN_CHUNK):
        yield list(values[offset : offset + _IN_CHUNK])


_INBOX_COLUMNS = ["link", "carrier_ref", "state", "done_at", "error"]
_INBOX_COLUMNS += ["received_at", "attempt_after"]


def _inbox_row(receipt: DeliveryReceipt, now: datetime) -> tuple[Any, ...]:
    error = receipt.error[:64] if receipt.error else None
    return (receipt.link, receipt.carrier_ref, int(receipt.state), receipt.at, error, now, now)
