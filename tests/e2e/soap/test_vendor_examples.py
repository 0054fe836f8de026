"""The vendor's SOAP examples, posted verbatim to a live server, give the documented results.

The documented package ids (111092..111095 listed, 111095 itemised, 123456 cancelled)
are reproduced by numbering our packages to match (renumber_package), so the
examples run without a single byte changed, except one password (see vendor/README.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import SoapServer, renumber_package
from tests.e2e.soap.helpers import data_of, err_of, vendor_example

WEBHOOK = "https://webhook.site/d1417d5d-c123-4e85-bdde-8b5201463be2"


def in_two_days() -> str:
    """A sending date safely in the future, in the API's format."""
    return (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")


def send(server: SoapServer, name: str, action: str) -> int:
    """Post one sending example; its pkgID."""
    data = data_of(server.post(vendor_example(name), action))
    return int(data["pkgID"])


def make_documented_packages(server: SoapServer, json_api: Api) -> None:
    """Packages 111092..111095 from the four sending examples (OTP, single, 1-N, N-N)."""
    first = json_api.data(
        "/sms/create",
        {
            "type": 1,
            "sendingType": 0,
            "title": "Numaralandırma",
            "content": "x",
            "number": "905000000001",
            "sender": "BASLIK",
        },
    )["pkgID"]
    renumber_package(server.platform, first, 111091)
    ids = [
        send(server, "sendOtp.xml", "sendOtp"),
        send(server, "sendSms-single.xml", "sendSms"),
        send(server, "sendSms-1n.xml", "sendSms"),
        send(server, "sendSms-nn.xml", "sendSms"),
    ]
    assert ids == [111092, 111093, 111094, 111095]


def test_sending_examples_create_the_packages(soap_server: SoapServer, json_api: Api) -> None:
    make_documented_packages(soap_server, json_api)
    packages = {
        p["id"]: p
        for p in json_api.data("/sms/list", {"ids": [111092, 111093, 111094, 111095]})["list"]
    }
    otp, single, one_to_many, many_to_many = (packages[i] for i in range(111092, 111096))
    assert otp["type"] == 0 and otp["content"].endswith("> & abc")
    assert otp["encoding"] == 1 and otp["pushSettings"] is None
    assert single["sendingType"] == 0 and single["validity"] == 60
    assert single["commercial"] in (None, False)  # <commercial></commercial>: not given
    assert single["periodicSettings"] is None  # <periodicSettings></periodicSettings>
    assert one_to_many["statistics"]["rCount"] == 2
    assert one_to_many["periodicSettings"] == {"periodType": 0, "interval": 1, "amount": 1000}
    assert one_to_many["pushSettings"] == {"url": WEBHOOK}
    assert many_to_many["sendingType"] == 2 and many_to_many["statistics"]["rCount"] == 2


def test_get_sms_packages_example(soap_server: SoapServer, json_api: Api) -> None:
    make_documented_packages(soap_server, json_api)
    data = data_of(soap_server.post(vendor_example("getSmsPackages.xml"), "getSmsPackages"))
    assert data["stats"] == {"totalRecord": "4"}
    assert [p["id"] for p in data["list"]] == ["111095", "111094", "111093", "111092"]
    first = data["list"][0]
    assert first["senders"] == ["BASLIK"]
    assert first["title"] == "Test message"
    assert set(first["statistics"]) >= {"total", "credit", "rCount", "delivered", "undelivered"}
    assert first["isScheduled"] == "0"
    assert len(first["sendingDate"]) == 19 and first["sendingDate"][10] == "T"


def test_get_sms_package_items_example(soap_server: SoapServer, json_api: Api) -> None:
    make_documented_packages(soap_server, json_api)
    # The vendor's example uses password 123qwe, the other examples 123456 (our user's).
    xml = vendor_example("getSmsPackageItems.xml").replace(b"123qwe", b"123456")
    data = data_of(soap_server.post(xml, "getSmsPackageItems"))
    assert data["stats"] == {"totalRecord": "2"}
    by_target = {item["target"]: item for item in data["list"]}
    assert by_target["905511034554"]["msg"] == "A kisisine ozel mesaj."
    assert by_target["905433404971"]["msg"] == "B kisisine ozel mesaj."
    for item in data["list"]:
        assert item["id"].isdigit() and item["sender"] == "BASLIK"
        assert item["credit"] == "1"
        assert set(item) >= {
            "error",
            "state",
            "setState",
            "sendingDate",
            "deliveryDate",
            "processingDate",
        }


def test_get_sms_package_items_example_with_its_own_password(soap_server: SoapServer) -> None:
    xml = vendor_example("getSmsPackageItems.xml")  # 123qwe is not admin's password
    assert err_of(soap_server.post(xml, "getSmsPackageItems"))["code"] == "ERR_UNAUTHORIZED_REQUEST"


def test_get_sms_senders_example(soap_server: SoapServer) -> None:
    data = data_of(soap_server.post(vendor_example("getSmsSenders.xml"), "getSmsSenders"))
    assert data["stats"] == {"totalRecord": "1"}
    (sender,) = data["list"]
    assert sender["title"] == "BASLIK" and sender["status"] == "1" and sender["uuid"]


def test_cancel_sms_package_example(soap_server: SoapServer, json_api: Api) -> None:
    scheduled = json_api.data(
        "/sms/create",
        {
            "type": 1,
            "sendingType": 1,
            "title": "İleri tarihli",
            "content": "Yarın",
            "numbers": ["905511034554"],
            "sender": "BASLIK",
            "sendingDate": in_two_days(),
        },
    )
    renumber_package(soap_server.platform, scheduled["pkgID"], 123456)
    data = data_of(soap_server.post(vendor_example("cancelSmsPackage.xml"), "cancelSmsPackage"))
    assert data == {"status": "1"}
    (package,) = json_api.data("/sms/list", {"ids": [123456]})["list"]
    assert package["state"] == -4


def test_cancel_example_without_such_package_is_sms06(soap_server: SoapServer) -> None:
    err = err_of(soap_server.post(vendor_example("cancelSmsPackage.xml"), "cancelSmsPackage"))
    assert err == {
        "status": "404",
        "code": "ERR_SMS_PKG_NOT_FOUND",
        "smsCode": "SMS06",
        "message": err["message"],
        "field": None,
    }
    assert err["message"]


def test_get_user_credit_example(soap_server: SoapServer, json_api: Api) -> None:
    data = data_of(soap_server.post(vendor_example("getUserCredit.xml"), "getUserCredit"))
    assert data == {"credit": str(json_api.data("/user/credit")["credit"])}
    assert data == {"credit": "100000"}


def test_examples_work_without_soapaction_and_in_another_namespace(soap_server: SoapServer) -> None:
    xml = vendor_example("getUserCredit.xml").replace(
        b"http://localhost:9587/wsdl/sms", b"http://sms.example.com:9587/wsdl/sms"
    )
    response = soap_server.post(xml)
    assert data_of(response) == {"credit": "100000"}
    assert b'"http://sms.example.com:9587/wsdl/sms"' in response.content
