"""The dispatcher's batch writes on PostgreSQL against writers of the same rows: a
submission record waiting for a row another transaction updated moves it all the same;
the restamp of an item whose lease is over neither overwrites an item sent meanwhile nor
locks in another order than a submission record (no deadlock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, text

from service.delivery.carriers.simulator import SimulatorCarrier
from service.domain import packages as rules
from service.domain.carrier import SubmitResult
from service.domain.constants import ItemState
from service.services import delivery
from service.services.clock import FixedClock
from service.store.schema import items
from service.store.uow import SqlTransaction
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import carrier_refs, create_package, item_states

A = "905321111101"


def _while_held(platform: SqlPlatform, hold: Callable[[Any], None], then: Callable[[], Any]) -> Any:
    """`then()` in a thread, started while a transaction that ran `hold(conn)` is open
    (it waits for that transaction's locks); its result once that one committed."""
    done: list[Any] = []
    with platform.store.write() as conn:
        hold(conn)
        thread = threading.Thread(target=lambda: done.append(then()))
        thread.start()
        time.sleep(0.5)  # `then` now waits for the rows `hold` changed
    thread.join(10)
    assert done, "the waiting transaction did not finish"
    return done[0]


def _sent_late(pg_db: Database, clock: FixedClock) -> tuple[SqlPlatform, int, list[Any]]:
    """A package of one item, claimed and handed to the carrier, its answer not recorded."""
    platform = make_platform(pg_db, clock=clock)
    add_customer(platform, balance=10)
    package_id = create_package(platform, numbers=[A])
    claimed = delivery.claim(platform, "worker-a", lane=1, limit=10)
    return platform, package_id, SimulatorCarrier(clock, report_delay=5).submit(claimed)


def test_a_submission_record_moves_a_row_another_transaction_updated_while_it_waited(
    pg_db: Database, clock: FixedClock
) -> None:
    platform, package_id, results = _sent_late(pg_db, clock)
    touch = text("UPDATE items SET lease_until = lease_until")
    _while_held(
        platform, lambda conn: conn.execute(touch),
        lambda: delivery.record_submissions(platform, "worker-a", results),
    )  # fmt: skip
    assert item_states(platform, package_id) == {A: ItemState.SENT}
    assert carrier_refs(platform, package_id) == [results[0].carrier_ref]


def test_the_carriers_answer_is_recorded_for_an_item_restamped_while_it_waited(
    pg_db: Database, clock: FixedClock
) -> None:
    platform, package_id, results = _sent_late(pg_db, clock)
    clock.advance(seconds=90)  # a slow link: the lease (60 s) is over, the validity not

    def restamp(conn: Any) -> None:
        queue = SqlTransaction(conn).queue
        over = queue.leases_over(clock.now(), 5000)
        queue.restamp({i: clock.now() + timedelta(hours=2) for i, *_ in over}, clock.now())

    _while_held(
        platform, restamp, lambda: delivery.record_submissions(platform, "worker-a", results)
    )
    assert item_states(platform, package_id) == {A: ItemState.SENT}


def test_a_retry_answer_sends_again_an_item_restamped_while_it_waited(
    pg_db: Database, clock: FixedClock
) -> None:
    platform, package_id, results = _sent_late(pg_db, clock)
    retry = [SubmitResult(r.item_id, False, None, "LINK_DOWN", "l", retry=True) for r in results]
    clock.advance(seconds=90)

    def restamp(conn: Any) -> None:
        queue = SqlTransaction(conn).queue
        over = queue.leases_over(clock.now(), 5000)
        queue.restamp({i: clock.now() + timedelta(hours=2) for i, *_ in over}, clock.now())

    _while_held(platform, restamp, lambda: delivery.record_submissions(platform, "worker-a", retry))
    assert item_states(platform, package_id) == {A: ItemState.WAITING}


def test_the_restamp_leaves_an_item_sent_meanwhile_its_own_expiry(
    pg_db: Database, clock: FixedClock
) -> None:
    # expire() read the leases that are over; before it restamps them, the worker records
    # the carrier's answer: the item is sent, its expiry sending + validity + grace.
    platform, _package_id, results = _sent_late(pg_db, clock)
    clock.advance(minutes=30)
    with platform.store.write() as conn:
        queue = SqlTransaction(conn).queue
        over = queue.leases_over(clock.now(), 5000)
        recorder = threading.Thread(
            target=lambda: delivery.record_submissions(platform, "worker-a", results)
        )
        recorder.start()
        recorder.join(10)
        own = {i: rules.stranded_expiry(at, v) for i, at, v in over}
        queue.restamp(own, clock.now())
    with platform.store.read() as conn:
        row = conn.execute(select(items.c.state, items.c.expires_at, items.c.sending_date)).one()
    assert row.state == ItemState.SENT
    assert row.expires_at == rules.expires_at(row.sending_date, 1440)


def test_the_restamp_and_a_submission_record_lock_a_claim_in_one_order(
    pg_db: Database, clock: FixedClock
) -> None:
    # One claim holding two packages of different validities: the restamp writes one
    # expiry after the other; it must have locked its rows in id order first, as the
    # submission record does, or the two deadlock.
    platform = make_platform(pg_db, clock=clock)
    add_customer(platform, balance=10)
    create_package(platform, numbers=[A, "905321111102"], validity=1440)
    create_package(platform, numbers=["905321111103", "905321111104"], validity=60)
    claimed = delivery.claim(platform, "w", lane=1, limit=10)
    results = SimulatorCarrier(clock, report_delay=5).submit(claimed)
    clock.advance(seconds=90)
    first_write = threading.Event()

    @event.listens_for(platform.store.engine, "after_execute")
    def slow(conn: Any, clauseelement: Any, *args: Any) -> None:
        if "UPDATE items SET expires_at" in str(clauseelement) and not first_write.is_set():
            first_write.set()
            time.sleep(1.0)  # the submission record comes in now

    errors: list[BaseException] = []

    def run(step: Callable[[], object]) -> None:
        try:
            step()
        except BaseException as error:
            errors.append(error)

    expiring = threading.Thread(target=run, args=(lambda: delivery.expire(platform),))
    expiring.start()
    assert first_write.wait(5)
    recording = threading.Thread(
        target=run, args=(lambda: delivery.record_submissions(platform, "w", results),)
    )
    recording.start()
    expiring.join(20)
    recording.join(20)
    assert errors == []
    assert set(item_states(platform, 1).values()) | set(item_states(platform, 2).values()) == {
        ItemState.SENT
    }
