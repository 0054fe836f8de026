"""The simulator carrier: rules, submission outcomes and delayed delivery reports."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from service.delivery.carriers.simulator import OUTCOMES, SimulatorCarrier, parse_rules
from service.domain.carrier import DeliveryReceipt, Submission, SubmitResult
from service.domain.constants import ItemState
from service.services.clock import FixedClock
from tests.carrier_events import events_of, opened, polled_receipts

T0 = datetime(2025, 1, 1, 12, 0, 0)


def item(item_id: int, target: str) -> Submission:
    return Submission(
        item_id=item_id,
        package_id=1,
        target=target,
        text="x",
        encoding=0,
        parts=1,
        operator=0,
        sender="BASLIK",
        validity=1440,
        xid=None,
    )


def carrier(rules: str = "", delay: float = 5.0) -> tuple[SimulatorCarrier, FixedClock]:
    clock = FixedClock(T0)
    return opened(SimulatorCarrier(clock, parse_rules(rules), report_delay=delay)), clock


# --- rules ----------------------------------------------------------------------------


def test_rules_are_parsed_into_suffix_outcome_pairs() -> None:
    assert parse_rules("0001=rejected,0002=undelivered,*=delivered") == {
        "0001": "rejected",
        "0002": "undelivered",
        "*": "delivered",
    }


def test_rules_tolerate_spaces_case_and_empty_chunks() -> None:
    assert parse_rules(" 0001 = Rejected , ,9=SILENT,") == {"0001": "rejected", "9": "silent"}


def test_empty_rules_text_is_no_rule() -> None:
    assert parse_rules("") == {}
    assert parse_rules(" , ") == {}


def test_later_rule_for_the_same_suffix_wins() -> None:
    assert parse_rules("1=delivered,1=rejected") == {"1": "rejected"}


@pytest.mark.parametrize(
    "text",
    [
        "0001",
        "0001=lost",
        "abc=delivered",
        "=delivered",
        "12a=rejected",
        "0001=",
        "0001:rejected",
        "**=delivered",
    ],
)
def test_bad_rule_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="bad simulator rule"):
        parse_rules(text)


def test_the_four_outcomes() -> None:
    assert OUTCOMES == ("delivered", "undelivered", "rejected", "silent")


# --- outcome --------------------------------------------------------------------------


def test_without_rules_every_number_is_delivered() -> None:
    sim, _ = carrier("")
    assert sim.outcome("905551234567") == "delivered"


def test_longest_matching_suffix_wins() -> None:
    sim, _ = carrier("7=undelivered,67=rejected,4567=silent")
    assert sim.outcome("905551234567") == "silent"
    assert sim.outcome("905551234467") == "rejected"
    assert sim.outcome("905551234447") == "undelivered"


def test_longest_suffix_wins_whatever_the_rule_order() -> None:
    sim, _ = carrier("4567=silent,67=rejected,7=undelivered")
    assert sim.outcome("905551234567") == "silent"


def test_star_matches_numbers_no_suffix_matches() -> None:
    sim, _ = carrier("0001=rejected,*=undelivered")
    assert sim.outcome("905551230001") == "rejected"
    assert sim.outcome("905551239999") == "undelivered"


def test_unmatched_number_without_star_is_delivered() -> None:
    sim, _ = carrier("0001=rejected")
    assert sim.outcome("905551239999") == "delivered"


# --- submit ---------------------------------------------------------------------------


def test_rejected_item_is_refused_without_carrier_ref() -> None:
    sim, _ = carrier("0001=rejected")
    [result] = sim.submit([item(10, "905551230001")])
    assert result == SubmitResult(
        10, False, carrier_ref=None, error="SIM_REJECTED", link="simulator"
    )


def test_accepted_items_get_distinct_carrier_refs() -> None:
    sim, _ = carrier("")
    results = sim.submit([item(1, "905551230001"), item(2, "905551230002")])
    assert [r.item_id for r in results] == [1, 2]
    assert all(r.accepted and r.error is None for r in results)
    refs = [r.carrier_ref for r in results]
    assert all(ref and ref.startswith("sim-") for ref in refs)
    assert refs[0] is not None and refs[0].endswith("-1")
    assert refs[1] is not None and refs[1].endswith("-2")
    assert len(set(refs)) == 2


def test_submit_answers_every_item_in_order_and_counts_them() -> None:
    sim, _ = carrier("1=rejected,2=undelivered,3=silent")
    results = sim.submit([item(i, f"90555123456{i}") for i in range(1, 5)])
    assert [(r.item_id, r.accepted) for r in results] == [
        (1, False),
        (2, True),
        (3, True),
        (4, True),
    ]
    assert sim.submitted == 4


def test_silent_and_undelivered_items_are_accepted_at_submission() -> None:
    sim, _ = carrier("3=silent,2=undelivered")
    results = sim.submit([item(1, "905551234563"), item(2, "905551234562")])
    assert all(r.accepted and r.carrier_ref for r in results)


# --- reports --------------------------------------------------------------------------


def test_no_report_before_the_delay() -> None:
    sim, clock = carrier("", delay=5)
    sim.submit([item(1, "905551234567")])
    assert polled_receipts(sim) == []
    clock.advance(seconds=4.9)
    assert polled_receipts(sim) == []


def test_delivered_report_arrives_after_the_delay() -> None:
    sim, clock = carrier("", delay=5)
    [sub] = sim.submit([item(1, "905551234567")])
    clock.advance(seconds=5)
    assert polled_receipts(sim) == [
        DeliveryReceipt(
            cast(str, sub.carrier_ref),
            ItemState.DELIVERED,
            T0 + timedelta(seconds=5),
            None,
            "simulator",
        )
    ]


def test_undelivered_report_carries_an_error() -> None:
    sim, clock = carrier("7=undelivered", delay=2)
    [sub] = sim.submit([item(1, "905551234567")])
    clock.advance(seconds=3)
    assert polled_receipts(sim) == [
        DeliveryReceipt(
            cast(str, sub.carrier_ref),
            ItemState.UNDELIVERED,
            T0 + timedelta(seconds=2),
            "SIM_UNDELIVERED",
            "simulator",
        )
    ]


def test_a_report_is_given_once() -> None:
    sim, clock = carrier("", delay=1)
    sim.submit([item(1, "905551234567")])
    clock.advance(seconds=1)
    assert len(polled_receipts(sim)) == 1
    clock.advance(seconds=100)
    assert polled_receipts(sim) == []


def test_silent_never_reports() -> None:
    sim, clock = carrier("*=silent", delay=1)
    [sub] = sim.submit([item(1, "905551234567")])
    assert sub.accepted is True
    clock.advance(days=30)
    assert polled_receipts(sim) == []


def test_rejected_never_reports() -> None:
    sim, clock = carrier("*=rejected", delay=1)
    sim.submit([item(1, "905551234567")])
    clock.advance(hours=1)
    assert polled_receipts(sim) == []


def test_reports_come_in_time_order_and_only_when_due() -> None:
    sim, clock = carrier("", delay=10)
    [first] = sim.submit([item(1, "905551234561")])
    clock.advance(seconds=5)
    [second] = sim.submit([item(2, "905551234562")])
    clock.advance(seconds=5)  # t = 10: only the first is due
    assert [r.carrier_ref for r in polled_receipts(sim)] == [first.carrier_ref]
    clock.advance(seconds=5)  # t = 15: the second
    assert [r.carrier_ref for r in polled_receipts(sim)] == [second.carrier_ref]


def test_zero_delay_reports_at_once() -> None:
    sim, _ = carrier("", delay=0)
    sim.submit([item(1, "905551234567"), item(2, "905551234568")])
    reports = polled_receipts(sim)
    assert [r.state for r in reports] == [ItemState.DELIVERED, ItemState.DELIVERED]
    assert all(r.at == T0 for r in reports)


def test_mixed_batch_reports_only_delivered_and_undelivered() -> None:
    sim, clock = carrier("1=delivered,2=undelivered,3=rejected,4=silent", delay=1)
    results = sim.submit([item(i, f"90555123456{i}") for i in range(1, 5)])
    clock.advance(seconds=1)
    reports = {r.carrier_ref: r.state for r in polled_receipts(sim)}
    assert reports == {
        results[0].carrier_ref: ItemState.DELIVERED,
        results[1].carrier_ref: ItemState.UNDELIVERED,
    }


def test_default_rules_and_delay() -> None:
    sim = SimulatorCarrier(FixedClock(T0))
    assert sim.rules == {}
    assert sim.report_delay == 1.0
    assert sim.name == "simulator"


def test_receipts_the_events_refuse_are_handed_over_again_at_the_next_poll() -> None:
    sim, clock = carrier("", delay=1)
    [sub] = sim.submit([item(1, "905551234567")])
    clock.advance(seconds=1)
    events_of(sim).refuse = True
    with pytest.raises(RuntimeError):
        sim.poll()
    events_of(sim).refuse = False
    assert [r.carrier_ref for r in polled_receipts(sim)] == [sub.carrier_ref]


def test_answers_and_receipts_name_the_link() -> None:
    clock = FixedClock(T0)
    sim = opened(SimulatorCarrier(clock, {}, report_delay=0, name="sim-a"))
    [sub] = sim.submit([item(1, "905551234567")])
    assert sub.link == "sim-a"
    assert [r.link for r in polled_receipts(sim)] == ["sim-a"]


def test_split_parts_give_every_part_a_reference_and_a_receipt_the_last_failing() -> None:
    clock = FixedClock(T0)
    sim = opened(SimulatorCarrier(clock, {"7": "undelivered"}, report_delay=0, split_parts=True))
    long = Submission(1, 1, "905551234567", "x" * 300, 0, 2, 0, "BASLIK", 1440, None)
    [sub] = sim.submit([long])
    ref = cast(str, sub.carrier_ref)
    assert ref.endswith(".1") and sub.part_refs == (ref, f"{ref[:-2]}.2")
    assert {r.carrier_ref: r.state for r in polled_receipts(sim)} == {
        sub.part_refs[0]: ItemState.DELIVERED,
        sub.part_refs[1]: ItemState.UNDELIVERED,
    }


def test_the_journal_has_a_line_per_submission_before_the_answer(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    sim = SimulatorCarrier(FixedClock(T0), {"2": "rejected"}, name="sim-a", journal=str(journal))
    sim.submit([item(1, "905551234561"), item(2, "905551234562")])
    sim.submit([item(3, "905551234563")])
    pid = os.getpid()
    assert journal.read_text().splitlines() == [
        f"1\tsim-a\tdelivered\t{pid}",
        f"2\tsim-a\trejected\t{pid}",
        f"3\tsim-a\tdelivered\t{pid}",
    ]
