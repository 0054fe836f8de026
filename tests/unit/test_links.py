"""Carrier links managed by operators: validation, routes in failover order, shares of
TPS and binds, the link set a dispatcher reloads, and the operator of a number."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest

from service.config import Settings, SettingsError
from service.delivery.carriers import registry
from service.delivery.carriers.registry import VALIDATORS, LinkKind, LinkSet
from service.delivery.carriers.router import NO_LINK, Router, held_results
from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain.carrier import Submission
from service.domain.constants import ItemState, Operator
from service.domain.links import (
    Link,
    LinkError,
    masked,
    parse_operators,
    routes_of,
    share,
)
from service.domain.phone import PrefixLookup
from service.domain.queries import ItemFilter, PackageRef, PageRequest
from service.services import links, operators, reports, sms
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork
from tests.factories import send_request
from tests.unit.memory_platform import T0, MemoryPlatform, service_platform
from tests.unit.test_sms_service import customer


def submission(item_id: int, operator: int | None) -> Submission:
    return Submission(item_id, 1, f"9053200000{item_id:02d}", "x", 0, 1, operator, "A", 1440, None)


class Switchable(SimulatorCarrier):
    """A simulator whose link can be taken down, as an SMPP link loses its bind."""

    up = True

    def available(self) -> bool:
        """Whether the test has it up."""
        return self.up


def sims(*names: str) -> dict[str, Switchable]:
    clock = FixedClock(T0)
    return {n: Switchable(clock, report_delay=0, name=n) for n in names}


def link(name: str, operators: tuple[str, ...], priority: int = 100, **options: Any) -> Link:
    return Link(1, name, "simulator", options, operators, priority, True, T0, T0)


# --- routes and failover --------------------------------------------------------------


def test_an_operators_links_go_in_priority_order_then_the_default_route() -> None:
    found = [
        link("tc-backup", ("0",), priority=20),
        link("tc-main", ("0",), priority=10),
        link("all", ("1", "*"), priority=50),
        Link(9, "off", "simulator", {}, ("0",), 1, False, T0, T0),
    ]
    routes, default = routes_of(found)
    assert routes == {0: ["tc-main", "tc-backup"], 1: ["all"]}
    assert default == ["all"]
    router = Router(sims("tc-main", "tc-backup", "all"), routes, default)
    assert router.chain(Operator.TURKCELL) == ("tc-main", "tc-backup", "all")
    assert router.chain(None) == ("all",)


def test_without_a_star_link_the_first_link_is_the_default() -> None:
    assert routes_of([link("b", ("1",), 5), link("a", ("0",), 5)]) == ({0: ["a"], 1: ["b"]}, ["a"])


def test_a_down_link_fails_over_to_the_next_of_its_operator_then_to_the_default() -> None:
    carriers = sims("main", "backup", "default")
    router = Router(carriers, {Operator.TURKCELL: ["main", "backup"]}, "default")
    batch = [submission(1, 0), submission(2, 1), submission(3, 0)]

    def routed() -> dict[str, list[int]]:
        groups, held = router.route(batch)
        assert held == []
        return {c.name: [s.item_id for s in g] for c, g in groups}

    assert routed() == {"main": [1, 3], "default": [2]}
    carriers["main"].up = False
    assert routed() == {"backup": [1, 3], "default": [2]}
    carriers["backup"].up = False
    assert routed() == {"default": [1, 2, 3]}


def test_when_no_link_of_the_route_is_up_the_items_are_held_for_a_retry() -> None:
    carriers = sims("main", "default")
    router = Router(carriers, {Operator.TURKCELL: ["main"]}, "default")
    carriers["main"].up = carriers["default"].up = False
    groups, held = router.route([submission(1, 0), submission(2, None)])
    assert groups == [] and [s.item_id for s in held] == [1, 2]
    [result, _] = held_results(held)
    assert (result.accepted, result.retry, result.error) == (False, True, NO_LINK)


def test_a_router_with_no_enabled_link_holds_everything() -> None:
    groups, held = Router({}).route([submission(1, 0)])
    assert groups == [] and len(held) == 1


def test_one_link_for_all_that_is_down_holds_the_batch() -> None:
    carriers = sims("only")
    carriers["only"].up = False
    assert Router(carriers).route([submission(1, 0)])[1] == [submission(1, 0)]


def test_the_dispatcher_sends_a_down_links_items_on_the_other_link_of_the_operator() -> None:
    platform = MemoryPlatform()
    carriers = sims("tc-a", "tc-b")
    carriers["tc-a"].clock = carriers["tc-b"].clock = platform.clock
    router = Router(carriers, {Operator.TURKCELL: ["tc-a", "tc-b"]}, "tc-a")
    carriers["tc-a"].up = False
    user = platform.add_user(10)
    pkg = platform.add_package(user, ["905320000001", "905320000002"], operators=[0, 0])
    Dispatcher(platform.as_platform, router, owner="w").drain()
    assert (carriers["tc-a"].submitted, carriers["tc-b"].submitted) == (0, 2)
    assert set(platform.states(pkg).values()) == {ItemState.DELIVERED}


# --- shares among workers -------------------------------------------------------------


def test_tps_and_binds_are_divided_among_the_live_workers() -> None:
    options = {"host": "smsc", "tps": 100, "binds": 3}
    assert share(options, 1) == options
    assert share(options, 2) == {"host": "smsc", "tps": 50, "binds": 2}
    assert share(options, 3) == {"host": "smsc", "tps": 33.333, "binds": 1}
    assert share({"tps": "10", "binds": "1"}, 4) == {"tps": 2.5, "binds": 1}
    assert share({"host": "h"}, 5) == {"host": "h"}


# --- validation -----------------------------------------------------------------------


def test_operators_are_numbers_names_or_star_in_order_without_repeats() -> None:
    assert parse_operators(["1,0", "turkcell", "*"]) == ("0", "1", "*")
    assert parse_operators(["Netgsm"]) == ("3",)


@pytest.mark.parametrize("given", [["7"], ["0,x"], [""], []])
def test_an_unknown_or_missing_operator_is_refused_naming_the_known_ones(given: list[str]) -> None:
    with pytest.raises(LinkError, match="operator"):
        parse_operators(given)


def test_secret_options_are_masked() -> None:
    shown = masked({"host": "h", "password": "pw", "api_token": "t", "system_id": "me"})
    assert shown == {"host": "h", "password": "***", "api_token": "***", "system_id": "me"}


@pytest.fixture
def platform() -> Platform:
    return service_platform()


def fake_options(options: Mapping[str, Any]) -> object:
    if "host" not in options:
        raise ValueError("option 'host' is required")
    return options


KINDS = {**VALIDATORS, "fake": fake_options}


def test_a_link_is_added_listed_changed_and_removed(platform: Platform) -> None:
    added = links.add_link(platform, KINDS, "smsc-1", "fake", {"host": "a"}, ["0,*"], 10)
    assert (added.name, added.operators, added.priority, added.enabled) == (
        "smsc-1",
        ("0", "*"),
        10,
        True,
    )
    links.add_link(platform, KINDS, "sim", "simulator", {"rules": "01=undelivered"}, ["1"])
    assert [k.name for k in links.list_links(platform)] == ["smsc-1", "sim"]
    changed = links.set_link(
        platform, KINDS, "smsc-1", options={"port": "2775"}, priority=200, enabled=False
    )
    assert changed.options == {"host": "a", "port": "2775"}
    assert (changed.priority, changed.enabled) == (200, False)
    assert links.set_link(platform, KINDS, "smsc-1", unset=["port"]).options == {"host": "a"}
    links.remove_link(platform, "smsc-1")
    assert [k.name for k in links.list_links(platform)] == ["sim"]


@pytest.mark.parametrize(
    ("name", "kind", "options", "ops", "message"),
    [
        ("dup", "fake", {"host": "a"}, ["0"], "exists already"),
        ("new", "fake", {}, ["0"], "option 'host' is required"),
        ("new", "smtp", {}, ["0"], "unknown link kind 'smtp'"),
        ("new", "fake", {"host": "a"}, ["9"], "unknown operator '9'"),
        ("bad name!", "fake", {"host": "a"}, ["0"], "bad link name"),
        ("new", "simulator", {"rules": "01=lost"}, ["0"], "bad simulator rule"),
        ("new", "simulator", {"report_delay": "soon"}, ["0"], "not a number"),
        ("new", "simulator", {"password": "x"}, ["0"], "unknown option 'password'"),
    ],
)
def test_a_bad_link_is_refused_with_a_clear_message_and_nothing_stored(
    platform: Platform,
    name: str,
    kind: str,
    options: dict[str, Any],
    ops: list[str],
    message: str,
) -> None:
    links.add_link(platform, KINDS, "dup", "fake", {"host": "a"}, ["0"])
    with pytest.raises(LinkError, match=message):
        links.add_link(platform, KINDS, name, kind, options, ops)
    assert [k.name for k in links.list_links(platform)] == ["dup"]


def test_two_smpp_links_on_one_smsc_account_are_refused(platform: Platform) -> None:
    # The SMSC hands a receipt to any bind of the account: each link would drop the other's.
    account = {"host": "smsc.example.net", "system_id": "ACME", "port": "2775"}
    links.add_link(platform, KINDS, "tc", "smpp", account, ["0"])
    same = {**account, "host": " SMSC.example.NET", "password": "other", "binds": "4"}
    with pytest.raises(LinkError, match="link 'tc' uses the same account"):
        links.add_link(platform, KINDS, "tc-2", "smpp", same, ["0"])
    links.add_link(platform, KINDS, "vf", "smpp", {**account, "system_id": "ACME2"}, ["1"])
    links.add_link(platform, KINDS, "other-port", "smpp", {**account, "port": "2776"}, ["1"])
    with pytest.raises(LinkError, match="link 'tc' uses the same account"):
        links.set_link(platform, KINDS, "vf", options={"system_id": "ACME"})
    assert links.get_link(platform, "vf").options["system_id"] == "ACME2"
    # A link's own account is no conflict: changing its other options is fine.
    assert links.set_link(platform, KINDS, "tc", options={"binds": "2"}).options["binds"] == "2"


def test_a_change_is_validated_as_a_whole_and_refused_changes_nothing(platform: Platform) -> None:
    links.add_link(platform, KINDS, "smsc", "fake", {"host": "a"}, ["0"])
    with pytest.raises(LinkError, match="'host' is required"):
        links.set_link(platform, KINDS, "smsc", unset=["host"], priority=5)
    with pytest.raises(LinkError, match="no option 'port'"):
        links.set_link(platform, KINDS, "smsc", unset=["port"])
    with pytest.raises(LinkError, match="no link named 'other'"):
        links.set_link(platform, KINDS, "other", priority=5)
    with pytest.raises(LinkError, match="no link named 'other'"):
        links.remove_link(platform, "other")
    assert links.get_link(platform, "smsc").priority == 100


# --- the link set a dispatcher holds --------------------------------------------------


@pytest.fixture
def built() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """A `fake` kind whose links are simulators; records what each was built with."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def build(name: str, options: Mapping[str, Any], host: Platform) -> SimulatorCarrier:
        seen.append((name, dict(options)))
        if options.get("host") == "broken":
            raise OSError("cannot resolve host")
        return Switchable(host.clock, report_delay=0, name=name)

    registry.KINDS["fake"] = LinkKind(fake_options, build)
    yield seen
    del registry.KINDS["fake"]


