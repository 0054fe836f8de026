"""Carrier links in the database (SQLite and PostgreSQL): the repositories, the dispatcher
building its links from them, and `finsms link` on a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from service import cli
from service.delivery.carriers import registry
from service.delivery.carriers.registry import VALIDATORS, LinkKind, LinkSet, make_dispatcher
from service.delivery.carriers.simulator import SimulatorCarrier
from service.domain.links import Link
from service.services import links, workers
from service.services.clock import FixedClock
from service.services.platform import Platform
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, call, item_states, principal

T0 = datetime(2026, 3, 2, 8, 0)
TURKCELL = ["905321111101", "905321111102", "905321111103"]


def test_the_links_repository_keeps_links_by_name(db: Database) -> None:
    platform = make_platform(db)
    link = Link(0, "smsc", "smpp", {"host": "h", "port": 2775}, ("0", "*"), 10, True, T0, T0)
    with platform.uow.write() as tx:
        assert tx.links.add(link) is True
        assert tx.links.add(link) is False  # the name is taken
        tx.links.add(Link(0, "early", "simulator", {}, ("1",), 1, False, T0, T0))
    with platform.uow.read() as tx:
        stored = tx.links.get("smsc")
        assert [k.name for k in tx.links.listing()] == ["early", "smsc"]
    assert stored is not None
    assert (stored.options, stored.operators, stored.priority, stored.enabled) == (
        {"host": "h", "port": 2775},
        ("0", "*"),
        10,
        True,
    )
    later = T0 + timedelta(minutes=1)
    with platform.uow.write() as tx:
        changed = tx.links.update("smsc", later, options={"host": "g"}, operators=("2",))
        assert tx.links.update("nope", later, priority=1) is None
        assert tx.links.remove("early") is True
        assert tx.links.remove("early") is False
    assert changed is not None
    assert (changed.options, changed.operators, changed.updated_at) == (
        {"host": "g"},
        ("2",),
        later,
    )


def test_workers_beat_and_are_counted_while_they_are_seen(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    assert workers.heartbeat(platform, "w1", "host-a", 11, every=10) == 1
    assert workers.heartbeat(platform, "w2", "host-b", 12, every=10) == 2
    clock.advance(seconds=25)
    assert workers.heartbeat(platform, "w2", "host-b", 12, every=10) == 2
    clock.advance(seconds=10)  # w1 silent for 35 s: more than three beats
    assert workers.heartbeat(platform, "w2", "host-b", 12, every=10) == 1
    workers.leave(platform, "w2")
    with platform.uow.read() as tx:
        assert tx.workers.live(T0) == 1  # w1's row stays until it is forgotten
    clock.advance(seconds=600)
    assert workers.heartbeat(platform, "w3", "host-c", 13, every=10) == 1
    with platform.uow.read() as tx:
        assert tx.workers.live(datetime.min) == 1  # w1 forgotten


class Switchable(SimulatorCarrier):
    """A simulator link that can be taken down, as an SMPP link loses its bind."""

    up = True

    def available(self) -> bool:
        """Whether the test has it up."""
        return self.up


@pytest.fixture
def switchable() -> Iterator[None]:
    """A `switchable` kind: simulator links the test can take down."""

    def build(name: str, options: Mapping[str, Any], platform: Platform) -> SimulatorCarrier:
        return Switchable(platform.clock, report_delay=0, name=name)

    registry.KINDS["switchable"] = LinkKind(lambda options: options, build)
    yield
    del registry.KINDS["switchable"]


KINDS = {**VALIDATORS, "switchable": lambda options: options}


def send(platform: SqlPlatform, numbers: list[str]) -> int:
    package: int = call(platform, principal(platform), "sms/create", **SMS, numbers=numbers)[
        "pkgID"
    ]
    return package


def test_the_dispatcher_sends_a_down_links_items_on_the_other_link_of_their_operator(
    db: Database, switchable: None
) -> None:
    platform = make_platform(db)
    add_customer(platform)
    links.add_link(platform, KINDS, "tc-main", "switchable", {}, ["0"], 10)
    links.add_link(platform, KINDS, "tc-backup", "switchable", {}, ["0"], 20)
    links.add_link(platform, KINDS, "rest", "simulator", {}, ["*"], 50)
    dispatcher = make_dispatcher(platform)
    main, backup = (dispatcher.router.links[n] for n in ("tc-main", "tc-backup"))
    assert isinstance(main, Switchable) and isinstance(backup, Switchable)
    main.up = False
    package = send(platform, TURKCELL)
    dispatcher.drain()
    assert (main.submitted, backup.submitted) == (0, 3)
    assert set(item_states(platform, package).values()) == {3}
    dispatcher.stop()


def test_the_settings_links_serve_until_the_database_has_links(db: Database) -> None:
    platform = make_platform(db, simulator_rules="*=undelivered")
    add_customer(platform)
    dispatcher = make_dispatcher(platform)
    assert list(dispatcher.router.links) == ["simulator"]
    first = send(platform, TURKCELL[:1])
    dispatcher.drain()
    links.add_link(platform, KINDS, "db-sim", "simulator", {"rules": "*=delivered"}, ["*"])
    dispatcher.reload_links()
    assert list(dispatcher.router.links) == ["db-sim"]
    second = send(platform, TURKCELL[1:2])
    dispatcher.drain()
    assert item_states(platform, first) == {TURKCELL[0]: 4}
    assert item_states(platform, second) == {TURKCELL[1]: 3}
    dispatcher.stop()


def test_a_link_set_reads_the_live_workers_share(db: Database, switchable: None) -> None:
    platform = make_platform(db)
    links.add_link(platform, KINDS, "a", "simulator", {}, ["*"])
    linkset = LinkSet(platform)
    assert linkset.refresh(workers=2) is False  # a simulator link shares nothing
    assert list(linkset.router.links) == ["a"]
    linkset.close()


# --- finsms link on a real database ---------------------------------------------------


def database_url(db: Database) -> str:
    """The URL the command takes for a test database (its schema, on PostgreSQL)."""
    if db.search_path is None:
        return db.url
    base = db.url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{db.search_path}"


@pytest.fixture
def finsms(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.delenv("FINSMS_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main([*args, "--database", database_url(db)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_finsms_link_adds_lists_shows_changes_tests_and_removes(finsms: Any) -> None:
    code, out, _ = finsms(
        "link", "add", "sim-a", "--kind", "simulator", "--operators", "turkcell,1",
        "--option", "report_delay=0", "--priority", "5",
    )  # fmt: skip
    assert code == 0 and "sim-a" in out and "0,1" in out
    assert finsms("link", "add", "sim-b", "--kind", "simulator", "--operators", "*")[0] == 0
    code, out, _ = finsms("link", "list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["name", "sim-a", "sim-b"]
    code, out, _ = finsms("link", "set", "sim-a", "--enabled", "off", "--priority", "7")
    assert code == 0
    code, out, _ = finsms("link", "show", "sim-a", "--json")
    shown = json.loads(out)
    assert (shown["enabled"], shown["priority"], shown["options"]) == (
        False,
        7,
        {"report_delay": "0"},
    )
    code, out, _ = finsms("link", "test", "sim-b")
    assert code == 0 and out.startswith("sim-b: bound in ")
    assert finsms("link", "remove", "sim-a")[0] == 0
    code, out, _ = finsms("link", "list", "--json")
    assert [k["name"] for k in json.loads(out)] == ["sim-b"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "no link named 'nope'"),
        (["remove", "nope"], "no link named 'nope'"),
        (["test", "nope"], "no link named 'nope'"),
        (["set", "nope", "--priority", "1"], "no link named 'nope'"),
        (["add", "sim", "--kind", "simulator", "--operators", "0"], "exists already"),
        (["add", "x", "--kind", "simulator", "--operators", "5"], "unknown operator '5'"),
        (["add", "x", "--kind", "carrier-pigeon", "--operators", "0"], "unknown link kind"),
        (
            ["add", "x", "--kind", "simulator", "--operators", "0", "--option", "rules=1=lost"],
            "bad options for a simulator link",
        ),
        (
            ["add", "x", "--kind", "simulator", "--operators", "0", "--option", "noequals"],
            "KEY=VALUE",
        ),
    ],
)
def test_finsms_link_refuses_bad_requests_with_exit_2_and_a_clear_line(
    finsms: Any, args: list[str], message: str
) -> None:
    assert finsms("link", "add", "sim", "--kind", "simulator", "--operators", "*")[0] == 0
    code, _, err = finsms("link", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert [k["name"] for k in json.loads(finsms("link", "list", "--json")[1])] == ["sim"]


def test_finsms_link_never_prints_a_password(finsms: Any, switchable: None) -> None:
    secret = "hunter22"
    registry.VALIDATORS["switchable"] = lambda options: options
    try:
        code, out, _ = finsms(
            "link", "add", "smsc", "--kind", "switchable", "--operators", "0",
            "--option", f"password={secret}", "--option", "host=smsc.example",
        )  # fmt: skip
    finally:
        del registry.VALIDATORS["switchable"]
    assert code == 0 and secret not in out and "password=***" in out
    for words in (["show", "smsc"], ["show", "smsc", "--json"], ["list"], ["list", "--json"]):
        code, out, _ = finsms("link", *words)
        assert code == 0 and secret not in out and "***" in out


def test_finsms_link_test_reports_a_link_that_does_not_come_up(
    finsms: Any, switchable: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.VALIDATORS["switchable"] = lambda options: options
    try:
        assert finsms("link", "add", "down", "--kind", "switchable", "--operators", "0")[0] == 0
    finally:
        del registry.VALIDATORS["switchable"]
    monkeypatch.setattr(Switchable, "up", False)
    code, out, _ = finsms("link", "test", "down", "--timeout", "0.2")
    assert code == 1 and out.startswith("down: failed in ") and "not bound within 0.2 s" in out
