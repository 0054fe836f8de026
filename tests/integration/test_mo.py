"""MO messages on SQLite and PostgreSQL: stored once whoever delivers them, listed over
the Node API to their user (and a reseller above it), opt-outs recorded; the simulator's
replies reach the listing through a dispatcher pass."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from service.delivery.carriers.registry import make_dispatcher
from service.delivery.carriers.simulator import SimulatorCarrier
from service.domain.carrier import InboundMessage
from service.domain.constants import UserType
from service.domain.errors import DomainError
from service.services import mo, users
from service.services.clock import FixedClock
from service.store.schema import mo_messages, mo_optouts
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, call, count, principal

T0 = datetime(2026, 5, 4, 9, 0)  # 12:00 in Istanbul


def inbound(text: str, ref: str, to: str = "2222", at: datetime = T0) -> InboundMessage:
    return InboundMessage("905321234567", to, text, at, "sim", ref)


@pytest.fixture
def acme(platform: SqlPlatform) -> SqlPlatform:
    add_customer(platform, "acme")
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "İPTAL")
    return platform


def test_mo_is_listed_with_every_documented_field(acme: SqlPlatform) -> None:
    mo.receive(acme, [inbound("IPTAL lütfen", "r1")])
    data = call(acme, principal(acme, "acme"), "mo/list-request")
    assert data["stats"] == {"totalRecord": 1}
    (row,) = data["list"]
    user = users.get_user(acme, "acme")
    assert row["gsm"] == 905321234567 and row["shortNr"] == 2222  # numbers, as the vendor's
    assert (row["msg"], row["state"], row["keyword"], row["exitType"]) == (
        "IPTAL lütfen",
        2,
        "iptal",
        1,
    )
    assert row["userInfo"] == {"uuid": user.uuid, "username": "acme"}
    assert row["date"] == "2026-05-04T12:00:00" == row["processInfo"]["create"]["date"]
    assert set(row) >= {"uuid", "gsm", "msg", "state", "keyword", "shortNr", "userInfo"}
    assert count(acme, mo_optouts) == 1


def test_get_mo_is_the_same_list(acme: SqlPlatform) -> None:
    mo.receive(acme, [inbound("merhaba", "r1"), inbound("IPTAL", "r2")])
    me = principal(acme, "acme")
    assert call(acme, me, "sms/get-mo", pageSize=10) == call(
        acme, me, "mo/list-request", pageSize=10
    )


def test_a_redelivery_is_stored_once_also_when_it_races(acme: SqlPlatform) -> None:
    batch = [inbound("IPTAL", f"r{n}") for n in range(20)]
    results: list[Any] = []
    barrier = threading.Barrier(3)

    def deliver() -> None:
        barrier.wait()
        results.append(mo.receive(acme, batch))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r.stored for r in results) == 20
    assert sum(r.duplicates for r in results) == 40
    assert count(acme, mo_messages) == 20 and count(acme, mo_optouts) == 1


def test_unknown_destinations_are_kept_with_no_user(acme: SqlPlatform) -> None:
    result = mo.receive(acme, [inbound("IPTAL", "r1", to="9999")])
    assert (result.stored, result.unrouted) == (1, 1)
    assert count(acme, mo_messages, mo_messages.c.user_id.is_(None)) == 1
    assert call(acme, principal(acme, "acme"), "mo/list-request")["list"] == []


def test_listing_filters_and_pages(acme: SqlPlatform) -> None:
    mo.receive(
        acme,
        [inbound(f"mesaj {n}", f"r{n}", at=T0 + timedelta(minutes=n)) for n in range(25)]
        + [inbound("İptal", "x", at=T0 + timedelta(days=1))],
    )
    me = principal(acme, "acme")

    def texts(**fields: Any) -> list[str]:
        return [row["msg"] for row in call(acme, me, "mo/list-request", **fields)["list"]]

    assert texts(keyword="IPTAL") == ["İptal"]  # the matched keyword
    assert texts(keyword="mesaj 7") == ["mesaj 7"]  # the text
    assert len(texts(keyword="5321234")) == 26  # the number
    assert texts(startDate="2026-05-05 00:00") == ["İptal"]  # local time
    assert texts(finishDate="2026-05-04 12:01") == ["mesaj 1", "mesaj 0"]
    first, second = texts(pageSize=10), texts(pageSize=10, pageIndex=1)
    assert first[0] == "İptal" and len(first) == len(second) == 10 and not set(first) & set(second)
    data = call(acme, me, "mo/list-request", pageSize=10, pageIndex=2)
    assert data["stats"]["totalRecord"] == 26 and len(data["list"]) == 6


@pytest.mark.parametrize(
    "fields, code, field",
    [
        ({"pageSize": 5}, "ERR_INVALID_PARAM", "pageSize"),
        ({"pageIndex": -1}, "ERR_INVALID_PARAM", "pageIndex"),
        ({"startDate": "dün"}, "ERR_INVALID_PARAM", "startDate"),
        ({"startDate": "2026-05-04", "finishDate": "2026-05-01"}, "ERR_INVALID_DATE_RANGE", None),
        ({"userUUID": "no-such-user"}, "ERR_USER_NOT_FOUND", "userUUID"),
        ({"keyword": "x" * 2001}, "ERR_INVALID_PARAM", "keyword"),
    ],
)
def test_bad_filters_are_refused_with_their_code(
    acme: SqlPlatform, fields: dict[str, Any], code: str, field: str | None
) -> None:
    for path in ("mo/list-request", "sms/get-mo"):
        with pytest.raises(DomainError) as excinfo:
            call(acme, principal(acme, "acme"), path, **fields)
        assert (excinfo.value.err.name, excinfo.value.field) == (code, field)


def test_a_reseller_reaches_a_descendants_mo_and_no_one_elses(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    users.create_user(platform, "altbayi", PASSWORD, UserType.SUB_RESELLER, "bayi")
    users.create_user(platform, "rakip", PASSWORD, UserType.RESELLER)
    musteri = add_customer(platform, "musteri", parent="altbayi")
    komsu = add_customer(platform, "komsu", parent="bayi", sender="KOMSU")
    mo.add_number(platform, "musteri", "2222")
    mo.add_number(platform, "komsu", "3333")
    mo.receive(platform, [inbound("a", "r1"), inbound("b", "r2", to="3333")])

    def msgs(viewer: str, target: Any = None) -> list[str]:
        fields = {"userUUID": target.uuid} if target else {}
        data = call(platform, principal(platform, viewer), "mo/list-request", **fields)
        return [row["msg"] for row in data["list"]]

    assert msgs("bayi", musteri) == ["a"] == msgs("altbayi", musteri) == msgs("musteri")
    assert msgs("bayi", komsu) == ["b"]
    assert msgs("bayi") == []  # its own listing never mixes in its customers'
    for viewer, target in (("komsu", musteri), ("rakip", musteri), ("musteri", komsu)):
        with pytest.raises(DomainError) as caught:
            msgs(viewer, target)
        assert caught.value.err.name == "ERR_USER_NOT_FOUND"


def test_the_simulators_mo_is_listed_after_a_dispatcher_pass(db: Database) -> None:
    platform = make_platform(db, simulator_rules="4567=optout", clock=FixedClock(T0))
    add_customer(platform, "acme")
    mo.add_number(platform, "acme", "ACME")  # replies to the sender title come to acme
    mo.add_keyword(platform, "acme", "iptal")
    me = principal(platform, "acme")
    call(platform, me, "sms/create", **SMS, numbers=["905321234567", "905321110000"])
    dispatcher = make_dispatcher(platform)
    (simulator,) = dispatcher.router.carriers
    assert isinstance(simulator, SimulatorCarrier)
    simulator.inject("905321110000", "acme", "Bilgi almak istiyorum")
    dispatcher.drain()
    rows = call(platform, me, "mo/list-request")["list"]
    assert {(r["gsm"], r["msg"], r["state"], r["shortNr"]) for r in rows} == {
        (905321234567, "IPTAL", 2, "ACME"),
        (905321110000, "Bilgi almak istiyorum", -1, "ACME"),
    }
    assert [o.number for o in mo.optouts(platform, "acme")] == ["905321234567"]
    dispatcher.drain()  # nothing new: the replies are not stored twice
    assert count(platform, mo_messages) == 2


def test_numbers_and_keywords_are_unique_where_the_spec_says(acme: SqlPlatform) -> None:
    add_customer(acme, "rival", sender="RIVAL")
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: mo.add_number(acme, "rival", "2222"), "ERR_MO_ALREADY_EXISTS"),
        (lambda: mo.add_keyword(acme, "acme", "iptal"), "ERR_MO_KEYWORD_ALREADY_EXISTS"),
        (lambda: mo.remove_number(acme, "rival", "2222"), "ERR_MO_NOT_FOUND"),
        (lambda: mo.remove_keyword(acme, "rival", "iptal"), "ERR_MO_NOT_FOUND"),
    ]
    for call_, code in refused:
        with pytest.raises(DomainError) as excinfo:
            call_()
        assert excinfo.value.err.name == code
    mo.add_keyword(acme, "rival", "IPTAL")  # keywords are per user
    mo.remove_number(acme, "acme", "2222")
    mo.add_number(acme, "rival", "2222")  # free again
    assert [n.number for n in mo.numbers(acme, "rival")] == ["2222"]
    assert mo.keywords(acme, "rival") == ["iptal"] == mo.keywords(acme, "acme")
