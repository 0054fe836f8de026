"""Receipts in memory: how parts combine, retries, rejected receipts, the inbox's hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.carrier import DeliveryReceipt, Outcome, SubmitResult, combine_parts
from service.domain.constants import ItemState
from service.services import delivery
from tests.unit.memory_platform import T0, MemoryPlatform

D, U, R = ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED


@pytest.mark.parametrize(
    ("states", "combined"),
    [((D, D), D), ((D, U), U), ((U, D, D), U), ((D, R, U), R), ((R,), R)],
)
def test_a_multipart_item_is_delivered_only_if_every_part_was_else_the_worst(
    states: tuple[ItemState, ...], combined: ItemState
) -> None:
    parts = [Outcome(s, T0 + timedelta(seconds=n), f"E{n}") for n, s in enumerate(states)]
    outcome = combine_parts(parts)
    assert outcome.state == combined
    assert outcome.at == T0 + timedelta(seconds=len(states) - 1)  # the last part's date
    assert outcome.error == parts[[p.state for p in parts].index(combined)].error


def test_a_retry_puts_the_item_back_to_waiting_a_little_later_and_charges_nothing() -> None:
    platform = MemoryPlatform()
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    [sub] = delivery.claim(platform, "w", 1, 10)
    retry = SubmitResult(sub.item_id, False, error="THROTTLED", link="a", retry=True)
    delivery.record_submissions(platform, "w", [retry])
    delivery.record_submissions(platform, "w", [retry])  # the dispatcher's repeat
    assert platform.states(pkg) == {"905320000001": ItemState.WAITING}
    assert platform.balance(user) == 9
    assert delivery.claim(platform, "w", 1, 10) == []
    platform.clock.advance(seconds=5)
    assert [c.item_id for c in delivery.claim(platform, "w", 1, 10)] == [sub.item_id]


def test_a_receipt_of_an_intermediate_state_is_not_kept() -> None:
    platform = MemoryPlatform()
    enroute = DeliveryReceipt("r", ItemState.SENT, T0)
    assert delivery.record_receipts(platform, "a", [enroute]) == 0
    assert platform.uow.commits == 0


def test_a_held_receipt_is_tried_again_only_after_a_pause() -> None:
    platform = MemoryPlatform()
    delivery.record_receipts(platform, "a", [DeliveryReceipt("r", D, T0)])
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 1, 0)
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 0, 0)  # not due yet
    platform.clock.advance(seconds=2)
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 1, 0)
