"""KVKK consent links without a database: tokens, the text as sent and its parts, the
request's required fields, and the service on the in-memory unit of work (links written
with their package, expiry, one answer, the consent handed to the sink)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from service.api.node.params import Params
from service.api.node.requests import parse_kvkk
from service.config import Settings
from service.domain import encoding as enc
from service.domain import kvkk as rules
from service.domain.constants import Encoding, SenderState, UserType
from service.domain.errors import DomainError, Err
from service.domain.kvkk import KvkkRequest, LinkState
from service.domain.principal import Principal
from service.services import credit, kvkk, senders, users
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.services.ports import Tx
from service.store.memory import MemoryUnitOfWork

NOW = datetime(2026, 3, 2, 8, 0)
NUMBER = "905321234567"
BASE = "https://sms.example.com.tr"
EXAMPLE = (
    "Merhaba FIRST_NAME LAST_NAME, bu bir test mesajidir, IYS kapsamindaki KVKK izin "
    "linki SHORT_LINK."
)


def request(content: str = EXAMPLE, **fields: Any) -> KvkkRequest:
    values: dict[str, Any] = dict(
        number=NUMBER,
        first_name="Ayşe",
        last_name="Kaya",
        sender="ACME",
        content=content,
        encoding=int(Encoding.DEFAULT),
        validity=1440,
        push_url=None,
    )
    values.update(fields)
    return KvkkRequest(**values)


# --- tokens and links ------------------------------------------------------------------


def test_token_is_ten_base62_characters_with_at_least_59_bits() -> None:
    tokens = {kvkk.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(rules.is_token(t) and len(t) == rules.TOKEN_LENGTH for t in tokens)
    assert set("".join(tokens)) <= set(rules.TOKEN_ALPHABET)
    assert len(set(rules.TOKEN_ALPHABET)) == 62
    assert rules.TOKEN_LENGTH * math.log2(62) >= 59


def test_token_draws_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []

    def choice(alphabet: str) -> str:
        drawn.append(alphabet)
        return "z"

    monkeypatch.setattr("secrets.choice", choice)
    assert kvkk.new_token() == "z" * 10 and drawn == [rules.TOKEN_ALPHABET] * 10


@pytest.mark.parametrize("value", ["", "AAAAAAAAA", "AAAAAAAAAAA", "AAAAAAAAA-", "kısakısakı"])
def test_only_token_shaped_strings_are_tokens(value: str) -> None:
    assert not rules.is_token(value)


def test_link_is_the_public_url_slash_k_slash_token() -> None:
    assert rules.link_url(BASE + "/", "Ab3dE5gH9k") == f"{BASE}/k/Ab3dE5gH9k"


def test_names_and_link_are_filled_in_one_pass() -> None:
    req = request("FIRST_NAME LAST_NAME: SHORT_LINK", first_name="SHORT_LINK", last_name="X")
    assert rules.fill_text(req, "L") == "SHORT_LINK X: L"


# --- parts: the text is priced as sent ------------------------------------------------


def test_the_vendor_example_with_a_link_is_one_part() -> None:
    text = rules.fill_text(request(), rules.link_url(BASE, "Ab3dE5gH9k"))
    assert len(text) == 115
    assert enc.parts(text, Encoding.DEFAULT) == 1


def test_the_link_costs_exactly_its_length_in_septets() -> None:
    link = rules.link_url(BASE, "Ab3dE5gH9k")
    assert len(link) == len(BASE) + 13
    with_link = enc.segment(rules.fill_text(request(), link), Encoding.DEFAULT)
    same_length = enc.segment(rules.fill_text(request(), "x" * len(link)), Encoding.DEFAULT)
    assert (with_link.units, with_link.parts) == (same_length.units, same_length.parts)


@pytest.mark.parametrize("encoding", [Encoding.DEFAULT, Encoding.TURKISH])
def test_a_link_is_gsm7_and_never_upgrades_the_text_to_ucs2(encoding: Encoding) -> None:
    link = rules.link_url(BASE, "".join(sorted(rules.TOKEN_ALPHABET))[:10])
    seg = enc.segment(f"İzin linki {link}", encoding)
    assert not seg.upgraded and seg.effective == encoding


# --- the request's required fields ----------------------------------------------------


def body(**fields: Any) -> Params:
    values: dict[str, Any] = {
        "number": {"nr": NUMBER, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}},
        "sender": "ACME",
        "content": EXAMPLE,
    }
    values.update(fields)
    return Params(values)


def named(**cfs: Any) -> dict[str, Any]:
    """A `number` object with these custom fields."""
    return {"number": {"nr": NUMBER, "cfs": cfs}}


def test_request_reads_number_names_and_text() -> None:
    number = {"nr": 5321234567, "cfs": {"first_name": " Ayşe  Nur ", "LAST_NAME": "K"}}
    req = parse_kvkk(body(number=[number]))
    assert (req.number, req.first_name) == (NUMBER, "Ayşe Nur")


INVALID, FIRST = Err.ERR_INVALID_PARAM, "number.cfs.FIRST_NAME"


@pytest.mark.parametrize(
    ("fields", "err", "field"),
    [
        (named(LAST_NAME="K"), INVALID, FIRST),
        (named(FIRST_NAME="A"), INVALID, "number.cfs.LAST_NAME"),
        (named(FIRST_NAME=" ", LAST_NAME="K"), INVALID, FIRST),
        (named(FIRST_NAME=["A"], LAST_NAME="K"), INVALID, FIRST),
        (named(FIRST_NAME="A" * 51, LAST_NAME="K"), INVALID, FIRST),
        ({"number": {"nr": NUMBER}}, INVALID, FIRST),
        ({"number": NUMBER}, INVALID, "number"),
        ({"number": {"nr": "123", "cfs": {}}}, Err.ERR_EMPTY_SMS_PACKAGE, "number.nr"),
        ({"content": "Merhaba FIRST_NAME"}, INVALID, "content"),
        ({"content": None}, INVALID, "content"),
        ({"validity": 5}, INVALID, "validity"),
    ],
)
def test_missing_or_bad_fields_are_named(fields: dict[str, Any], err: Err, field: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        parse_kvkk(body(**fields))
    assert (excinfo.value.err, excinfo.value.field) == (err, field)


# --- the service on the in-memory unit of work ------------------------------------------


@dataclass
class World:
    platform: Platform
    uow: MemoryUnitOfWork
    clock: FixedClock
    acme: Principal

    def links(self) -> list[rules.KvkkLink]:
        return list(self.uow.db.extra.get("kvkk_links", {}).values())


def world(**settings: Any) -> World:
    config = dict(argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit", public_url=BASE)
    uow, clock = MemoryUnitOfWork(), FixedClock(NOW)
    platform = Platform(Settings(**{**config, **settings}), uow=uow, clock=clock)
    users.create_user(platform, "acme", "password", UserType.STANDARD)
    credit.mint(platform, "acme", 10)
    senders.add_sender(platform, "acme", "ACME", SenderState.APPROVED)
    return World(platform, uow, clock, platform.auth.principal_of("acme"))


@pytest.fixture
def w() -> World:
    return world()


def test_create_writes_the_package_and_its_link_together(w: World) -> None:
    pkg_id = kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    (item,) = [i for i in w.uow.db.items.values() if i.package_id == pkg_id]
    assert item.msg == rules.fill_text(request(), f"{BASE}/k/Ab3dE5gH9k")
    (link,) = w.links()
    assert (link.token, link.package_id, link.number, link.sender) == (
        "Ab3dE5gH9k",
        pkg_id,
        NUMBER,
        "ACME",
    )
    assert (link.first_name, link.last_name, link.user_id) == ("Ayşe", "Kaya", w.acme.user_id)
    assert link.expires_at == NOW + timedelta(days=30)
    assert credit.balance(w.platform, w.acme) == 9


def test_package_is_priced_with_the_link_substituted(w: World) -> None:
    # 150 characters with the 10-character tag: one part; with the 40-character link, two.
    content = "Merhaba FIRST_NAME LAST_NAME " + "x" * 111 + "SHORT_LINK"
    assert enc.parts(content, Encoding.DEFAULT) == 1
    kvkk.create(w.platform, w.acme, request(content), tokens=lambda: "Ab3dE5gH9k")
    (item,) = w.uow.db.items.values()
    assert item.msg is not None and enc.parts(item.msg, Encoding.DEFAULT) == 2
    assert (item.parts, item.credit) == (2, 2)
    assert credit.balance(w.platform, w.acme) == 8


def test_a_taken_token_is_drawn_again(w: World) -> None:
    draws: Iterator[str] = iter(["Ab3dE5gH9k", "Ab3dE5gH9k", "Zz9yX8wV7u"])
    kvkk.create(w.platform, w.acme, request(), tokens=lambda: next(draws))
    # Another recipient: the same text to the same number would be a duplicate first.
    other = request(number="905321234568")
    second = kvkk.create(w.platform, w.acme, other, tokens=lambda: next(draws))
    assert sorted(link.token for link in w.links()) == ["Ab3dE5gH9k", "Zz9yX8wV7u"]
    assert len(w.uow.db.packages) == 2 and second in w.uow.db.packages


@pytest.mark.parametrize("setting", ["public_url", "secret_key"])
def test_unconfigured_server_refuses_and_writes_nothing(setting: str) -> None:
    w = world(**{setting: ""})
    with pytest.raises(DomainError) as excinfo:
        kvkk.create(w.platform, w.acme, request())
    assert excinfo.value.err is Err.ERR_USER_NOT_AUTHORIZED
    assert f"FINSMS_{setting.upper()}" in excinfo.value.message
    assert not w.uow.db.packages and not w.links()


def test_refused_package_leaves_no_link(w: World) -> None:
    with pytest.raises(DomainError) as excinfo:
        kvkk.create(w.platform, w.acme, request(sender="NOPE"))
    assert excinfo.value.err is Err.ERR_INVALID_SMS_SENDER
    assert not w.uow.db.packages and not w.links()


def test_link_is_open_until_it_expires(w: World) -> None:
    kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    w.clock.advance(days=30, seconds=-1)
    assert kvkk.open_link(w.platform, "Ab3dE5gH9k").state is LinkState.OPEN
    w.clock.advance(seconds=1)
    assert kvkk.open_link(w.platform, "Ab3dE5gH9k").state is LinkState.EXPIRED
    after = kvkk.answer(w.platform, "Ab3dE5gH9k", True, "10.0.0.1", "UA")
    assert after.state is LinkState.EXPIRED and after.link.answer is None


def test_expiry_follows_the_setting() -> None:
    w = world(kvkk_link_days=2)
    kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    assert w.links()[0].expires_at == NOW + timedelta(days=2)


@pytest.mark.parametrize("token", ["AAAAAAAAAA", "Ab3dE5gH9", "../../etc"])
def test_unknown_or_forged_token_is_not_found(w: World, token: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        kvkk.open_link(w.platform, token)
    assert excinfo.value.err is Err.ERR_NOT_FOUND


class Recorded:
    """A ConsentSink that keeps what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def record(
        self, tx: Tx, user_id: int, number: str, approved: bool, source: str, at: datetime
    ) -> None:
        self.calls.append((user_id, number, approved, source, at))


