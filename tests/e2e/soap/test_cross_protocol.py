"""One platform, two protocols: what is done over SOAP shows over JSON and the other way round.

Also guards against drift: every key the JSON API returns must be carried by the SOAP
type with the same value (a new key in a service needs a field in operations.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from service.domain.carrier import InboundMessage, gateway_uuid
from service.services import mo
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import VENDOR_PASSWORD, VENDOR_USER, SoapServer
from tests.e2e.soap.helpers import data_of, err_of, same_as_json
from tests.iys_helpers import consented

NS = "http://localhost:9587/wsdl/sms"


def soap(server: SoapServer, op: str, body: str = "") -> bytes:
    """A vendor-style request for `op` with the vendor user's credentials."""
    return (
        f'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sms="{NS}"><soapenv:Header/><soapenv:Body><sms:{op}>'
        f"<username>{VENDOR_USER}</username><password>{VENDOR_PASSWORD}</password>"
        f"{body}</sms:{op}></soapenv:Body></soapenv:Envelope>"
    ).encode()


def call(server: SoapServer, op: str, body: str = "") -> dict[str, Any]:
    """Data of a SOAP call that must succeed."""
    data: dict[str, Any] = data_of(server.post(soap(server, op, body), op))
    return data


def later() -> str:
    """A sending date two days ahead."""
    return (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")


def test_package_sent_over_soap_is_listed_over_json(soap_server: SoapServer, json_api: Api) -> None:
    body = (
        "<type>1</type><sendingType>2</sendingType><title>SOAP paketi</title>"
        "<content>Dinamik Sms</content><sender>BASLIK</sender><customID>soap-nn.1</customID>"
        "<numbers><item><nr>905511034554</nr><msg>Merhaba A</msg></item>"
        "<item><nr>05433404971</nr><msg>Merhaba B</msg></item></numbers>"
    )
    pkg = int(call(soap_server, "sendSms", body)["pkgID"])
    (package,) = json_api.data("/sms/list", {"customIDs": ["soap-nn.1"]})["list"]
    assert package["id"] == pkg and package["title"] == "SOAP paketi"
    items = json_api.data("/sms/list-item", {"pkgID": pkg})["list"]
    assert {i["target"]: i["msg"] for i in items} == {
        "905511034554": "Merhaba A",
        "905433404971": "Merhaba B",
    }
    assert json_api.data("/user/credit")["credit"] == 100_000 - 2


def test_package_sent_over_json_is_read_and_cancelled_over_soap(
    soap_server: SoapServer, json_api: Api
) -> None:
    pkg = json_api.data(
        "/sms/create",
        {
            "type": 1,
            "sendingType": 1,
            "title": "JSON paketi",
            "content": "Yarın görüşürüz",
            "numbers": [905511034554, "905433404971"],
            "sender": "BASLIK",
            "sendingDate": later(),
            "customID": "json-1",
        },
    )["pkgID"]
    listed = call(soap_server, "getSmsPackages", "<customIDs><item>json-1</item></customIDs>")
    (package,) = listed["list"]
    assert package["id"] == str(pkg) and package["isScheduled"] == "1"
    assert call(soap_server, "cancelSmsPackage", "<customID>json-1</customID>") == {"status": "1"}
    (after,) = json_api.data("/sms/list", {"ids": [pkg]})["list"]
    assert after["state"] == -4
    err = json_api.error("/sms/cancel", {"id": pkg})
    assert err["code"] == "ERR_SMS_PKG_NOT_CHANGEABLE"
    soap_err = err_of(
        soap_server.post(
            soap(soap_server, "cancelSmsPackage", f"<id>{pkg}</id>"), "cancelSmsPackage"
        )
    )
    assert {k: soap_err[k] for k in ("code", "smsCode", "status")} == {
        "code": err["code"],
        "smsCode": err["smsCode"],
        "status": str(err["status"]),
    }


def test_custom_id_is_unique_across_protocols(soap_server: SoapServer, json_api: Api) -> None:
    json_api.data(
        "/sms/create-otp",
        {"number": "905511034554", "sender": "BASLIK", "content": "Kod 1", "customID": "shared-1"},
    )
    err = err_of(
        soap_server.post(
            soap(
                soap_server,
                "sendOtp",
                "<number>905511034554</number><sender>BASLIK</sender>"
                "<content>Kod 2</content><customID>shared-1</customID>",
            )
        )
    )
    assert err["code"] == "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION" and err["smsCode"] == "SMS42"


def test_same_invalid_value_is_the_same_error_on_both(
    soap_server: SoapServer, json_api: Api
) -> None:
    json_err = json_api.error("/sms/list", {"pageSize": "abc"})
    soap_err = err_of(
        soap_server.post(soap(soap_server, "getSmsPackages", "<pageSize>abc</pageSize>"))
    )
    assert (soap_err["code"], soap_err["field"]) == (json_err["code"], json_err["field"])
    assert soap_err["message"] == json_err["message"]


def test_every_json_key_is_carried_by_soap(soap_server: SoapServer, json_api: Api) -> None:
    consented(soap_server.platform, VENDOR_USER, "905511034554", "905433404971")
    one_n = json_api.data(
        "/sms/create",
        {
            "type": 1,
            "sendingType": 1,
            "title": "Karşılaştırma",
            "content": "Aynı mı?",
            "numbers": ["905511034554", "905433404971"],
            "sender": "BASLIK",
            "pushSettings": {"url": "https://example.com/h"},
            "commercial": True,
            "periodicSettings": {"periodType": 0, "amount": 1000, "interval": 5},
        },
    )["pkgID"]
    json_api.data(
        "/sms/create-otp", {"number": "905511034554", "sender": "BASLIK", "content": "Kod 9"}
    )
    since = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    mo.add_number(soap_server.platform, VENDOR_USER, "2222")
    mo.add_keyword(soap_server.platform, VENDOR_USER, "IPTAL")
    at = datetime(2026, 5, 4, 9, 0)
    mo.receive(
        soap_server.platform,
        [
            InboundMessage("905511034554", "2222", "İPTAL", at, "sim", "1"),
            InboundMessage("905511034554", "FINSMS", "kim bu?", at, "sim", "2"),  # unrouted
            InboundMessage("905433404971", "2222", "Merhaba", at, "sim", "3"),
        ],
    )
    pairs = [
        ("/sms/list", {}, "getSmsPackages", ""),
        ("/sms/list-item", {"pkgID": one_n}, "getSmsPackageItems", f"<pkgID>{one_n}</pkgID>"),
        ("/sms/list-sender", {}, "getSmsSenders", ""),
        ("/sms/list-gateway", {}, "getSmsGateways", ""),
        ("/sms/summary", {"startDate": since}, "getSmsSummary", f"<startDate>{since}</startDate>"),
        (
            "/sms/inquiry-number",
            {"gsm": "905511034554"},
            "inquireSmsNumber",
            "<gsm>905511034554</gsm>",
        ),
        ("/user/credit", {}, "getUserCredit", ""),
        ("/mo/list-request", {}, "getMoRequests", ""),
        ("/sms/get-mo", {"keyword": "iptal"}, "getMo", "<keyword>iptal</keyword>"),
    ]
    for path, body, op, xml in pairs:
        json_data = json_api.data(path, body)
        soap_data = call(soap_server, op, xml)
        assert same_as_json(soap_data, json_data), (op, soap_data, json_data)


def test_gateways_over_json_get_and_over_soap(soap_server: SoapServer, json_api: Api) -> None:
    """Public clients GET /sms/list-gateway to learn the gateways and their senders."""
    response = json_api.get("/sms/list-gateway")
    assert response.status_code == 200, response.text
    json_data = response.json()["data"]
    assert json_data == {
        "stats": {"totalRecord": 1},
        "list": [{"uuid": gateway_uuid("simulator"), "senders": ["BASLIK"]}],
    }
    assert same_as_json(call(soap_server, "getSmsGateways"), json_data)