def test_with_no_database_link_the_settings_links_are_used(platform: Platform) -> None:
    linkset = LinkSet(platform)
    assert list(linkset.router.links) == ["simulator"]
    assert linkset.refresh() is False


def test_links_added_changed_and_removed_are_taken_up_at_refresh(
    platform: Platform, built: list[tuple[str, dict[str, Any]]]
) -> None:
    linkset = LinkSet(platform)
    settings_link = linkset.router.links["simulator"]
    links.add_link(platform, KINDS, "a", "fake", {"host": "x"}, ["0"], 1)
    links.add_link(platform, KINDS, "b", "fake", {"host": "y"}, ["0,*"], 2)
    assert linkset.refresh() is True
    assert linkset.router.chain(Operator.TURKCELL) == ("a", "b")
    first_b = linkset.router.links["b"]
    links.set_link(platform, KINDS, "a", options={"host": "z"})
    assert linkset.refresh() is True
    assert linkset.router.links["b"] is first_b  # unchanged: not rebuilt
    assert [name for name, _ in built] == ["a", "b", "a"]
    links.set_link(platform, KINDS, "b", enabled=False)
    assert linkset.refresh() is True
    assert list(linkset.router.links) == ["a"]
    assert linkset.refresh() is False
    assert settings_link not in linkset.router.carriers


