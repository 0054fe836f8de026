"""Sending to contact groups and the clients' {nr, cfs} form over JSON, through a live
server on SQLite and PostgreSQL: what a client sends, byte for byte, and what it reads back."""

from __future__ import annotations

from service.domain.constants import PackageState
from tests.conftest import LiveServer, add_customer
from tests.e2e.conftest import Api
from tests.e2e.test_json_api import VENDOR_PHP_CREATE

A, B, C = "905321111101", "905321111102", "905441111103"


def messages(api: Api, pkg: int) -> dict[str, str | None]:
    return {i["target"]: i["msg"] for i in api.data("/sms/list-item", {"pkgID": pkg})["list"]}


def test_custom_fields_client_request_fills_each_recipient(book: Api) -> None:
    # The client's request (clients.md): sendingType 1, [{nr, cfs}] and customFields.
    body = {
        **VENDOR_PHP_CREATE,
        "content": "Sayın FIRST_NAME LAST_NAME, son ödeme SON_ODEME.",
        "numbers": [
            {"nr": A, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya", "SON_ODEME": "5 Mart"}},
            {"nr": int(B), "cfs": {"FIRST_NAME": "Ali", "SON_ODEME": "6 Mart"}},
        ],
        "customFields": ["FIRST_NAME", "LAST_NAME", "SON_ODEME"],
    }
    pkg = book.data("/sms/create", body)["pkgID"]
    assert messages(book, pkg) == {
        A: "Sayın Ayşe Kaya, son ödeme 5 Mart.",
        B: "Sayın Ali , son ödeme 6 Mart.",  # LAST_NAME declared, not given: emptied
    }


def test_group_package_over_json_and_its_recreate(book: Api, any_server: LiveServer) -> None:
    top = book.data("/contact/create-group", {"title": "Müşteriler"})["uuid"]
    sub = book.data("/contact/create-group", {"title": "İzmir", "parentUUID": top})["uuid"]
    book.data("/contact/create", {"gsm": A, "firstName": "Ayşe", "groupUUIDs": [sub]})
    body = {
        "type": 1,
        "sendingType": 1,
        "title": "Grup gönderimi",
        "content": "Merhaba FIRST_NAME",
        "sender": "ACME",
        "groupUUIDs": [top],
        "numbers": [C],
    }
    pkg = book.data("/sms/create", body)["pkgID"]
    assert messages(book, pkg) == {A: "Merhaba Ayşe", C: None}
    book.data("/contact/create", {"gsm": B, "firstName": "Ali", "groupUUIDs": [sub]})
    err = book.error("/sms/recreate", {"id": pkg, "title": "Tekrar", "includeNewNumbers": True})
    assert err["code"] == "ERR_SMS_PKG_NOT_CHANGEABLE"  # not finished yet: nothing made
    platform = any_server.platform
    with platform.uow.write() as tx:  # as if every message had been delivered
        tx.packages.set_state(pkg, PackageState.COMPLETED, platform.clock.now())
    again = book.data("/sms/recreate", {"id": pkg, "title": "Tekrar", "includeNewNumbers": True})
    assert messages(book, again["pkgID"]) == {A: "Merhaba Ayşe", C: None, B: "Merhaba Ali"}


def test_group_errors_over_json(book: Api, any_server: LiveServer) -> None:
    empty = book.data("/contact/create-group", {"title": "Boş"})["uuid"]
    add_customer(any_server.platform, "rakip", 10, "RAKIP")
    theirs = Api(any_server.url, "rakip").data("/contact/create-group", {"title": "Gizli"})
    body = {"type": 1, "sendingType": 1, "title": "Grup", "content": "x", "sender": "ACME"}
    err = book.error("/sms/create", {**body, "groupUUIDs": [theirs["uuid"]]})
    assert (err["code"], err["status"]) == ("ERR_PARENT_CONTACT_GROUP_NOT_FOUND", 404)
    err = book.error("/sms/create", {**body, "groupUUIDs": [empty]})
    assert err["code"] == "ERR_EMPTY_SMS_PACKAGE"
    assert book.data("/user/credit")["credit"] == 1000
