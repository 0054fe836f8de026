"""Durable receipts on both databases: the inbox, multipart items, retries, rejected
receipts and the per-item timeout of items left "sending" by a worker that died."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain.carrier import DeliveryReceipt, Submission, SubmitResult
from service.domain.constants import ItemState
from service.services import delivery
from service.services.clock import FixedClock
from service.store.schema import item_parts, items, receipt_inbox
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import (
    balance,
    count,
    create_otp,
    create_package,
    item_states,
)

LONG = "x" * 200  # two parts in GSM 7-bit


@pytest.fixture
def platform(db: Database, clock: FixedClock) -> Iterator[SqlPlatform]:
    p = make_platform(db, clock=clock)
    add_customer(p, balance=100)
    yield p
    p.store.dispose()


def test_receipts_a_link_handed_over_survive_the_worker_that_took_them(
    db: Database, platform: SqlPlatform, clock: FixedClock
) -> None:
    pkg = create_package(platform, numbers=["905321111101", "905321111102"])
    sim = SimulatorCarrier(clock, {"02": "undelivered"}, report_delay=5)
    first = Dispatcher(platform, sim, owner="first")
    first.send_lane(1)
    clock.advance(seconds=5)
    sim.poll()  # committed to the inbox; then the worker dies before applying them
    assert count(platform, receipt_inbox) == 2

    other = make_platform(db, clock=clock)
    Dispatcher(other, SimulatorCarrier(clock), owner="second").settle()
    assert item_states(platform, pkg) == {
        "905321111101": ItemState.DELIVERED,
        "905321111102": ItemState.UNDELIVERED,
    }
    assert count(platform, receipt_inbox) == 0
    assert balance(platform) == 99


def test_a_multipart_item_settles_once_every_part_has_its_receipt(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    pkg = create_package(platform, numbers=["905321111101", "905321111102"], content=LONG)
    assert balance(platform) == 96
    sim = SimulatorCarrier(clock, {"02": "undelivered"}, report_delay=5, split_parts=True)
    dispatcher = Dispatcher(platform, sim, owner="w")
    dispatcher.send_lane(1)
    assert count(platform, item_parts) == 4
    clock.advance(seconds=5)
    dispatcher.settle()
    assert item_states(platform, pkg) == {
        "905321111101": ItemState.DELIVERED,
        "905321111102": ItemState.UNDELIVERED,  # its last part was not delivered
    }
    assert balance(platform) == 98  # the undelivered item's two parts back
    assert count(platform, item_parts) == 0


def test_a_multipart_item_waits_for_its_last_part(platform: SqlPlatform, clock: FixedClock) -> None:
    pkg = create_package(platform, numbers=["905321111101"], content=LONG)
    [sub] = delivery.claim(platform, "w", 1, 10)
    answer = SubmitResult(sub.item_id, True, "m-1", link="smsc", part_refs=("m-1", "m-2"))
    delivery.record_submissions(platform, "w", [answer])
    delivery.record_submissions(platform, "w", [answer])  # a retried record adds nothing
    now = clock.now()
    delivery.record_receipts(platform, "smsc", [DeliveryReceipt("m-2", ItemState.DELIVERED, now)])
    assert delivery.apply_receipts(platform) == delivery.Applied(1, 0, 0)
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENT}
    later = now + timedelta(seconds=3)
    delivery.record_receipts(platform, "smsc", [DeliveryReceipt("m-1", ItemState.DELIVERED, later)])
    delivery.apply_receipts(platform)
    assert item_states(platform, pkg) == {"905321111101": ItemState.DELIVERED}
    with platform.store.read() as conn:
        assert conn.execute(select(items.c.delivery_date)).scalar_one() == later


def test_parts_of_an_item_that_timed_out_are_forgotten(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    create_package(platform, numbers=["905321111101"], content=LONG)
    [sub] = delivery.claim(platform, "w", 1, 10)
    answer = SubmitResult(sub.item_id, True, "m-1", link="smsc", part_refs=("m-1", "m-2"))
    delivery.record_submissions(platform, "w", [answer])
    assert delivery.forget_settled_parts(platform) == 0
    clock.advance(minutes=1440 + 60)
    assert delivery.expire(platform) == 1
    assert delivery.forget_settled_parts(platform) == 2
    assert count(platform, item_parts) == 0


def test_a_rejected_receipt_rejects_the_item_and_refunds_it(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    pkg = create_package(platform, numbers=["905321111101"])
    [sub] = delivery.claim(platform, "w", 1, 10)
    delivery.record_submissions(platform, "w", [SubmitResult(sub.item_id, True, "r-1", link="a")])
    rejected = DeliveryReceipt("r-1", ItemState.REJECTED, clock.now(), "REJECTD")
    delivery.record_receipts(platform, "a", [rejected])
    delivery.apply_receipts(platform)
    assert item_states(platform, pkg) == {"905321111101": ItemState.REJECTED}
    assert balance(platform) == 100


class Throttled:
    """A simulator link that asks to retry every message the first time it sees it."""

    def __init__(self, sim: SimulatorCarrier) -> None:
        self.sim = sim
        self.name = sim.name
        self.seen: set[int] = set()
        self.open, self.poll, self.available, self.close = (
            sim.open,
            sim.poll,
            sim.available,
            sim.close,
        )

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        fresh = [s for s in batch if s.item_id not in self.seen]
        self.seen |= {s.item_id for s in fresh}
        again = [s for s in batch if s not in fresh]
        busy = [SubmitResult(s.item_id, False, error="THROTTLED", retry=True) for s in fresh]
        return busy + self.sim.submit(again)


def test_an_item_the_carrier_asks_to_retry_waits_and_goes_once_never_charged_twice(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    pkg = create_package(platform, numbers=["905321111101"])
    sim = SimulatorCarrier(clock, report_delay=0)
    dispatcher = Dispatcher(platform, Throttled(sim), owner="w")
    dispatcher.drain()
    assert item_states(platform, pkg) == {"905321111101": ItemState.WAITING}
    assert (sim.submitted, balance(platform)) == (0, 99)
    clock.advance(seconds=4)
    dispatcher.drain()
    assert sim.submitted == 0  # due five seconds after the answer
    clock.advance(seconds=1)
    dispatcher.drain()
    assert item_states(platform, pkg) == {"905321111101": ItemState.DELIVERED}
    assert (sim.submitted, balance(platform)) == (1, 99)


def test_an_item_stranded_in_sending_times_out_at_its_own_validity(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    otp = create_otp(platform, "905321111101")
    bulk = create_package(platform, numbers=["905321111102"])
    delivery.claim(platform, "died", 0, 10)
    delivery.claim(platform, "died", 1, 10)
    clock.advance(minutes=6 + 60)  # the OTP's validity (6 minutes) and the hour of grace
    assert delivery.expire(platform) == 1
    assert item_states(platform, otp) == {"905321111101": ItemState.TIMED_OUT}
    assert item_states(platform, bulk) == {"905321111102": ItemState.SENDING}
    assert balance(platform) == 99
    clock.advance(minutes=1440 - 6)
    assert delivery.expire(platform) == 1
    assert balance(platform) == 100


def test_a_stranded_item_outlives_its_claim_lease_until_its_own_validity_is_over(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    # The claim stamps the lease as the first expiry; the lease being over (a minute) only
    # gives the item its own expiry, claim + validity (6 minutes) + the hour of grace.
    otp = create_otp(platform, "905321111101")
    delivery.claim(platform, "died", 0, 10)
    clock.advance(minutes=2)
    assert delivery.expire(platform) == 0
    clock.advance(minutes=6 + 60 - 2, seconds=-1)
    assert delivery.expire(platform) == 0
    assert item_states(platform, otp) == {"905321111101": ItemState.SENDING}
    clock.advance(seconds=1)
    assert delivery.expire(platform) == 1
    assert item_states(platform, otp) == {"905321111101": ItemState.TIMED_OUT}


def test_more_leases_over_than_one_pass_takes_time_out_none_before_their_own_expiry(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    # Two items left "sending" by a worker that died, two minutes after the claim (lease
    # 60 s, validity 24 h): a pass of one restamps one; the other is not timed out for
    # still carrying its lease as expiry, and the next pass restamps it.
    pkg = create_package(platform, numbers=["905321111101", "905321111102"])
    delivery.claim(platform, "died", 1, 10)
    clock.advance(minutes=2)
    assert delivery.expire(platform, limit=1) == 0
    assert delivery.expire(platform, limit=1) == 0
    assert set(item_states(platform, pkg).values()) == {ItemState.SENDING}
    clock.advance(minutes=1440 + 60)
    assert delivery.expire(platform, limit=1) + delivery.expire(platform, limit=1) == 2


def test_the_timeout_check_reads_the_expiring_index(platform: SqlPlatform) -> None:
    from service.store.repositories.queue import _ANY_EXPIRED

    create_package(platform, numbers=["905321111101"])
    with platform.store.write() as conn:
        if conn.dialect.name == "postgresql":
            # A table as the check meets it: mostly final items, statistics up to date (on
            # a table of a handful of rows the planner's choice between indexes is a coin).
            conn.execute(
                text(
                    "INSERT INTO items (package_id, target, parts, credit, encoding, state,"
                    " lane, due_at) SELECT package_id, target, parts, credit, encoding, 3,"
                    " lane, due_at FROM items, generate_series(1, 20000)"
                )
            )
            conn.execute(text("ANALYZE items"))
        compiled = _ANY_EXPIRED.compile(dialect=conn.dialect)
        params = {**compiled.params, "b_now": datetime(2026, 3, 2)}
        args: Any = tuple(params[k] for k in compiled.positiontup or ()) or params
        prefix = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
        plan = conn.exec_driver_sql(f"{prefix} {compiled.string}", args).all()
    assert "ix_items_expiring" in " ".join(str(row) for row in plan)


def test_workers_claim_different_receipts_from_the_inbox(
    pg_db: Database, clock: FixedClock
) -> None:
    platform = make_platform(pg_db, clock=clock)
    now = clock.now()
    delivery.record_receipts(
        platform, "a", [DeliveryReceipt(f"r-{n}", ItemState.DELIVERED, now) for n in range(2)]
    )
    with platform.uow.write() as first:
        mine = first.receipts.claim(now, 1)
        with platform.uow.write() as second:
            theirs = second.receipts.claim(now, 10)
    assert len(mine) == 1 and len(theirs) == 1
    assert mine[0].receipt.carrier_ref != theirs[0].receipt.carrier_ref
