"""trustDate on SQLite and PostgreSQL: an OTP to a number whose SIM changed after the
trusted date is rejected and refunded, through the dispatcher and the simulator's check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.delivery.carriers.router import Router
from service.delivery.carriers.simulator import SimulatorCarrier, parse_rules
from service.delivery.dispatcher import Dispatcher
from service.domain.constants import ItemState
from service.services.clock import FixedClock
from service.store.schema import items
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import balance, call, ledger_sum, principal

T0 = datetime(2026, 3, 2, 8, 0)  # 11:00 in Istanbul; simswap numbers changed at 10:00
SWAPPED, PLAIN = "905321111166", "905321111101"


def otp(platform: SqlPlatform, number: str, **fields: Any) -> int:
    body = {"number": number, "sender": "ACME", "content": "Kod: 1234", **fields}
    pkg: int = call(platform, principal(platform), "sms/create-otp", **body)["pkgID"]
    return pkg


def item_of(platform: SqlPlatform, package_id: int) -> Any:
    with platform.store.read() as conn:
        return conn.execute(items.select().where(items.c.package_id == package_id)).one()


def setup(db: Database, **settings: Any) -> tuple[SqlPlatform, Dispatcher, SimulatorCarrier]:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock, **settings)
    add_customer(platform, balance=10)
    sim = SimulatorCarrier(clock, parse_rules("66=simswap,77=simunknown"), report_delay=0)
    return platform, Dispatcher(platform, sim, owner="w"), sim


def test_an_otp_to_a_sim_changed_after_the_trust_date_is_rejected_and_refunded(
    db: Database,
) -> None:
    platform, dispatcher, sim = setup(db)
    stolen = otp(platform, SWAPPED, trustDate="2026-03-01 09:00:00")
    fresh = otp(platform, SWAPPED, trustDate="2026-03-02 10:30:00", content="Kod: 5678")
    unchecked = otp(platform, PLAIN)  # no trustDate: no check
    assert balance(platform) == 7
    dispatcher.drain()
    refused = item_of(platform, stolen)
    assert (refused.state, refused.error) == (ItemState.REJECTED, "SIM_CHANGED")
    assert item_of(platform, fresh).state == ItemState.DELIVERED
    assert item_of(platform, unchecked).state == ItemState.DELIVERED
    assert sim.submitted == 2
    assert balance(platform) == 8 == ledger_sum(platform, principal(platform).user_id)
    listed = call(platform, principal(platform), "sms/list-item", pkgID=stolen)["list"][0]
    assert (listed["state"], listed["error"]) == (-1, "SIM_CHANGED")


def test_an_otp_whose_sim_cannot_be_checked_is_refused_unless_the_operator_allows_it(
    db: Database,
) -> None:
    platform, dispatcher, sim = setup(db)
    unknown = otp(platform, "905321111177", trustDate="2026-03-01 09:00:00")
    dispatcher.drain()
    row = item_of(platform, unknown)
    assert (row.state, row.error) == (ItemState.REJECTED, "SIM_CHECK_UNAVAILABLE")
    assert balance(platform) == 10

    # FINSMS_TRUST_DATE_UNCHECKED=send: such OTPs go out unchecked.
    lenient = Dispatcher(platform, Router({"simulator": sim}, trust_unchecked="send"), owner="w2")
    sent = otp(platform, "905321111177", trustDate="2026-03-01 09:00:00", content="Kod: 5678")
    lenient.drain()
    assert item_of(platform, sent).state == ItemState.DELIVERED
