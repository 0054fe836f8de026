"""Package counters in SQL: how many items (and parts) of each package are in each state.

The rows of package_counts move with the items: every statement that changes an item's
state (or inserts items) adds its moves here in the same transaction, from the rows it
returned or from counts it knows, so reading a package's state or report never counts its
items. See the rule in service.store.repositories.queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from service.store.schema import package_counts

# (package id, item state) -> [items, parts] to add (negative: to take away).
Deltas = dict[tuple[int, int], list[int]]


def deltas() -> Deltas:
    """An empty set of moves."""
    return defaultdict(lambda: [0, 0])


def move(into: Deltas, package_id: int, parts: int, src: int, dst: int) -> None:
    """Record one item of `parts` parts moving from state `src` to `dst`."""
    gone, came = into[(package_id, src)], into[(package_id, dst)]
    gone[0] -= 1
    gone[1] -= parts
    came[0] += 1
    came[1] += parts


def added(into: Deltas, package_id: int, state: int, parts: int) -> None:
    """Record one new item in `state`."""
    row = into[(package_id, state)]
    row[0] += 1
    row[1] += parts


def _upsert(dialect: Any) -> Any:
    stmt = dialect.insert(package_counts).values(
        package_id=bindparam("b_pkg"),
        state=bindparam("b_state"),
        item_count=bindparam("b_items"),
        part_count=bindparam("b_parts"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[package_counts.c.package_id, package_counts.c.state],
        set_={
            "item_count": package_counts.c.item_count + stmt.excluded.item_count,
            "part_count": package_counts.c.part_count + stmt.excluded.part_count,
        },
    )


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_COUNTS = select(
    package_counts.c.package_id, package_counts.c.state, package_counts.c.item_count
).where(package_counts.c.package_id.in_(bindparam("b_ids", expanding=True)))
_PARTS = select(
    package_counts.c.package_id, package_counts.c.state, package_counts.c.part_count
).where(package_counts.c.package_id.in_(bindparam("b_ids", expanding=True)))


def apply(conn: Connection, moves: Mapping[tuple[int, int], list[int]]) -> None:
    """Add the moves to the counters, in (package, state) order: two transactions moving
    items of the same packages lock the counter rows in one order, never in a cycle."""
    rows = [
        {"b_pkg": pkg, "b_state": state, "b_items": n, "b_parts": parts}
        for (pkg, state), (n, parts) in sorted(moves.items())
        if n or parts
    ]
    if rows:
        conn.execute(_UPSERT[conn.dialect.name], rows)


def items_by_state(conn: Connection, package_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """{package id: {item state: items}} from the counters."""
    return _read(conn, _COUNTS, package_ids)


def parts_by_state(conn: Connection, package_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """{package id: {item state: message parts}} from the counters."""
    return _read(conn, _PARTS, package_ids)


def _read(
    conn: Connection, statement: Any, package_ids: Iterable[int]
) -> dict[int, dict[int, int]]:
    ids = sorted(set(package_ids))
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for offset in range(0, len(ids), 1000):  # SQLite's limit on parameters
        for pkg, state, n in conn.execute(statement, {"b_ids": ids[offset : offset + 1000]}):
            if n:
                found[pkg][state] = int(n)
    return found
