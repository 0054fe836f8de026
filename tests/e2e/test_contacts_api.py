"""The /contact/* functions over JSON through a live server, on SQLite and PostgreSQL,
and the IP allow-list as clients meet it (directly and behind a trusted proxy)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.delivery.iys.simulator import SimulatedIys
from service.domain.constants import IysSource
from service.domain.iys import ConsentStatus
from service.services import allowlist, iys
from tests.conftest import Database, LiveServer, add_customer, make_platform, start_server
from tests.e2e.conftest import Api

A, B, C = "905321111101", "905321111102", "905441111103"


def test_contact_lifecycle(book: Api) -> None:
    group = book.data("/contact/create-group", {"title": "A Grubu"})
    assert group["stats"] == {"contactCount": 0} and group["parentInfo"] is None
    made = book.data(
        "/contact/create",
        {
            "gsm": 5321111101,
            "firstName": "Zafer",
            "lastName": "Altun",
            "details": {"GSM_2": "905001234567", "SEHIR": "Ankara"},
            "groupUUIDs": [group["uuid"]],
            "iys": {"c": 0, "src": 7, "send": False},
        },
    )
    assert made["gsm"] == A and made["isInBlacklist"] == 0
    assert made["groups"] == [{"uuid": group["uuid"], "title": "A Grubu"}]
    assert made["iys"] == {"st": -1, "c": 0, "src": 7}
    assert book.data("/contact/update", {"uuid": made["uuid"], "lastName": "Yılmaz"}) == {
        "status": 1
    }
    (row,) = book.data("/contact/list", {"groupUUID": group["uuid"]})["list"]
    assert (row["firstName"], row["lastName"], row["details"]["SEHIR"]) == (
        "Zafer",
        "Yılmaz",
        "Ankara",
    )
    assert book.data("/contact/delete", {"uuids": [made["uuid"]]}) == {"status": 1}
    assert book.data("/contact/list")["stats"]["totalRecord"] == 0
    restored = book.data("/contact/create", {"gsm": A})
    assert restored["uuid"] == made["uuid"] and restored["groups"] is None
    book.data("/contact/delete", {"uuids": [made["uuid"]], "permanent": 1})
    assert book.data("/contact/create", {"gsm": A})["uuid"] != made["uuid"]


def test_contact_errors(book: Api) -> None:
    book.data("/contact/create", {"gsm": A})
    assert (
        book.error("/contact/create", {"gsm": "0" + A[2:]})["code"] == "ERR_CONTACT_ALREADY_EXISTS"
    )
    err = book.error("/contact/create", {"gsm": "123"})
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", "gsm")
    err = book.error("/contact/create", {"gsm": B, "details": {"ŞEHİR": "x"}})
    assert err["code"] == "ERR_INVALID_PARAM"
    assert book.error("/contact/update", {"uuid": "nope", "firstName": "x"})["status"] == 404
    err = book.error("/contact/create", {"gsm": B, "groupUUIDs": ["nope"]})
    assert err["code"] == "ERR_PARENT_CONTACT_GROUP_NOT_FOUND"
    assert book.data("/contact/list")["stats"]["totalRecord"] == 1  # nothing half-written


def test_groups_sub_groups_and_their_errors(book: Api) -> None:
    book.data("/contact/create", {"gsm": A})
    parent = book.data("/contact/create-group", {"title": "Ana"})
    child = book.data(
        "/contact/create-group", {"title": "Alt", "parentUUID": parent["uuid"], "gsms": [A, B]}
    )
    assert child["parentInfo"] == {"uuid": parent["uuid"], "title": "Ana"}
    assert child["stats"]["contactCount"] == 1  # B is no contact: not linked
    codes = [
        book.error("/contact/create-group", {"title": "Ana"})["code"],
        book.error("/contact/create-group", {"title": "X", "parentUUID": "nope"})["code"],
        book.error("/contact/create-group", {"title": "Y", "parentUUID": child["uuid"]})["code"],
    ]
    assert codes == [
        "ERR_CONTACT_GROUP_ALREADY_EXISTS",
        "ERR_PARENT_CONTACT_GROUP_NOT_FOUND",
        "ERR_PARENT_CONTACT_GROUP_NOT_EMPTY",
    ]
    book.data("/contact/update-group", {"uuid": parent["uuid"], "title": "Ana Grup"})
    listed = book.data("/contact/list-group", {"keyword": "grup"})["list"]
    assert [(g["title"], g["isParent"]) for g in listed] == [("Ana Grup", 1)]
    children = book.data("/contact/list-group", {"parentUUID": parent["uuid"]})["list"]
    assert [g["title"] for g in children] == ["Alt"]
    book.data("/contact/delete-group", {"uuids": [parent["uuid"]], "includeContacts": True})
    assert book.data("/contact/list-group")["stats"]["totalRecord"] == 0
    assert book.data("/contact/list")["stats"]["totalRecord"] == 0


def test_set_blacklist_and_the_list_filters(book: Api) -> None:
    made = book.data("/contact/create", {"gsm": A})
    assert book.data(
        "/contact/set-blacklist", {"status": True, "uuids": [made["uuid"]], "gsms": [C]}
    )
    black = book.data("/contact/list", {"status": 2, "exitType": "WEB"})["list"]
    assert [(c["gsm"], c["isInBlacklist"]) for c in black] == [(A, 1), (C, 1)]
    err = book.error("/contact/set-blacklist", {"status": True, "gsms": [B, "12"]})
    assert err["code"] == "ERR_INVALID_PARAM"
    assert book.data("/contact/list", {"status": 1})["stats"]["totalRecord"] == 0  # B unwritten
    data = book.data(
        "/contact/set-blacklist", {"status": True, "gsms": [B, "12"], "returnInvalids": True}
    )
    assert data == {"status": 1, "invalids": ["12"]}
    many = [f"90532{i:07d}" for i in range(1001)]
    err = book.error("/contact/set-blacklist", {"status": True, "gsms": many})
    assert (err["code"], err["smsCode"]) == ("ERR_REQUEST_PARAM_LIMIT", "SMS43")
    book.data("/contact/set-blacklist", {"status": False, "gsms": [A]})
    assert [c["gsm"] for c in book.data("/contact/list", {"status": 1})["list"]] == [A]
    assert book.error("/contact/list", {"pageSize": 5})["field"] == "pageSize"


def test_commercial_package_skips_blacklisted_numbers(any_server: LiveServer, book: Api) -> None:
    platform = any_server.platform  # consent first: commercial packages need it (İYS)
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    for number in (A, B, C):
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "w1")
    book.data("/contact/set-blacklist", {"status": True, "gsms": [B]})
    body = {
        "type": 1,
        "sendingType": 1,
        "title": "Kampanya",
        "content": "Indirim",
        "sender": "ACME",
    }
    pkg = book.data("/sms/create", {**body, "numbers": [A, B, C], "commercial": True})["pkgID"]
    items = book.data("/sms/list-item", {"pkgID": pkg})["list"]
    assert sorted(i["target"] for i in items) == [A, C]
    (package,) = book.data("/sms/list", {"ids": [pkg]})["list"]
    assert package["statistics"]["rCount"] == 2 and package["statistics"]["invalid"] == 1
    assert package["statistics"]["credit"] == 2
    err = book.error("/sms/create", {**body, "numbers": [B], "commercial": True})
    assert err["code"] == "ERR_EMPTY_SMS_PACKAGE"


def test_deletes_need_an_allow_list(any_server: LiveServer) -> None:
    add_customer(any_server.platform, "acme", 0, None)
    api = Api(any_server.url, "acme")
    group = api.data("/contact/create-group", {"title": "G"})
    made = api.data("/contact/create", {"gsm": A})
    for path, body in (
        ("/contact/delete", {"uuids": [made["uuid"]]}),
        ("/contact/delete-group", {"uuid": group["uuid"]}),
    ):
        err = api.error(path, body)
        assert (err["code"], err["status"]) == ("ERR_USER_NOT_AUTHORIZED", 403)
    assert api.data("/contact/list")["stats"]["totalRecord"] == 1


def test_another_users_contacts_are_not_found(any_server: LiveServer) -> None:
    for name in ("alice", "bob"):
        add_customer(any_server.platform, name, 0, None)
        allowlist.allow_ip(any_server.platform, name, "127.0.0.1")
    alice, bob = Api(any_server.url, "alice"), Api(any_server.url, "bob")
    made = alice.data("/contact/create", {"gsm": A})
    group = alice.data("/contact/create-group", {"title": "G"})
    assert (
        bob.error("/contact/delete", {"uuids": [made["uuid"]]})["code"] == "ERR_CONTACT_NOT_FOUND"
    )
    assert bob.error("/contact/update", {"uuid": made["uuid"], "gsm": B})["status"] == 404
    err = bob.error("/contact/delete-group", {"uuid": group["uuid"]})
    assert err["code"] == "ERR_PARENT_CONTACT_GROUP_NOT_FOUND"
    assert bob.error("/contact/list", {"groupUUID": group["uuid"]})["status"] == 404
    assert bob.data("/contact/list")["stats"]["totalRecord"] == 0
    assert bob.data("/contact/create", {"gsm": A})["uuid"] != made["uuid"]  # books are apart


def test_allow_list_refuses_every_request_from_elsewhere(any_server: LiveServer) -> None:
    add_customer(any_server.platform, "acme", 10, None)
    allowlist.allow_ip(any_server.platform, "acme", "10.0.0.0/24")
    err = Api(any_server.url, "acme").error("/user/credit")
    assert (err["code"], err["status"]) == ("ERR_USER_NOT_AUTHORIZED", 403)
    allowlist.deny_ip(any_server.platform, "acme", "10.0.0.0/24")
    assert Api(any_server.url, "acme").data("/user/credit") == {"credit": 10}


@pytest.fixture
def proxied(sqlite_db: Database) -> Iterator[LiveServer]:
    """A live server behind one trusted proxy hop (FINSMS_TRUSTED_PROXIES=1)."""
    platform = make_platform(sqlite_db, trusted_proxies=1)
    server = start_server(platform)
    yield server
    server.close()


def test_allow_list_behind_a_trusted_proxy_reads_x_forwarded_for(proxied: LiveServer) -> None:
    add_customer(proxied.platform, "acme", 10, None)
    allowlist.allow_ip(proxied.platform, "acme", "203.0.113.7")
    api = Api(proxied.url, "acme")
    ok = api.post("/user/credit", headers={"X-Forwarded-For": "203.0.113.7"}).json()
    assert ok["data"] == {"credit": 10}
    refused = api.post("/user/credit", headers={"X-Forwarded-For": "198.51.100.1"}).json()
    assert refused["err"]["code"] == "ERR_USER_NOT_AUTHORIZED"


def test_contact_functions_exist_for_get_where_the_spec_says(book: Api) -> None:
    assert book.get("/contact/list", params={"pageSize": 10}).json()["err"] is None
    assert book.get("/contact/list-group").json()["err"] is None
    assert book.get("/contact/create").status_code == 405
