"""The dispatcher and simulator moving items and packages through their states."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import BULK_SENDERS_POSTGRES, Dispatcher
from service.domain.carrier import DeliveryReceipt, Outcome, Submission, SubmitResult
from service.domain.constants import ItemState, PackageState
from service.domain.errors import DomainError
from service.services import delivery
from service.services.clock import FixedClock
from service.store.repositories import queue
from service.store.repositories.ledger import SqlLedger
from service.store.schema import receipt_inbox
from tests.conftest import Database, SqlPlatform, add_customer, counted, make_platform
from tests.integration.helpers import (
    SMS,
    balance,
    call,
    carrier_refs,
    count,
    create_otp,
    create_package,
    item_states,
    ledger_sum,
    package_row,
    principal,
)

RULES = {"01": "delivered", "02": "undelivered", "03": "rejected", "04": "silent"}
NUMBERS = ["905321111101", "905321111102", "905321111103", "905321111104"]

# What the `setup` fixture hands a test: a platform, its dispatcher and its carrier.
Setup = tuple[SqlPlatform, Dispatcher, SimulatorCarrier]


@pytest.fixture
def setup(db: Database, clock: FixedClock) -> Iterator[Setup]:
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100)
    carrier = SimulatorCarrier(clock, RULES, report_delay=5)
    yield platform, Dispatcher(platform, carrier, owner="test-worker"), carrier
    platform.store.dispose()


def test_items_reach_every_final_state_and_failures_are_refunded(
    setup: Setup, clock: FixedClock
) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=NUMBERS)
    assert balance(platform) == 96

    dispatcher.run_once()
    states = item_states(platform, pkg)
    assert states == {
        "905321111101": ItemState.SENT,
        "905321111102": ItemState.SENT,
        "905321111103": ItemState.REJECTED,
        "905321111104": ItemState.SENT,
    }
    assert package_row(platform, pkg)["state"] == PackageState.SENT
    assert balance(platform) == 97  # the rejected one is back at once

    clock.advance(seconds=5)
    dispatcher.run_once()
    states = item_states(platform, pkg)
    assert states["905321111101"] == ItemState.DELIVERED
    assert states["905321111102"] == ItemState.UNDELIVERED
    assert states["905321111104"] == ItemState.SENT
    assert package_row(platform, pkg)["state"] == PackageState.PARTLY_REPORTED
    assert balance(platform) == 98

    clock.advance(minutes=1440 + 60)  # validity + the hour of grace
    dispatcher.run_once()
    assert item_states(platform, pkg)["905321111104"] == ItemState.TIMED_OUT
    assert package_row(platform, pkg)["state"] == PackageState.COMPLETED
    assert balance(platform) == 99  # only the delivered one is paid for
    assert ledger_sum(platform, principal(platform).user_id) == 99


def test_package_moves_queueing_sending_sent_completed(setup: Setup, clock: FixedClock) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=["905321111101", "905321111111"])
    assert package_row(platform, pkg)["state"] == PackageState.QUEUEING
    dispatcher.batch = 1
    dispatcher.send_lane(1)
    assert package_row(platform, pkg)["state"] == PackageState.SENDING
    dispatcher.send_lane(1)
    assert package_row(platform, pkg)["state"] == PackageState.SENT
    clock.advance(seconds=5)
    dispatcher.settle()
    assert package_row(platform, pkg)["state"] == PackageState.COMPLETED


def test_all_rejected_package_is_rejected_and_fully_refunded(
    setup: Setup,
) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=["905321111103", "905321111203"])
    dispatcher.run_once()
    assert package_row(platform, pkg)["state"] == PackageState.REJECTED
    assert balance(platform) == 100


def test_scheduled_package_waits_for_its_date(setup: Setup, clock: FixedClock) -> None:
    platform, dispatcher, _ = setup
    when = "2026-03-02 12:00"  # 09:00Z
    pkg = create_package(platform, numbers=["905321111101"], sendingDate=when)
    dispatcher.run_once()
    assert item_states(platform, pkg) == {"905321111101": ItemState.WAITING}
    assert package_row(platform, pkg)["state"] == PackageState.WAITING
    clock.advance(hours=1)
    dispatcher.run_once()
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENT}


def test_cancelling_a_scheduled_package_refunds_it_and_nothing_is_sent(
    setup: Setup, clock: FixedClock
) -> None:
    platform, dispatcher, carrier = setup
    pkg = create_package(platform, numbers=NUMBERS, sendingDate="2026-03-02 12:00")
    assert call(platform, principal(platform), "sms/cancel", id=pkg) == {"status": 1}
    assert balance(platform) == 100
    assert package_row(platform, pkg)["state"] == PackageState.CANCELLED
    clock.advance(hours=2)
    dispatcher.drain()
    assert set(item_states(platform, pkg).values()) == {ItemState.CANCELLED}
    assert carrier.submitted == 0
    assert balance(platform) == 100 and ledger_sum(platform, principal(platform).user_id) == 100


def test_a_started_package_cannot_be_cancelled(
    setup: Setup,
) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=["905321111101"])
    dispatcher.run_once()
    with pytest.raises(DomainError) as excinfo:
        call(platform, principal(platform), "sms/cancel", id=pkg)
    assert excinfo.value.err.name == "ERR_SMS_PKG_NOT_CHANGEABLE"
    assert balance(platform) == 99


def test_cancelling_a_started_package_cancels_and_refunds_only_what_still_waits(
    setup: Setup, clock: FixedClock
) -> None:
    platform, dispatcher, carrier = setup
    pkg = create_package(platform, numbers=["905321111101", "905321111102", "905321111201"])
    assert balance(platform) == 97
    delivery.claim(platform, "other-worker", lane=1, limit=1)  # one item handed over
    assert call(platform, principal(platform), "sms/cancel", id=pkg) == {"status": 1}
    states = item_states(platform, pkg)
    assert states["905321111101"] == ItemState.SENDING
    assert states["905321111102"] == states["905321111201"] == ItemState.CANCELLED
    assert balance(platform) == 99  # the two that never went out
    assert package_row(platform, pkg)["state"] == PackageState.SENDING
    # Nothing cancelled is ever sent; the one handed over settles as usual.
    clock.advance(hours=2)
    dispatcher.drain()
    assert carrier.submitted == 0
    assert item_states(platform, pkg)["905321111102"] == ItemState.CANCELLED
    with pytest.raises(DomainError) as excinfo:  # nothing left to cancel
        call(platform, principal(platform), "sms/cancel", id=pkg)
    assert excinfo.value.err.name == "ERR_SMS_PKG_NOT_CHANGEABLE"
    assert balance(platform) == 99 and ledger_sum(platform, principal(platform).user_id) == 99


def test_otp_lane_is_served_before_bulk(
    setup: Setup,
) -> None:
    platform, dispatcher, _ = setup
    bulk = create_package(platform, numbers=[f"90532{n:07d}" for n in range(30)])
    otp = create_otp(platform, "905321111101")
    dispatcher.batch = 10
    dispatcher.send_lane(0)
    assert item_states(platform, otp) == {"905321111101": ItemState.SENT}
    assert set(item_states(platform, bulk).values()) == {ItemState.WAITING}


def test_an_otp_created_in_the_process_wakes_the_idle_otp_lane(sqlite_db: Database) -> None:
    # The idle poll is an hour here: only the doorbell can get the OTP out in time.
    platform = make_platform(sqlite_db, poll_interval=3600.0)
    add_customer(platform, balance=10)
    dispatcher = Dispatcher(platform, SimulatorCarrier(platform.clock, RULES), owner="w")
    dispatcher.start()
    try:
        time.sleep(0.2)  # both lanes have made their first, empty pass and are waiting
        otp = create_otp(platform, "905321111101")
        deadline = time.monotonic() + 30
        while item_states(platform, otp)["905321111101"] == ItemState.WAITING:
            assert time.monotonic() < deadline, "the OTP lane slept through the doorbell"
            time.sleep(0.02)
    finally:
        dispatcher.stop()


def test_a_scheduled_or_bulk_package_does_not_ring_the_otp_doorbell(setup: Setup) -> None:
    platform, _, _ = setup
    create_package(platform, numbers=["905321111101"])
    assert not platform.otp_doorbell.is_set()
    otp = {"number": "905321111101", "sender": "ACME", "content": "Kod 1"}
    call(platform, principal(platform), "sms/create-otp", **otp)
    assert platform.otp_doorbell.is_set()


def test_late_write_of_a_worker_without_the_claim_changes_nothing(
    setup: Setup,
) -> None:
    platform, _, _ = setup
    pkg = create_package(platform, numbers=["905321111101"])
    claimed = delivery.claim(platform, "worker-a", lane=1, limit=10)
    forged = [SubmitResult(c.item_id, False, error="X") for c in claimed]
    delivery.record_submissions(platform, "worker-b", forged)
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENDING}
    assert balance(platform) == 99


def test_item_stranded_in_sending_is_not_sent_again_and_times_out(
    setup: Setup, clock: FixedClock
) -> None:
    platform, dispatcher, carrier = setup
    pkg = create_package(platform, numbers=["905321111101"])
    delivery.claim(platform, "crashed-worker", lane=1, limit=10)  # never submitted
    clock.advance(minutes=30)
    dispatcher.drain()
    assert carrier.submitted == 0
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENDING}
    clock.advance(minutes=1440 + 60)
    dispatcher.drain()
    assert item_states(platform, pkg) == {"905321111101": ItemState.TIMED_OUT}
    assert balance(platform) == 100


def test_two_dispatchers_never_claim_the_same_item(
    setup: Setup,
) -> None:
    platform, _, _ = setup
    from service.services import credit

    credit.mint(platform, "acme", 200)
    create_package(platform, numbers=[f"90532{n:07d}" for n in range(200)])
    first = delivery.claim(platform, "a", lane=1, limit=120)
    second = delivery.claim(platform, "b", lane=1, limit=120)
    ids_a, ids_b = {c.item_id for c in first}, {c.item_id for c in second}
    assert len(ids_a) == 120 and len(ids_b) == 80 and not ids_a & ids_b


class CountingCarrier(SimulatorCarrier):
    """A simulator that counts what it is handed, and how many submit() calls overlap."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(clock, report_delay=3600)
        self.handed: Counter[int] = Counter()
        self.threads: set[str] = set()
        self.active = self.most_active = 0
        self.count_lock = threading.Lock()

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        with self.count_lock:
            self.handed.update(s.item_id for s in batch)
            self.threads.add(threading.current_thread().name)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(0.02)  # on the wire a while: the other sender claims meanwhile
        try:
            return super().submit(batch)
        finally:
            with self.count_lock:
                self.active -= 1


