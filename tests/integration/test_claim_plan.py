"""The claim's plan on PostgreSQL stays right as items grows from a few rows to many.

psycopg prepares a statement on the server after five executions, and PostgreSQL then
may keep a generic plan made for the table as it was. Made while `items` held a handful of
rows, the claim's generic plan scanned the whole table per claim (9-17 s each on a
100,000-item package). The dispatcher's transactions force custom plans, and the claim's
shape (locked ids picked from ix_items_due, rows fetched by ctid) gives an index plan
even with statistics of the tiny table. Checked from the plans, not from timings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from service.domain.packages import BULK_LANE
from service.services import delivery
from service.store.repositories import queue
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, call, principal

BIG = 20_000
WARM = 16


def _claim_statements(platform: SqlPlatform) -> list[Any]:
    """The server-side prepared claims of the (one) pooled connection."""
    with platform.store.read() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE 'UPDATE items SET state%picked_items%'"
                )
            )
        )


def _claim_plan(platform: SqlPlatform) -> str:
    """EXPLAIN of the claim as the dispatcher runs it now (its transaction's settings)."""
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = queue._CLAIM["postgresql"].compile(dialect=dialect)
    now = platform.clock.now() + timedelta(minutes=1)
    params = {
        **compiled.params,
        "b_lane": BULK_LANE,
        "b_now": now,
        "b_limit": 500,
        "b_owner": "explain",
        "b_lease": now,
    }
    with platform.store.read() as conn:
        queue.SqlQueue(conn)  # the transaction as the queue repository sets it up
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled.string}", params)
        return "\n".join(r[0] for r in rows)


def test_the_claim_keeps_an_index_plan_after_warming_up_on_a_tiny_table(pg_db: Database) -> None:
    platform = make_platform(pg_db, pool_size=1)  # one connection: its prepared statements
    add_customer(platform, balance=100_000)
    me = principal(platform)
    call(
        platform,
        me,
        "sms/create",
        **{**SMS, "numbers": [f"9053210000{n:02d}" for n in range(WARM)]},
    )
    with platform.store.write() as conn:
        conn.exec_driver_sql("ANALYZE items")  # statistics of a tiny table
    # Past psycopg's threshold (five: then prepared on the server) and PostgreSQL's (five
    # custom plans: then a generic one, kept if it costs no more than they did).
    for _ in range(WARM):
        assert len(delivery.claim(platform, "warm-up", BULK_LANE, 1)) == 1
    numbers = [f"9053220{n:05d}" for n in range(BIG)]
    call(platform, me, "sms/create", **{**SMS, "content": "Kampanya", "numbers": numbers})
    assert len(delivery.claim(platform, "worker", BULK_LANE, 500)) == 500

    (prepared,) = _claim_statements(platform)
    generic_plans, custom_plans = prepared
    assert generic_plans == 0  # never a plan made for another size of table
    assert custom_plans >= 2  # planned again for the big table, as for the tiny one

    plan = _claim_plan(platform)
    assert "Index Scan using ix_items_due" in plan, plan
    assert "Tid Scan on items" in plan, plan
    assert "Seq Scan" not in plan, plan


def _explain(conn: Any, statement: Any, **params: Any) -> str:
    """EXPLAIN of a statement with these parameters, in this transaction."""
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = statement.compile(dialect=dialect)
    rows = conn.exec_driver_sql(f"EXPLAIN {compiled.string}", {**compiled.params, **params})
    return "\n".join(r[0] for r in rows)


def test_the_batch_writes_and_receipt_lookups_keep_safe_plans_with_stale_statistics(
    pg_db: Database,
) -> None:
    # Statistics of a tiny table, then a big package half in flight: the planner's idea of
    # "sending" and "sent" items is of the tiny table. The fenced read of a batch must
    # fetch its rows by id (not walk ix_items_expiring, every item in flight), the update
    # must join the batch's values to those by hash (not compare every value with every
    # row), and the receipt lookup must read ix_items_carrier_ref per reference (not scan
    # the table); no JIT compiling any of it.
    platform = make_platform(pg_db, pool_size=1)
    add_customer(platform, balance=100_000)
    me = principal(platform)
    call(platform, me, "sms/create", **{**SMS, "numbers": ["905321000001"]})
    with platform.store.write() as conn:
        conn.exec_driver_sql("ANALYZE items")
    numbers = [f"9053220{n:05d}" for n in range(BIG)]
    call(platform, me, "sms/create", **{**SMS, "content": "Kampanya", "numbers": numbers})
    claimed = delivery.claim(platform, "worker", BULK_LANE, 10_000)
    sent = [delivery.SubmitResult(c.item_id, True, f"r{c.item_id}", link="l") for c in claimed]
    delivery.record_submissions(platform, "worker", sent[:5000])
    batch = [c.item_id for c in delivery.claim(platform, "worker", BULK_LANE, 500)]

    with platform.store.write() as conn:
        queue.SqlQueue(conn)  # the transaction as the queue repository sets it up
        fenced = _explain(conn, queue._LOCKED, b_ids=batch)
        tids = [r.tid for r in conn.execute(queue._LOCKED, {"b_ids": batch})]
        assert len(tids) == 500
        update = _explain(
            conn,
            queue._PG_MARK_SENT,
            b_tids=tids,
            b_ids=batch,
            b_refs=[f"r{i}" for i in batch],
            b_links=["l"] * 500,
            b_exps=[platform.clock.now()] * 500,
            b_now=platform.clock.now(),
        )
        refs = [f"r{i}" for i in range(1, 501)]
        lookup = _explain(conn, queue._PG_ITEMS_OF_REFS, b_ids=refs)

    # By primary key, or (as here, priced for a table this small) a scan: never an index
    # of the fence's states, which walks every item in flight.
    assert not any(i in fenced for i in ("ix_items_expiring", "ix_items_package_state")), fenced
    # The values joined by hash to the rows found (by locator, or on a table this small a
    # scan the planner prices alike), never row by row to every item in flight.
    assert "Hash Join" in update and "Join Filter" not in update, update
    assert "ix_items_expiring" not in update, update
    assert "ix_items_carrier_ref" in lookup and "Seq Scan on items" not in lookup, lookup
    for plan in (fenced, update, lookup):
        assert "JIT" not in plan, plan