def test_a_link_is_rebuilt_with_its_share_when_the_live_workers_change(
    platform: Platform, built: list[tuple[str, dict[str, Any]]]
) -> None:
    links.add_link(platform, KINDS, "a", "fake", {"host": "x", "tps": "90", "binds": "4"}, ["*"])
    links.add_link(platform, KINDS, "plain", "fake", {"host": "y"}, ["0"])
    linkset = LinkSet(platform)
    assert linkset.refresh(workers=1) is False
    assert linkset.refresh(workers=3) is True
    assert built[-1] == ("a", {"host": "x", "tps": 30, "binds": 2})
    assert [name for name, _ in built] == ["a", "plain", "a"]  # plain shares nothing


def test_a_link_that_cannot_be_built_is_left_out_and_tried_again(
    platform: Platform,
    built: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    links.add_link(platform, KINDS, "bad", "fake", {"host": "broken"}, ["0"], 1)
    links.add_link(platform, KINDS, "good", "fake", {"host": "x"}, ["0,*"], 2)
    with caplog.at_level(logging.ERROR, logger="finsms.links"):
        linkset = LinkSet(platform)
    assert "bad could not be built" in caplog.text
    assert linkset.router.chain(Operator.TURKCELL) == ("good",)
    links.set_link(platform, KINDS, "bad", options={"host": "fixed"})
    assert linkset.refresh() is True
    assert linkset.router.chain(Operator.TURKCELL) == ("bad", "good")


def test_a_dispatcher_reloads_links_and_beats_its_heartbeat(
    platform: Platform, built: list[tuple[str, dict[str, Any]]]
) -> None:
    dispatcher = Dispatcher(platform, LinkSet(platform), owner="w1")
    links.add_link(platform, KINDS, "a", "fake", {"host": "x"}, ["*"])
    dispatcher.reload_links()
    assert list(dispatcher.router.links) == ["a"]
    with platform.uow.read() as tx:
        assert tx.workers.live(datetime.min) == 1


# --- the operator of a number ---------------------------------------------------------


def test_the_prefix_table_is_the_default_operator_lookup() -> None:
    lookup = operators.operator_lookup(Settings())
    assert isinstance(lookup, PrefixLookup)
    assert lookup.operator_of("905321234567") == Operator.TURKCELL
    assert lookup.operator_of("905441234567") == Operator.VODAFONE
    assert lookup.operator_of("905991234567") is None


def test_an_unknown_operator_lookup_is_a_settings_error_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="FINSMS_OPERATOR_LOOKUP='mnp'"):
        operators.operator_lookup(Settings(operator_lookup="mnp"))


class Ported:
    """A number-portability lookup: one number moved to Netgsm."""

    def operator_of(self, number: str) -> Operator | None:
        return Operator.NETGSM if number == "905321111101" else PrefixLookup().operator_of(number)


def test_items_record_the_operator_the_configured_lookup_finds() -> None:
    operators.LOOKUPS["ported"] = lambda _settings: Ported()
    try:
        settings = Settings(
            argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit", operator_lookup="ported"
        )
        platform = Platform(settings, uow=MemoryUnitOfWork(), clock=FixedClock(T0))
    finally:
        del operators.LOOKUPS["ported"]
    who = customer(platform)
    created = sms.create_package(platform, who, send_request(["905321111101", "905321111102"]))
    ref = PackageRef("id", created)
    _, page = reports.list_items(platform, who, ref, ItemFilter(), PageRequest())
    assert [(i.target, i.operator) for i in page.rows] == [
        ("905321111101", Operator.NETGSM),
        ("905321111102", Operator.TURKCELL),
    ]
    netgsm = ItemFilter(operator=int(Operator.NETGSM))
    _, only = reports.list_items(platform, who, ref, netgsm, PageRequest())
    assert [i.target for i in only.rows] == ["905321111101"]