def test_answer_is_recorded_once_and_handed_to_the_sink(w: World) -> None:
    kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    sink = Recorded()
    w.clock.advance(hours=1)
    first = kvkk.answer(w.platform, "Ab3dE5gH9k", False, "10.0.0.1", "UA/1", sink=sink)
    assert first.state is LinkState.ANSWERED and first.link.answer == "refused"
    assert (first.link.client_address, first.link.user_agent) == ("10.0.0.1", "UA/1")
    w.clock.advance(hours=1)
    second = kvkk.answer(w.platform, "Ab3dE5gH9k", True, "10.0.0.2", "UA/2", sink=sink)
    assert second.link.answer == "refused" and second.link.client_address == "10.0.0.1"
    assert sink.calls == [(w.acme.user_id, NUMBER, False, "HS_WEB", NOW + timedelta(hours=1))]


def test_default_sink_stamps_the_source_on_the_link(w: World) -> None:
    kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    opened = kvkk.answer(w.platform, "Ab3dE5gH9k", True, None, "x" * 1000)
    assert opened.link.consent_source == "HS_WEB" and opened.link.answer == "approved"
    assert opened.link.user_agent == "x" * kvkk.USER_AGENT_MAX


def test_a_failing_sink_undoes_the_answer(w: World) -> None:
    class Broken(Recorded):
        def record(self, *args: Any) -> None:
            raise RuntimeError("İYS down")

    kvkk.create(w.platform, w.acme, request(), tokens=lambda: "Ab3dE5gH9k")
    with pytest.raises(RuntimeError):
        kvkk.answer(w.platform, "Ab3dE5gH9k", True, None, None, sink=Broken())
    assert kvkk.open_link(w.platform, "Ab3dE5gH9k").state is LinkState.OPEN
