"""Carrier links: built by name from settings, routed per operator, MO messages, and the
dispatcher between them and the settlement service (in memory)."""

from __future__ import annotations

import pytest

from service.config import Settings, SettingsError
from service.delivery.carriers.registry import build_router, parse_links
from service.delivery.carriers.router import Router, parse_routes
from service.delivery.carriers.simulator import SimulatorCarrier, parse_rules
from service.delivery.dispatcher import Dispatcher
from service.delivery.inbound import StoredInbound
from service.domain.carrier import DeliveryReceipt, InboundMessage, Submission, SubmitResult
from service.domain.constants import ItemState, Operator, PackageState
from tests.carrier_events import events_of, opened, polled_inbound
from tests.unit.memory_platform import T0, MemoryPlatform


def submission(item_id: int, operator: int | None) -> Submission:
    return Submission(
        item_id, 1, f"9053200000{item_id:02d}", "x", 0, 1, operator, "ACME", 1440, None
    )


def links(*names: str) -> dict[str, SimulatorCarrier]:
    platform = MemoryPlatform()
    return {n: SimulatorCarrier(platform.clock, report_delay=0, name=n) for n in names}


# --- settings -------------------------------------------------------------------------


def test_the_default_is_one_simulator_link_for_every_operator() -> None:
    router = build_router(MemoryPlatform().as_platform)
    assert list(router.links) == ["simulator"] and router.default == "simulator"
    assert isinstance(router.link_for(Operator.VODAFONE), SimulatorCarrier)


def test_links_are_named_kinds() -> None:
    assert parse_links("simulator") == {"simulator": "simulator"}
    assert parse_links(" sim-a = simulator , sim-b=simulator") == {
        "sim-a": "simulator",
        "sim-b": "simulator",
    }


@pytest.mark.parametrize("text", ["smpp", "a=nothing", "", " , ", "a=simulator,a=simulator", "a b"])
def test_an_unknown_or_bad_carrier_is_a_settings_error_naming_the_variable(text: str) -> None:
    with pytest.raises(SettingsError, match="FINSMS_CARRIERS"):
        parse_links(text)


def test_routes_map_operators_to_links_and_star_to_the_default() -> None:
    routes, default = parse_routes("0=sim-a, 1=sim-b,*=simulator", ["sim-a", "sim-b", "simulator"])
    assert routes == {Operator.TURKCELL: "sim-a", Operator.VODAFONE: "sim-b"}
    assert default == "simulator"
    assert parse_routes("", ["simulator"]) == ({}, None)


@pytest.mark.parametrize("text", ["0=nowhere", "7=sim-a", "x=sim-a", "0"])
def test_a_route_to_an_unknown_link_or_operator_is_a_settings_error(text: str) -> None:
    with pytest.raises(SettingsError, match="FINSMS_ROUTES"):
        parse_routes(text, ["sim-a"])


def test_bad_simulator_rules_fail_at_start_naming_the_variable() -> None:
    platform = MemoryPlatform(settings=Settings(simulator_rules="01=lost"))
    with pytest.raises(SettingsError, match="FINSMS_SIMULATOR_RULES"):
        build_router(platform.as_platform)


def test_settings_build_routed_simulator_links_with_the_simulator_settings() -> None:
    settings = Settings(
        carriers="sim-a=simulator,sim-b=simulator",
        routes="0=sim-a,*=sim-b",
        simulator_rules="01=undelivered",
        simulator_report_delay=3,
    )
    router = build_router(MemoryPlatform(settings=settings).as_platform)
    assert router.chain(Operator.TURKCELL) == ("sim-a", "sim-b")
    assert router.chain(Operator.NETGSM) == ("sim-b",)
    assert router.chain(None) == ("sim-b",)
    sim = router.links["sim-a"]
    assert isinstance(sim, SimulatorCarrier)
    assert sim.rules == {"01": "undelivered"} and sim.report_delay == 3


# --- routing --------------------------------------------------------------------------


def test_a_batch_is_split_by_the_route_of_each_operator_keeping_order() -> None:
    router = Router(links("a", "b", "c"), {Operator.TURKCELL: "a", Operator.VODAFONE: "b"}, "c")
    batch = [submission(1, 0), submission(2, 1), submission(3, 0), submission(4, None)]
    split = {carrier.name: [s.item_id for s in group] for carrier, group in router.split(batch)}
    assert split == {"a": [1, 3], "b": [2], "c": [4]}


def test_one_link_takes_the_whole_batch() -> None:
    router = Router.single(links("only")["only"])
    [(carrier, group)] = router.split([submission(1, 0), submission(2, 3)])
    assert carrier.name == "only" and len(group) == 2


def test_a_route_to_a_missing_link_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown carrier link"):
        Router(links("a"), {Operator.TURKCELL: "b"})


# --- inbound messages -----------------------------------------------------------------


def test_an_optout_recipient_is_delivered_then_replies_iptal() -> None:
    assert parse_rules("01=optout") == {"01": "optout"}
    platform = MemoryPlatform()
    sim = opened(SimulatorCarrier(platform.clock, {"01": "optout"}, report_delay=5, name="sim-a"))
    [result] = sim.submit([submission(1, 0)])
    assert polled_inbound(sim) == []
    platform.clock.advance(seconds=5)
    sim.poll()
    [delivered] = events_of(sim).got_receipts
    assert (delivered.carrier_ref, delivered.state) == (result.carrier_ref, ItemState.DELIVERED)
    [mo] = events_of(sim).got_inbound
    assert (mo.source, mo.destination, mo.text, mo.link) == (
        "905320000001",
        "ACME",
        "IPTAL",
        "sim-a",
    )
    assert mo.received_at == delivered.at
    sim.poll()
    assert events_of(sim).got_inbound == [mo]  # handed over once


