"""The contact functions over SOAP, the vendor's way (raw envelopes) and across protocols:
what is written over one shows over the other, with the same keys and the same errors."""

from __future__ import annotations

from service.services import allowlist
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import VENDOR_USER, SoapServer
from tests.e2e.soap.helpers import err_of, same_as_json
from tests.e2e.soap.test_cross_protocol import call, soap

A, B = "905511034554", "905433404971"


def test_contact_created_over_soap_is_listed_over_json(
    soap_server: SoapServer, json_api: Api
) -> None:
    group = call(soap_server, "createContactGroup", "<title>SOAP Grubu</title>")
    made = call(
        soap_server,
        "createContact",
        f"<gsm>{A}</gsm><firstName>Zafer</firstName>"
        "<details><GSM_2>905001234567</GSM_2><SEHIR>Ankara</SEHIR></details>"
        f"<groupUUIDs><item>{group['uuid']}</item></groupUUIDs>"
        "<isInBlacklist>false</isInBlacklist><iys><c>0</c><src>7</src><send>true</send></iys>",
    )
    assert made["gsm"] == A and made["details"] == {"GSM_2": "905001234567", "SEHIR": "Ankara"}
    (row,) = json_api.data("/contact/list", {"groupUUID": group["uuid"]})["list"]
    assert row["uuid"] == made["uuid"] and row["iys"]["st"] == -1
    assert same_as_json(made, row)


def test_every_json_key_of_the_listings_is_carried_by_soap(
    soap_server: SoapServer, json_api: Api
) -> None:
    group = json_api.data("/contact/create-group", {"title": "G"})
    json_api.data("/contact/create-group", {"title": "Alt", "parentUUID": group["uuid"]})
    json_api.data("/contact/create", {"gsm": A, "details": {"X": "1"}})
    json_api.data("/contact/set-blacklist", {"status": True, "gsms": [B]})
    pairs = [
        ("/contact/list", {}, "getContacts", ""),
        ("/contact/list", {"status": 2}, "getContacts", "<status>2</status>"),
        ("/contact/list-group", {}, "getContactGroups", ""),
    ]
    for path, body, op, xml in pairs:
        json_data = json_api.data(path, body)
        assert json_data["stats"]["totalRecord"] >= 1
        assert same_as_json(call(soap_server, op, xml), json_data), op


def test_blacklist_deletes_and_errors_over_soap(soap_server: SoapServer, json_api: Api) -> None:
    made = json_api.data("/contact/create", {"gsm": A})
    data = call(
        soap_server,
        "setContactBlacklist",
        f"<status>true</status><uuids><item>{made['uuid']}</item></uuids>"
        "<gsms><item>12</item></gsms><returnInvalids>true</returnInvalids>",
    )
    assert data == {"status": "1", "invalids": ["12"]}
    assert json_api.data("/contact/list", {"status": 2})["stats"]["totalRecord"] == 1
    delete = f"<uuids><item>{made['uuid']}</item></uuids>"
    err = err_of(soap_server.post(soap(soap_server, "deleteContacts", delete)))
    assert (err["code"], err["smsCode"]) == ("ERR_USER_NOT_AUTHORIZED", "SMS01")
    allowlist.allow_ip(soap_server.platform, VENDOR_USER, "127.0.0.1")
    assert call(soap_server, "deleteContacts", delete) == {"status": "1"}
    err = err_of(soap_server.post(soap(soap_server, "deleteContacts", delete)))
    assert err["code"] == "ERR_CONTACT_NOT_FOUND" and err["status"] == "404"
    err = err_of(soap_server.post(soap(soap_server, "createContactGroup", "<title/>")))
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", "title")


def test_allow_list_applies_to_soap_requests(soap_server: SoapServer) -> None:
    allowlist.allow_ip(soap_server.platform, VENDOR_USER, "10.0.0.0/8")
    err = err_of(soap_server.post(soap(soap_server, "getUserCredit")))
    assert err["code"] == "ERR_USER_NOT_AUTHORIZED"


def test_import_over_soap_shows_over_json(soap_server: SoapServer, json_api: Api) -> None:
    from service.services import imports

    body = (
        "<csvData>'GSM','FIRST_NAME'\n'905511034554','O''Brien'</csvData>"
        "<columns><item>gsm</item><item>first_name</item></columns>"
        "<overwrite>false</overwrite><isInBlacklist>true</isInBlacklist>"
    )
    assert call(soap_server, "importContacts", body) == {"status": "1"}
    err = err_of(soap_server.post(soap(soap_server, "importContacts", body)))
    assert (err["code"], err["smsCode"]) == ("ERR_CONTACT_IMPORT_EXISTS", "SMS13")
    imports.run_next(soap_server.platform, "soap-test")
    (row,) = json_api.data("/contact/list", {"status": 2})["list"]
    assert row["firstName"] == "O'Brien"
    listed = call(soap_server, "getContactImports")
    assert same_as_json(listed, json_api.data("/contact/import-status"))
    err = err_of(soap_server.post(soap(soap_server, "importContacts", "<csvData>x</csvData>")))
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", "columns")
