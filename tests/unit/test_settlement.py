"""The settlement service against the in-memory unit of work: states, refunds, fences."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.carrier import DeliveryReceipt, Submission, SubmitResult
from service.domain.constants import ItemState, PackageState
from service.domain.packages import OTP_LANE
from service.domain.pricing import FACADE_PRICING, NODE_PRICING, PackageSource, PricingPolicy
from service.services import delivery
from tests.unit.memory_platform import T0, MemoryPlatform

VALIDITY_AND_GRACE = timedelta(minutes=1440 + 60)
FACADE = PackageSource.FACADE
LINK = "sim"


@pytest.fixture
def platform() -> MemoryPlatform:
    return MemoryPlatform()


def send(
    platform: MemoryPlatform,
    owner: str = "w",
    outcomes: dict[str, str] | None = None,
    lane: int = 1,
) -> list[Submission]:
    """Claim a lane and record the carrier's answers: by number suffix, 'rejected' or an
    accepted reference "ref-<item id>"; the claimed submissions."""
    claimed = delivery.claim(platform, owner, lane, 100)
    results = [
        SubmitResult(c.item_id, False, error="NO", link=LINK)
        if (outcomes or {}).get(c.target[-2:]) == "rejected"
        else SubmitResult(c.item_id, True, carrier_ref=f"ref-{c.item_id}", link=LINK)
        for c in claimed
    ]
    delivery.record_submissions(platform, owner, results)
    return claimed


def receipt(
    platform: MemoryPlatform, submission: Submission, state: ItemState = ItemState.DELIVERED
) -> DeliveryReceipt:
    return DeliveryReceipt(f"ref-{submission.item_id}", state, platform.clock.now())


def report(platform: MemoryPlatform, receipts: list[DeliveryReceipt]) -> delivery.Applied:
    """The link hands receipts over (to the inbox), then the settle pass applies them."""
    delivery.record_receipts(platform, LINK, receipts)
    return delivery.apply_receipts(platform)


def test_every_final_state_refunds_all_but_delivered(platform: MemoryPlatform) -> None:
    user = platform.add_user(100)
    pkg = platform.add_package(
        user, ["905320000001", "905320000002", "905320000003", "905320000004"]
    )
    assert platform.balance(user) == 96
    by_target = {c.target: c for c in send(platform, outcomes={"03": "rejected"})}
    assert platform.balance(user) == 97  # the rejected one at once
    report(
        platform,
        [
            receipt(platform, by_target["905320000001"], ItemState.DELIVERED),
            receipt(platform, by_target["905320000002"], ItemState.UNDELIVERED),
        ],
    )
    assert platform.package_state(pkg) == PackageState.PARTLY_REPORTED
    assert platform.balance(user) == 98
    platform.clock.advance(minutes=1440 + 60)
    assert delivery.expire(platform) == 1
    assert platform.states(pkg) == {
        "905320000001": ItemState.DELIVERED,
        "905320000002": ItemState.UNDELIVERED,
        "905320000003": ItemState.REJECTED,
        "905320000004": ItemState.TIMED_OUT,
    }
    assert platform.package_state(pkg) == PackageState.COMPLETED
    assert platform.balance(user) == 99
    assert sum(e.amount for e in platform.db.ledger) == 3  # one refund entry per settle


def test_a_claim_marks_items_sending_and_the_package_sending(platform: MemoryPlatform) -> None:
    user = platform.add_user()
    pkg = platform.add_package(user, ["905320000001", "905320000002"])
    [first] = delivery.claim(platform, "w", 1, 1)
    assert first.sender == "ACME" and first.text == "Merhaba" and first.validity == 1440
    assert platform.states(pkg)["905320000001"] == ItemState.SENDING
    assert platform.package_state(pkg) == PackageState.SENDING


def test_claims_take_their_own_lane_and_never_the_same_item_twice(platform: MemoryPlatform) -> None:
    user = platform.add_user()
    bulk = platform.add_package(user, [f"90532000000{n}" for n in range(5)])
    otp = platform.add_package(user, ["905321111101"], lane=OTP_LANE)
    assert [c.package_id for c in delivery.claim(platform, "a", OTP_LANE, 10)] == [otp]
    first = delivery.claim(platform, "a", 1, 3)
    second = delivery.claim(platform, "b", 1, 3)
    assert len(first) == 3 and len(second) == 2
    assert not {c.item_id for c in first} & {c.item_id for c in second}
    assert {c.package_id for c in first + second} == {bulk}
    assert delivery.claim(platform, "c", 1, 3) == []


def test_a_duplicate_receipt_refunds_once(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    [sub] = send(platform)
    failed = receipt(platform, sub, ItemState.UNDELIVERED)
    assert report(platform, [failed]).settled == 1
    assert report(platform, [failed]).settled == 1  # found, already final
    assert platform.balance(user) == 10


def test_a_receipt_after_the_timeout_changes_nothing(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    [sub] = send(platform)
    platform.clock.advance(minutes=1440 + 60)
    delivery.expire(platform)
    assert platform.balance(user) == 10
    report(platform, [receipt(platform, sub, ItemState.DELIVERED)])
    assert platform.states(pkg) == {"905320000001": ItemState.TIMED_OUT}
    assert platform.balance(user) == 10


def test_a_receipt_before_its_submission_is_handed_back_then_dropped_after_the_hold(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    [sub] = delivery.claim(platform, "w", 1, 10)
    early = receipt(platform, sub)
    assert report(platform, [early]) == delivery.Applied(0, 1, 0)
    platform.clock.advance(minutes=10)
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 0, 1)
    assert platform.db.extra["inbox"] == {}


def test_a_worker_without_the_claim_cannot_record_the_carriers_answer(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    claimed = delivery.claim(platform, "worker-a", 1, 10)
    forged = [SubmitResult(c.item_id, False, error="X") for c in claimed]
    delivery.record_submissions(platform, "worker-b", forged)
    assert platform.states(pkg) == {"905320000001": ItemState.SENDING}
    assert platform.balance(user) == 9


def test_a_repeated_record_of_the_same_answer_changes_nothing(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    claimed = delivery.claim(platform, "w", 1, 10)
    rejected = [SubmitResult(c.item_id, False, error="X") for c in claimed]
    delivery.record_submissions(platform, "w", rejected)
    delivery.record_submissions(platform, "w", rejected)  # the dispatcher's retry
    assert platform.balance(user) == 10


def test_an_item_stranded_in_sending_times_out_after_the_longest_validity(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    delivery.claim(platform, "crashed", 1, 10)
    platform.clock.advance(minutes=30)
    assert delivery.expire(platform) == 0
    assert delivery.claim(platform, "next", 1, 10) == []  # never sent again
    platform.clock.advance(minutes=1440 + 60)
    assert delivery.expire(platform) == 1
    assert platform.states(pkg) == {"905320000001": ItemState.TIMED_OUT}
    assert platform.balance(user) == 10


def test_more_leases_over_than_one_pass_takes_time_out_none_early(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001", "905320000002"])
    delivery.claim(platform, "crashed", 1, 10)
    platform.clock.advance(minutes=2)
    assert delivery.expire(platform, limit=1) == 0
    assert delivery.expire(platform, limit=1) == 0
    assert set(platform.states(pkg).values()) == {ItemState.SENDING}


def test_a_facade_failure_is_refunded_48_hours_after_sending_not_before(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001", "905320000002"], source=FACADE)
    subs = send(platform, outcomes={"02": "rejected"})
    report(platform, [receipt(platform, subs[0], ItemState.UNDELIVERED)])
    assert platform.balance(user) == 8
    assert platform.package_state(pkg) == PackageState.COMPLETED  # state moves on at once
    platform.clock.advance(hours=47, minutes=59)
    assert delivery.refund_due_items(platform) == 0
    assert platform.balance(user) == 8
    platform.clock.advance(minutes=1)
    assert delivery.refund_due_items(platform) == 1
    assert platform.balance(user) == 10
    assert delivery.refund_due_items(platform) == 0  # once
    assert platform.balance(user) == 10


def test_a_facade_item_never_handed_over_is_refunded_when_it_times_out(
    platform: MemoryPlatform,
) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"], source=FACADE)
    delivery.claim(platform, "crashed", 1, 10)
    platform.clock.advance(minutes=1440 + 60)
    delivery.expire(platform)
    assert platform.balance(user) == 10  # no sending time to wait from


def test_a_facade_timeout_waits_48_hours_from_sending(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"], source=FACADE, price=2)
    send(platform)
    platform.clock.advance(minutes=1440 + 60)
    delivery.expire(platform)
    assert platform.balance(user) == 8
    platform.clock.advance(hours=23)  # 48 hours and a minute after sending
    assert delivery.refund_due_items(platform) == 1
    assert platform.balance(user) == 10  # the item's own price


def test_node_refunds_do_not_wait_for_the_sweep(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    [sub] = send(platform)
    report(platform, [receipt(platform, sub, ItemState.UNDELIVERED)])
    assert platform.balance(user) == 10
    platform.clock.advance(hours=49)
    assert delivery.refund_due_items(platform) == 0


@pytest.mark.parametrize("source", list(PackageSource))
def test_unlimited_users_get_nothing_back(platform: MemoryPlatform, source: PackageSource) -> None:
    user = platform.add_user(0, unlimited=True)
    pkg = platform.add_package(user, ["905320000001", "905320000002"], source=source)
    send(platform, outcomes={"01": "rejected", "02": "rejected"})
    platform.clock.advance(hours=49)
    delivery.refund_due_items(platform)
    assert platform.package_state(pkg) == PackageState.REJECTED
    assert platform.balance(user) == 0 and platform.db.ledger == []


def test_a_cancelled_package_keeps_its_state_when_settled(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    record = platform.db.packages[pkg]
    platform.db.packages[pkg] = type(record)(**{**record.__dict__, "state": -4})
    with platform.uow.write() as tx:
        delivery.settle(tx, [pkg], platform.clock.now())
    assert platform.package_state(pkg) == PackageState.CANCELLED


def test_old_duplicate_fingerprints_are_forgotten_a_chunk_at_a_time(
    platform: MemoryPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "FORGET_CHUNK", 2)
    for n in range(5):
        platform.db.fingerprints[(1, f"fp{n}")] = (n, T0 + timedelta(minutes=n))
    platform.clock.advance(minutes=2)
    before = platform.uow.commits
    assert delivery.forget_old_fingerprints(platform) == 3
    assert platform.uow.commits - before == 2
    assert sorted(platform.db.fingerprints) == [(1, "fp3"), (1, "fp4")]


def test_an_idle_pass_commits_nothing(platform: MemoryPlatform) -> None:
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    platform.clock.current = T0 - timedelta(minutes=1)  # not due yet
    assert delivery.claim(platform, "w", 1, 10) == []
    assert delivery.expire(platform) == 0
    assert delivery.refund_due_items(platform) == 0
    assert platform.uow.commits == 0


@pytest.mark.parametrize("policy", [NODE_PRICING, FACADE_PRICING])
def test_the_refund_cut_off_agrees_with_refund_due(policy: PricingPolicy) -> None:
    now = T0 + timedelta(days=3)
    cut = policy.held_after(now)
    for sent in (now - timedelta(hours=48, seconds=1), now - timedelta(hours=48), now):
        expected = policy.refund_due(sent, now)
        assert (cut is None or sent <= cut) == expected
