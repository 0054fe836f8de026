"""The package counters (package_counts) against a recount of the items, on both databases.

Package states and report counts are read from counters that every item transition keeps;
after a mixed run (deliveries, failures, rejections, cancels, timeouts of sent and of
stranded items, an OTP) they must equal what counting the items gives, and so must the
reports built on them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain import packages as rules
from service.domain.constants import ItemState, PackageState
from service.domain.packages import BULK_LANE
from service.services import delivery
from service.services.clock import FixedClock
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import (
    SMS,
    call,
    counters,
    create_otp,
    package_row,
    principal,
    recount,
)

RULES = {"01": "delivered", "02": "undelivered", "03": "rejected", "04": "silent"}
# Two parts each (GSM 7-bit, over 160 characters): the counters carry parts, not items.
LONG = "Kampanya " * 20


def _create(platform: SqlPlatform, **fields: Any) -> int:
    pkg: int = call(platform, principal(platform), "sms/create", **{**SMS, **fields})["pkgID"]
    return pkg


def _numbers(prefix: str, outcomes: str, each: int) -> list[str]:
    """`each` numbers per outcome suffix, e.g. 90532<prefix>NNNN01."""
    return [f"90532{prefix}{n:04d}{o}" for o in outcomes.split(",") for n in range(each)]


def _assert_counters_match(platform: SqlPlatform, package_ids: list[int]) -> None:
    counted = recount(platform)
    assert counters(platform) == counted
    by_package: dict[int, dict[int, int]] = defaultdict(dict)
    parts: dict[int, dict[int, int]] = defaultdict(dict)
    for (pkg, state), (n, p) in counted.items():
        by_package[pkg][state] = n
        parts[pkg][state] = p
    listing = call(platform, principal(platform), "sms/list", pageSize=100)["list"]
    reported = {row["id"]: row["statistics"] for row in listing}
    for pkg in package_ids:
        row = package_row(platform, pkg)
        if row["state"] != PackageState.CANCELLED:
            expected = rules.package_state(by_package[pkg], row["sending_date"] > _now(platform))
            assert row["state"] == expected
        undelivered = sum(parts[pkg].get(int(s), 0) for s in rules.UNDELIVERED_ITEM_STATES)
        assert reported[pkg]["delivered"] == parts[pkg].get(int(ItemState.DELIVERED), 0)
        assert reported[pkg]["undelivered"] == undelivered


def _now(platform: SqlPlatform) -> datetime:
    return platform.clock.now()


def test_counters_equal_a_recount_after_a_mixed_run(db: Database) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 8, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10_000)
    dispatcher = Dispatcher(platform, SimulatorCarrier(clock, RULES, report_delay=5), batch=7)
    # Claimed by a worker that then died: "sending" until the stranded cut-off.
    stranded = _create(platform, numbers=_numbers("1", "01,02", 3), content=LONG)
    assert len(delivery.claim(platform, "crashed-worker", BULK_LANE, 100)) == 6
    mixed = _create(platform, numbers=_numbers("2", "01,02,03,04", 5), content=LONG)
    short = _create(platform, numbers=_numbers("3", "01,03", 4))
    cancelled = _create(platform, numbers=_numbers("4", "01", 3), sendingDate="2026-03-02 12:00")
    late_cancelled = _create(
        platform, numbers=_numbers("5", "01", 2), sendingDate="2026-03-05 12:00"
    )
    otp = create_otp(platform, "905326000001", "Kodunuz: 1234")
    everything = [stranded, mixed, short, cancelled, late_cancelled, otp]
    _assert_counters_match(platform, everything)

    assert call(platform, principal(platform), "sms/cancel", id=cancelled) == {"status": 1}
    dispatcher.run_once()  # a first batch only: packages part sent, part waiting
    _assert_counters_match(platform, everything)

    dispatcher.drain()
    _assert_counters_match(platform, everything)

    clock.advance(seconds=5)  # the reports
    dispatcher.drain()
    _assert_counters_match(platform, everything)

    clock.advance(minutes=1440 + 60 + 1)  # silent ones and the stranded ones time out
    dispatcher.drain()
    assert call(platform, principal(platform), "sms/cancel", id=late_cancelled) == {"status": 1}
    _assert_counters_match(platform, everything)
    finals = {state for (_pkg, state) in counters(platform)}
    assert finals == {
        int(ItemState.DELIVERED),
        int(ItemState.UNDELIVERED),
        int(ItemState.REJECTED),
        int(ItemState.TIMED_OUT),
        int(ItemState.CANCELLED),
    }