def test_two_bulk_senders_of_one_dispatcher_never_hand_an_item_over_twice(
    db: Database, clock: FixedClock
) -> None:
    platform = make_platform(db, clock=clock, bulk_senders=2, claim_batch=20, batch_wait=0)
    add_customer(platform, balance=600)
    pkg = create_package(platform, numbers=[f"90532{n:07d}" for n in range(600)])
    carrier = CountingCarrier(clock)
    dispatcher = Dispatcher(platform, carrier, owner="two-senders")
    dispatcher.start()
    try:
        deadline = time.monotonic() + 60
        while set(item_states(platform, pkg).values()) != {ItemState.SENT}:
            assert time.monotonic() < deadline, "the package never went out"
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    assert len(carrier.handed) == 600
    assert set(carrier.handed.values()) == {1}
    # Both senders worked, at the same time: otherwise this test proves nothing.
    assert carrier.threads == {"finsms-dispatch-bulk", "finsms-dispatch-bulk2"}
    assert carrier.most_active == 2


def test_bulk_senders_default_to_one_on_sqlite_and_several_on_postgresql(db: Database) -> None:
    platform = make_platform(db)
    dispatcher = Dispatcher(platform, SimulatorCarrier(platform.clock), owner="w")
    expected = 1 if platform.store.is_sqlite else BULK_SENDERS_POSTGRES
    assert dispatcher.bulk_senders() == expected
    configured = make_platform(db, bulk_senders=4)
    assert Dispatcher(configured, SimulatorCarrier(platform.clock)).bulk_senders() == 4