def test_an_injected_message_is_polled_once() -> None:
    platform = MemoryPlatform()
    sim = opened(SimulatorCarrier(platform.clock))
    sent = sim.inject("905321234567", "4540", "BILGI")
    assert sent == InboundMessage(
        "905321234567", "4540", "BILGI", T0, "simulator", sent.carrier_ref
    )
    assert polled_inbound(sim) == [sent]
    assert polled_inbound(sim) == []


def test_a_dispatcher_stores_inbound_messages_by_default() -> None:
    platform = MemoryPlatform()
    dispatcher = Dispatcher(platform.as_platform, SimulatorCarrier(platform.clock), owner="w")
    assert isinstance(dispatcher.inbound, StoredInbound)


# --- the dispatcher over routed links, in memory -----------------------------------------


def test_the_dispatcher_sends_each_operator_through_its_link_and_settles_from_both() -> None:
    platform = MemoryPlatform()
    sims = {
        n: SimulatorCarrier(platform.clock, {"02": "undelivered"}, report_delay=1, name=n)
        for n in ("sim-a", "sim-b")
    }
    router = Router(sims, {Operator.TURKCELL: "sim-a"}, "sim-b")
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001", "905320000002"], operators=[0, 1])
    dispatcher = Dispatcher(platform.as_platform, router, owner="w")
    dispatcher.run_once()
    assert (sims["sim-a"].submitted, sims["sim-b"].submitted) == (1, 1)
    platform.clock.advance(seconds=1)
    dispatcher.run_once()
    assert platform.states(pkg) == {
        "905320000001": ItemState.DELIVERED,
        "905320000002": ItemState.UNDELIVERED,
    }
    assert platform.package_state(pkg) == PackageState.COMPLETED
    assert platform.balance(user) == 9


def test_the_dispatcher_hands_inbound_messages_to_its_handler() -> None:
    platform = MemoryPlatform()
    sim = SimulatorCarrier(platform.clock, {"01": "optout"}, report_delay=0)
    got: list[InboundMessage] = []
    dispatcher = Dispatcher(platform.as_platform, sim, owner="w", inbound=got.extend)
    user = platform.add_user(10)
    platform.add_package(user, ["905320000001"])
    sim.inject("905329999999", "ACME", "MERHABA")
    dispatcher.drain()
    assert sorted(m.text for m in got) == ["IPTAL", "MERHABA"]


def test_an_early_receipt_waits_in_the_inbox_until_its_submission_is_recorded() -> None:
    from service.services import delivery

    platform = MemoryPlatform()
    sims = {n: SimulatorCarrier(platform.clock, report_delay=0, name=n) for n in ("a", "b")}
    router = Router(sims, {Operator.TURKCELL: "a"}, "b")
    dispatcher = Dispatcher(platform.as_platform, router, owner="w")
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"], operators=[0])
    claimed = delivery.claim(platform, "w", 1, 10)
    results = sims["a"].submit(claimed)
    dispatcher.settle()  # its receipt comes before the answer is recorded: kept
    [(held, _after)] = platform.db.extra["inbox"].values()
    assert (held.receipt.link, held.receipt.carrier_ref) == ("a", results[0].carrier_ref)
    delivery.record_submissions(platform, "w", results)
    platform.clock.advance(seconds=2)  # tried again a little later
    dispatcher.settle()
    assert platform.states(pkg) == {"905320000001": ItemState.DELIVERED}
    assert platform.db.extra["inbox"] == {}


def test_a_receipt_matches_its_item_only_on_the_link_that_accepted_it() -> None:
    from service.services import delivery

    platform = MemoryPlatform()
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    [sub] = delivery.claim(platform, "w", 1, 10)
    delivery.record_submissions(platform, "w", [SubmitResult(sub.item_id, True, "r-1", link="a")])
    delivery.record_receipts(platform, "b", [DeliveryReceipt("r-1", ItemState.UNDELIVERED, T0)])
    assert delivery.apply_receipts(platform) == delivery.Applied(0, 1, 0)
    delivery.record_receipts(platform, "a", [DeliveryReceipt("r-1", ItemState.DELIVERED, T0)])
    assert delivery.apply_receipts(platform) == delivery.Applied(1, 0, 0)
    assert platform.states(pkg) == {"905320000001": ItemState.DELIVERED}


def test_a_link_that_is_down_is_handed_nothing_and_its_items_wait() -> None:
    platform = MemoryPlatform()
    sim = SimulatorCarrier(platform.clock, report_delay=0)
    sim.available = lambda: False  # type: ignore[method-assign]
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001"])
    dispatcher = Dispatcher(platform.as_platform, sim, owner="w")
    dispatcher.send_lane(1)
    assert sim.submitted == 0
    assert platform.states(pkg) == {"905320000001": ItemState.WAITING}
    assert platform.balance(user) == 9  # still reserved, not refunded
    del sim.available
    platform.clock.advance(seconds=5)
    dispatcher.drain()
    assert platform.states(pkg) == {"905320000001": ItemState.DELIVERED}