def test_report_for_unknown_reference_changes_nothing(setup: Setup, clock: FixedClock) -> None:
    platform, _, _ = setup
    pkg = create_package(platform, numbers=["905321111101"])
    report = DeliveryReceipt("no-such-ref", ItemState.DELIVERED, clock.now())
    delivery.record_receipts(platform, "simulator", [report])
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 1, 0)
    assert item_states(platform, pkg) == {"905321111101": ItemState.WAITING}
    clock.advance(minutes=10)  # never recorded within the hold: dropped
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 0, 1)
    assert count(platform, receipt_inbox) == 0


def test_a_report_that_overtakes_its_submission_settles_the_item_later(
    setup: Setup, clock: FixedClock
) -> None:
    # A receipt can arrive before the carrier's answer to the submission is recorded (the
    # OTP thread submits, the bulk thread applies reports). Dropping it left a delivered
    # message to time out, and be refunded.
    platform, dispatcher, carrier = setup
    pkg = create_package(platform, numbers=["905321111101"])
    claimed = delivery.claim(platform, "test-worker", lane=1, limit=10)
    results = carrier.submit(claimed)
    clock.advance(seconds=5)
    dispatcher.settle()  # the report comes in; its reference is not recorded yet
    assert count(platform, receipt_inbox) == 1
    delivery.record_submissions(platform, "test-worker", results)
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENT}
    clock.advance(seconds=2)  # the inbox tries it again a little later
    dispatcher.settle()
    assert item_states(platform, pkg) == {"905321111101": ItemState.DELIVERED}
    assert balance(platform) == 99


def test_expiry_never_overrides_a_report_committed_while_it_waited(
    pg_db: Database, clock: FixedClock
) -> None:
    # PostgreSQL re-checks only an UPDATE's own conditions after waiting for a row lock:
    # expire() waited for a report's transaction, then timed the delivered item out and
    # refunded it.
    import threading

    from service.store.uow import SqlTransaction

    platform = make_platform(pg_db, clock=clock)
    add_customer(platform, balance=10)
    carrier = SimulatorCarrier(clock, RULES, report_delay=5)
    pkg = create_package(platform, numbers=["905321111101"])
    Dispatcher(platform, carrier, owner="test-worker").send_lane(1)
    clock.advance(minutes=1440 + 60)
    expired: list[int] = []
    try:
        (ref,) = carrier_refs(platform, pkg)
        with platform.store.write() as conn:  # a report's transaction, not committed yet
            queue = SqlTransaction(conn).queue  # as a receipt's pass applies it
            (item_id,) = queue.items_of_refs([(carrier.name, ref)]).values()
            queue.apply_outcomes([(item_id, Outcome(ItemState.DELIVERED, clock.now()))])
            waiter = threading.Thread(target=lambda: expired.append(delivery.expire(platform)))
            waiter.start()
            time.sleep(0.5)  # expire() is now waiting for the row
        waiter.join(10)
        assert item_states(platform, pkg) == {"905321111101": ItemState.DELIVERED}
        assert balance(platform) == 9
    finally:
        platform.store.dispose()


def test_recreate_sends_a_finished_package_again(setup: Setup, clock: FixedClock) -> None:
    platform, dispatcher, _ = setup
    me = principal(platform)
    pkg = create_package(platform, numbers=["905321111101", "905321111102"], customID="first")
    with pytest.raises(DomainError) as excinfo:
        call(platform, me, "sms/recreate", id=pkg, title="Yeniden", includeNewNumbers=False)
    assert excinfo.value.err.name == "ERR_SMS_PKG_NOT_CHANGEABLE"
    dispatcher.run_once()
    clock.advance(seconds=5)
    dispatcher.run_once()
    again = call(platform, me, "sms/recreate", id=pkg, title="Yeniden", includeNewNumbers=False)[
        "pkgID"
    ]
    row = package_row(platform, again)
    assert (row["title"], row["recreated_from"], row["custom_id"]) == ("Yeniden", pkg, None)
    assert set(item_states(platform, again)) == {"905321111101", "905321111102"}
    assert balance(platform) == 100 - 2 + 1 - 2  # undelivered refunded, copy reserved


def test_recreate_requires_title_and_include_new_numbers(
    setup: Setup,
) -> None:
    platform, _, _ = setup
    me = principal(platform)
    for fields in ({"id": 1, "includeNewNumbers": True}, {"id": 1, "title": "Yeniden"}):
        with pytest.raises(DomainError) as excinfo:
            call(platform, me, "sms/recreate", **fields)
        assert excinfo.value.err.name == "ERR_INVALID_PARAM"


def test_idle_dispatcher_takes_no_write_lock(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    platform, dispatcher, _ = setup
    writes: list[int] = []
    real = platform.store.write
    monkeypatch.setattr(platform.store, "write", counted(writes, real))
    dispatcher._next_housekeeping = float("inf")
    for _ in range(5):
        dispatcher.run_once()
    assert writes == []


def test_expired_duplicate_fingerprints_are_forgotten(setup: Setup, clock: FixedClock) -> None:
    platform, _, _ = setup
    from service.store.schema import recent_sends

    create_package(platform, numbers=["905321111101"])
    assert count(platform, recent_sends) == 1
    assert delivery.forget_old_fingerprints(platform) == 0
    clock.advance(minutes=31)
    assert delivery.forget_old_fingerprints(platform) == 1
    assert count(platform, recent_sends) == 0


def test_reports_survive_a_failed_settle_pass(
    setup: Setup,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=["905321111101"])
    dispatcher.run_once()
    clock.advance(seconds=5)
    real = delivery.apply_receipts
    monkeypatch.setattr(delivery, "apply_receipts", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        dispatcher.settle()
    monkeypatch.setattr(delivery, "apply_receipts", real)
    dispatcher.settle()
    assert item_states(platform, pkg) == {"905321111101": ItemState.DELIVERED}
    assert balance(platform) == 99


def test_a_failed_record_of_the_carriers_answer_is_retried(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, dispatcher, _ = setup
    pkg = create_package(platform, numbers=["905321111101"])
    real, calls = delivery.record_submissions, []

    def flaky(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")
        return real(*args)

    monkeypatch.setattr(delivery, "record_submissions", flaky)
    dispatcher.send_lane(1)
    assert len(calls) == 2
    assert item_states(platform, pkg) == {"905321111101": ItemState.SENT}


def _statements_of_one_pass(
    platform: SqlPlatform, dispatcher: Dispatcher, clock: FixedClock, packages: int
) -> list[int]:
    """Statements run by a claim pass and by the report pass, for `packages` OTPs."""
    from sqlalchemy import event

    for _ in range(packages):
        call(
            platform,
            principal(platform),
            "sms/create-otp",
            number="905321111101",
            sender="ACME",
            content=f"kod {_:06d}",
        )
    counted: list[int] = []

    def count(*_args: object) -> None:
        counted[-1] += 1

    event.listen(platform.store.engine, "before_cursor_execute", count)
    try:
        counted.append(0)
        dispatcher.run_once()
        clock.advance(seconds=5)
        counted.append(0)
        dispatcher.run_once()
    finally:
        event.remove(platform.store.engine, "before_cursor_execute", count)
    return counted


def test_a_pass_runs_as_many_statements_for_forty_otps_as_for_two(
    db: Database, clock: FixedClock
) -> None:
    # One package per OTP: refreshing each package's state with a statement of its own made
    # the dispatcher's cost grow with every OTP in a pass.
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100, duplicate_check=False)
    carrier = SimulatorCarrier(clock, RULES, report_delay=5)
    dispatcher = Dispatcher(platform, carrier, owner="test-worker")
    try:
        dispatcher.drain()  # the first pass also does the minute's housekeeping
        few = _statements_of_one_pass(platform, dispatcher, clock, 2)
        clock.advance(seconds=5)
        dispatcher.drain()
        many = _statements_of_one_pass(platform, dispatcher, clock, 40)
    finally:
        platform.store.dispose()
    assert many == few


def test_long_id_lists_are_queried_in_chunks(
    setup: Setup,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform, dispatcher, _ = setup
    monkeypatch.setattr(queue, "_IN_CHUNK", 3)
    pkgs = [create_package(platform, numbers=NUMBERS, content=f"Merhaba {n}") for n in range(3)]

    dispatcher.run_once()
    clock.advance(seconds=5)
    dispatcher.run_once()
    for pkg in pkgs:
        assert item_states(platform, pkg) == {
            "905321111101": ItemState.DELIVERED,
            "905321111102": ItemState.UNDELIVERED,
            "905321111103": ItemState.REJECTED,
            "905321111104": ItemState.SENT,
        }
        assert package_row(platform, pkg)["state"] == PackageState.PARTLY_REPORTED
    assert balance(platform) == 100 - 3 * 2  # rejected and undelivered are refunded


def test_expired_fingerprints_are_forgotten_a_chunk_per_transaction(
    setup: Setup,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform, _, _ = setup
    from sqlalchemy import insert

    from service.store.schema import recent_sends

    user_id = principal(platform).user_id
    expired, fresh = clock.now(), clock.now() + timedelta(minutes=30)
    with platform.store.write() as conn:
        conn.execute(
            insert(recent_sends),
            [
                {
                    "user_id": user_id,
                    "fingerprint": f"fp{n:02d}",
                    "package_id": n,
                    "expires_at": expired if n < 10 else fresh,
                }
                for n in range(12)
            ],
        )
    monkeypatch.setattr(delivery, "FORGET_CHUNK", 3)
    writes: list[int] = []
    real = platform.store.write
    monkeypatch.setattr(platform.store, "write", counted(writes, real))

    assert delivery.forget_old_fingerprints(platform) == 10
    assert len(writes) == 4  # 3 + 3 + 3 + 1, each in a transaction of its own
    assert count(platform, recent_sends) == 2


def test_settling_locks_balances_in_user_order_before_any_package(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two settlers of overlapping packages must take their locks in one order (balances
    # by user, then packages), or PostgreSQL finds a cycle: settling chunk by chunk, a
    # settler held a package while waiting for a balance another settler held.
    from tests.integration.helpers import principal as principal_of

    platform = make_platform(db, clock=clock)
    add_customer(platform, "acme", 100, sender="ACME")
    add_customer(platform, "bravo", 100, sender="BRAVO")
    carrier = SimulatorCarrier(clock, {"*": "undelivered"}, report_delay=5)
    dispatcher = Dispatcher(platform, carrier, owner="test-worker")
    # Packages in id order alternate between the users: bravo, acme, bravo, acme.
    for n in range(4):
        user, sender = ("bravo", "BRAVO") if n % 2 == 0 else ("acme", "ACME")
        call(
            platform,
            principal_of(platform, user),
            "sms/create",
            **{**SMS, "sender": sender, "numbers": [f"90532111110{n}"]},
        )
    dispatcher.run_once()
    clock.advance(seconds=5)
    order: list[object] = []
    real_credit, real_refresh = SqlLedger.credit, queue.SqlQueue.refresh_packages

    def credit(self: SqlLedger, user_id: int, *a: Any, **k: Any) -> int:
        order.append(user_id)
        return real_credit(self, user_id, *a, **k)

    def refresh_packages(*a: Any) -> None:
        order.append("packages")
        return real_refresh(*a)

    monkeypatch.setattr(SqlLedger, "credit", credit)
    monkeypatch.setattr(queue.SqlQueue, "refresh_packages", refresh_packages)
    monkeypatch.setattr(queue, "_IN_CHUNK", 1)
    acme, bravo = principal_of(platform, "acme").user_id, principal_of(platform, "bravo").user_id
    try:
        dispatcher.settle()
    finally:
        platform.store.dispose()
    assert order == [*sorted([acme, acme, bravo, bravo]), "packages"]


def test_facade_failures_are_refunded_48_hours_after_sending(
    db: Database, clock: FixedClock
) -> None:
    # Facade packages refund a failed item 48 hours after it was sent: settling the
    # failure leaves it unrefunded, and the housekeeping sweep gives it back later.
    from sqlalchemy import update

    from service.store.schema import packages

    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    carrier = SimulatorCarrier(clock, RULES, report_delay=5)
    dispatcher = Dispatcher(platform, carrier, owner="test-worker")
    try:
        pkg = create_package(platform, numbers=["905321111101", "905321111102", "905321111103"])
        node = create_package(platform, numbers=["905321111102"], content="Node")
        with platform.store.write() as conn:  # as the facade's create will store it
            conn.execute(update(packages).where(packages.c.id == pkg).values(source="finsms"))
        dispatcher._next_housekeeping = float("inf")
        dispatcher.run_once()
        clock.advance(seconds=5)
        dispatcher.run_once()
        assert item_states(platform, node) == {"905321111102": ItemState.UNDELIVERED}
        assert balance(platform) == 10 - 4 + 1  # the node failure at once, the facade ones not
        assert package_row(platform, pkg)["state"] == PackageState.COMPLETED
        clock.advance(hours=47, minutes=59)
        assert delivery.refund_due_items(platform) == 0
        clock.advance(minutes=1)
        assert delivery.refund_due_items(platform) == 1
        assert balance(platform) == 9  # the delivered one is paid for
        assert delivery.refund_due_items(platform) == 0
        assert ledger_sum(platform, principal(platform).user_id) == 9
    finally:
        platform.store.dispose()


def test_the_refund_sweep_runs_with_the_housekeeping(setup: Setup, clock: FixedClock) -> None:
    platform, dispatcher, _ = setup
    from sqlalchemy import update

    from service.store.schema import packages

    pkg = create_package(platform, numbers=["905321111103"])
    with platform.store.write() as conn:
        conn.execute(update(packages).where(packages.c.id == pkg).values(source="finsms"))
    dispatcher._next_housekeeping = float("inf")
    dispatcher.run_once()
    assert item_states(platform, pkg) == {"905321111103": ItemState.REJECTED}
    assert balance(platform) == 99
    clock.advance(hours=48)
    dispatcher.settle()
    assert balance(platform) == 99  # not yet the minute's housekeeping
    dispatcher._next_housekeeping = 0.0
    dispatcher.settle()
    assert balance(platform) == 100
