"""A zeep client built from /soap?wsdl of a live server calls every operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import zeep
from zeep import xsd

from service.api.node.registry import OPERATIONS, Operation
from service.delivery.carriers.registry import make_dispatcher
from service.delivery.carriers.simulator import SimulatorCarrier
from service.domain.carrier import gateway_uuid
from service.services import allowlist, mo
from tests.e2e.soap.conftest import VENDOR_PASSWORD, VENDOR_USER, SoapServer
from tests.iys_helpers import consented

AUTH = {"username": VENDOR_USER, "password": VENDOR_PASSWORD}


class Zeep:
    """zeep's view of our WSDL, with the vendor user's credentials in every call."""

    def __init__(self, server: SoapServer) -> None:
        self.client = zeep.Client(server.wsdl_url)
        self.service = self.client.service
        self.number_message = self.client.get_type("ns0:NumberMessage")

    def call(self, name: str, **fields: Any) -> Any:
        """Call an operation; its `result` (err, data)."""
        return getattr(self.service, name)(**AUTH, **fields)

    def data(self, name: str, **fields: Any) -> Any:
        """Call an operation that must succeed; its data."""
        result = self.call(name, **fields)
        assert result["err"] is None or result["err"]["code"] is None, result["err"]
        return result["data"]

    def numbers(self, *values: str | tuple[str, str]) -> dict[str, list[Any]]:
        """<numbers> for 1-N (strings) or N-N ((nr, msg) tuples), as anyType items."""
        items = [
            xsd.AnyObject(xsd.String(), v)
            if isinstance(v, str)
            else xsd.AnyObject(self.number_message, self.number_message(nr=v[0], msg=v[1]))
            for v in values
        ]
        return {"item": items}


def later(days: int = 2) -> str:
    """A sending date in the future."""
    return (datetime.now() + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


def send_otp(z: Zeep, server: SoapServer) -> None:
    data = z.data(
        "sendOtp",
        number="905511034554",
        sender="BASLIK",
        content="Kod: 123456",
        validity=3,
        customID="otp-1",
    )
    assert isinstance(data["pkgID"], int)


def send_sms(z: Zeep, server: SoapServer) -> None:
    base = {"type": 1, "title": "Zeep paketi", "sender": "BASLIK", "encoding": 0}
    single = z.data("sendSms", **base, sendingType=0, content="Tekil", number="905511034554")
    one_n = z.data(
        "sendSms",
        **base,
        sendingType=1,
        content="Coklu",
        numbers=z.numbers("905511034554", "905433404971"),
    )
    consented(server.platform, VENDOR_USER, "905511034554", "905433404971")  # commercial
    n_n = z.data(
        "sendSms",
        **base,
        sendingType=2,
        content="Dinamik Sms",
        numbers=z.numbers(("905511034554", "A"), ("905433404971", "B")),
        periodicSettings={"periodType": 0, "amount": 1000, "interval": 1},
        pushSettings={"url": "https://example.com/hook"},
        commercial=True,
    )
    assert len({single["pkgID"], one_n["pkgID"], n_n["pkgID"]}) == 3
    items = z.data("getSmsPackageItems", pkgID=n_n["pkgID"])["list"]["item"]
    assert sorted(i["msg"] for i in items) == ["A", "B"]


def send_kvkk(z: Zeep, server: SoapServer) -> None:
    number = {"nr": "905511034554", "cfs": {"FIRST_NAME": "Ali", "LAST_NAME": "Veli"}}
    content = "Merhaba FIRST_NAME LAST_NAME, izin linki SHORT_LINK"
    data = z.data("sendKvkkSms", number=number, sender="BASLIK", content=content)
    (item,) = z.data("getSmsPackageItems", pkgID=data["pkgID"])["list"]["item"]
    assert item["msg"].startswith(f"Merhaba Ali Veli, izin linki {server.url}/k/")
    err = z.call("sendKvkkSms", number={"nr": "905511034554"}, sender="BASLIK", content=content)
    assert (err["err"]["code"], err["err"]["field"]) == (
        "ERR_INVALID_PARAM",
        "number.cfs.FIRST_NAME",
    )


def get_packages(z: Zeep, server: SoapServer) -> None:
    pkg = z.data("sendOtp", number="905511034554", sender="BASLIK", content="Kod: 1")["pkgID"]
    data = z.data("getSmsPackages", ids={"item": [pkg]}, pageSize=10)
    assert data["stats"]["totalRecord"] == 1
    (package,) = data["list"]["item"]
    assert package["id"] == pkg and package["senders"]["item"] == ["BASLIK"]
    assert package["statistics"]["rCount"] == 1


def get_items(z: Zeep, server: SoapServer) -> None:
    pkg = z.data(
        "sendOtp", number="905511034554", sender="BASLIK", content="Kod: 2", customID="otp-items"
    )["pkgID"]
    data = z.data("getSmsPackageItems", customID="otp-items", pageIndex=0, pageSize=10)
    (item,) = data["list"]["item"]
    assert item["target"] == "905511034554" and item["id"].isdigit()
    assert z.data("getSmsPackageItems", pkgID=pkg)["stats"]["totalRecord"] == 1


def get_senders(z: Zeep, server: SoapServer) -> None:
    (sender,) = z.data("getSmsSenders", keyword="BAS")["list"]["item"]
    assert sender["title"] == "BASLIK" and sender["status"] == 1


def get_gateways(z: Zeep, server: SoapServer) -> None:
    (gateway,) = z.data("getSmsGateways")["list"]["item"]
    assert gateway["uuid"] == gateway_uuid("simulator")
    assert gateway["senders"]["item"] == ["BASLIK"]


def cancel(z: Zeep, server: SoapServer) -> None:
    pkg = z.data(
        "sendSms",
        type=1,
        sendingType=0,
        title="Ileri tarihli",
        content="Sonra",
        number="905511034554",
        sender="BASLIK",
        sendingDate=later(),
    )["pkgID"]
    assert z.data("cancelSmsPackage", id=pkg)["status"] == 1
    err = z.call("cancelSmsPackage", id=pkg)["err"]
    assert err["code"] == "ERR_SMS_PKG_NOT_CHANGEABLE" and err["status"] == 409


def recreate(z: Zeep, server: SoapServer) -> None:
    pkg = z.data(
        "sendSms",
        type=1,
        sendingType=1,
        title="Tamamlanacak",
        content="Simdi",
        numbers=z.numbers("905511034554", "905433404971"),
        sender="BASLIK",
    )["pkgID"]
    err = z.call("recreateSmsPackage", id=pkg, title="Erken", includeNewNumbers=False)["err"]
    assert err["code"] == "ERR_SMS_PKG_NOT_CHANGEABLE"  # not finished yet
    make_dispatcher(server.platform).drain()  # the simulator delivers, the package completes
    items = z.data("getSmsPackageItems", pkgID=pkg)["list"]["item"]
    assert {i["state"] for i in items} == {3} and all(i["deliveryDate"] for i in items)
    new = z.data("recreateSmsPackage", id=pkg, title="Yeniden gonderim", includeNewNumbers=False)[
        "pkgID"
    ]
    assert new != pkg
    (copy,) = z.data("getSmsPackages", ids={"item": [new]})["list"]["item"]
    assert copy["title"] == "Yeniden gonderim" and copy["statistics"]["rCount"] == 2


def summary(z: Zeep, server: SoapServer) -> None:
    z.data("sendOtp", number="905511034554", sender="BASLIK", content="Kod: 3")
    data = z.data(
        "getSmsSummary", startDate=(datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    )
    assert data["rCount"] >= 1 and data["credit"] >= 1


def inquiry(z: Zeep, server: SoapServer) -> None:
    z.data("sendOtp", number="905511034554", sender="BASLIK", content="Kod: 4")
    data = z.data("inquireSmsNumber", gsm="905511034554", sender="BASLIK")
    assert data["stats"]["totalRecord"] >= 1
    assert data["list"]["item"][0]["username"] == VENDOR_USER


def mo_requests(z: Zeep, server: SoapServer, op: str) -> None:
    """The simulator's subscriber writes IPTAL to the vendor user's short number."""
    mo.add_number(server.platform, VENDOR_USER, "2222")
    mo.add_keyword(server.platform, VENDOR_USER, "iptal")
    dispatcher = make_dispatcher(server.platform)
    (simulator,) = dispatcher.router.carriers
    assert isinstance(simulator, SimulatorCarrier)
    simulator.inject("905511034554", "2222", "İptal")
    dispatcher.drain()
    data = z.data(op, keyword="iptal", pageIndex=0, pageSize=10)
    (row,) = data["list"]["item"]
    assert (row["gsm"], row["shortNr"], row["state"], row["exitType"]) == (
        "905511034554",
        "2222",
        2,
        1,
    )
    assert row["userInfo"]["username"] == VENDOR_USER
    err = z.call(op, userUUID="no-such-user")["err"]
    assert (err["code"], err["status"]) == ("ERR_USER_NOT_FOUND", 404)


def credit(z: Zeep, server: SoapServer) -> None:
    assert z.data("getUserCredit")["credit"] == 100_000


def create_contact(z: Zeep, server: SoapServer) -> None:
    group = z.data("createContactGroup", title="Zeep grubu")
    made = z.data(
        "createContact",
        gsm="905511034554",
        firstName="Zafer",
        groupUUIDs={"item": [group["uuid"]]},
        iys={"c": 0, "src": 7, "send": False},
    )
    assert made["gsm"] == "905511034554" and made["groups"]["item"][0]["title"] == "Zeep grubu"
    err = z.call("createContact", gsm="905511034554")["err"]
    assert err["code"] == "ERR_CONTACT_ALREADY_EXISTS"


def update_contact(z: Zeep, server: SoapServer) -> None:
    made = z.data("createContact", gsm="905511034555")
    assert z.data("updateContact", uuid=made["uuid"], lastName="Altun")["status"] == 1
    (row,) = z.data("getContacts")["list"]["item"]
    assert row["lastName"] == "Altun"


def delete_contacts(z: Zeep, server: SoapServer) -> None:
    made = z.data("createContact", gsm="905511034556")
    err = z.call("deleteContacts", uuids={"item": [made["uuid"]]})["err"]
    assert err["code"] == "ERR_USER_NOT_AUTHORIZED"
    allowlist.allow_ip(server.platform, VENDOR_USER, "127.0.0.1")
    assert z.data("deleteContacts", uuids={"item": [made["uuid"]]}, permanent=1)["status"] == 1


def get_contacts(z: Zeep, server: SoapServer) -> None:
    z.data("createContact", gsm="905511034557")
    data = z.data("getContacts", status=1, exitType=None, pageIndex=0, pageSize=10)
    assert data["stats"]["totalRecord"] == 1


def create_group(z: Zeep, server: SoapServer) -> None:
    parent = z.data("createContactGroup", title="Ana")
    child = z.data("createContactGroup", title="Alt", parentUUID=parent["uuid"])
    assert child["parentInfo"]["uuid"] == parent["uuid"]
    err = z.call("createContactGroup", title="Ana")["err"]
    assert err["code"] == "ERR_CONTACT_GROUP_ALREADY_EXISTS"


def update_group(z: Zeep, server: SoapServer) -> None:
    z.data("createContact", gsm="905511034558")
    group = z.data("createContactGroup", title="Eski")
    result = z.data(
        "updateContactGroup", uuid=group["uuid"], title="Yeni", gsms={"item": ["905511034558"]}
    )
    assert result["status"] == 1
    (listed,) = z.data("getContactGroups", keyword="Yeni")["list"]["item"]
    assert listed["stats"]["contactCount"] == 1


def delete_groups(z: Zeep, server: SoapServer) -> None:
    group = z.data("createContactGroup", title="Silinecek")
    allowlist.allow_ip(server.platform, VENDOR_USER, "127.0.0.1")
    assert z.data("deleteContactGroups", uuid=group["uuid"], includeContacts=True)["status"] == 1
    assert z.data("getContactGroups")["stats"]["totalRecord"] == 0


def get_groups(z: Zeep, server: SoapServer) -> None:
    z.data("createContactGroup", title="Liste")
    (group,) = z.data("getContactGroups", pageSize=10)["list"]["item"]
    # zeep shows a nil struct as one whose fields are all None.
    assert (group["title"], group["isShared"], group["parentInfo"]["uuid"]) == ("Liste", 0, None)


def set_blacklist(z: Zeep, server: SoapServer) -> None:
    data = z.data(
        "setContactBlacklist",
        status=True,
        gsms={"item": ["905511034559", "12"]},
        returnInvalids=True,
    )
    assert data["invalids"]["item"] == ["12"]
    (row,) = z.data("getContacts", status=2)["list"]["item"]
    assert row["isInBlacklist"] == 1 and row["exitType"] == 2


def import_contacts(z: Zeep, server: SoapServer) -> None:
    from service.services import imports

    csv_data = "'GSM','GROUP_NAME'\n'905511034560','Zeep'"
    columns = {"item": ["gsm", "group_name"]}
    assert z.data("importContacts", csvData=csv_data, columns=columns)["status"] == 1
    imports.run_next(server.platform, "zeep-test")
    (group,) = z.data("getContactGroups", keyword="Zeep")["list"]["item"]
    assert group["stats"]["contactCount"] == 1


def contact_imports(z: Zeep, server: SoapServer) -> None:
    import_contacts(z, server)
    (job,) = z.data("getContactImports")["list"]["item"]
    assert job["state"] == "done" and job["stats"]["created"] == 1


CALLS: dict[str, Callable[[Zeep, SoapServer], None]] = {
    "sendOtp": send_otp,
    "sendSms": send_sms,
    "sendKvkkSms": send_kvkk,
    "getSmsPackages": get_packages,
    "getSmsPackageItems": get_items,
    "getSmsSenders": get_senders,
    "getSmsGateways": get_gateways,
    "cancelSmsPackage": cancel,
    "recreateSmsPackage": recreate,
    "getSmsSummary": summary,
    "inquireSmsNumber": inquiry,
    "getUserCredit": credit,
    "getMoRequests": lambda z, server: mo_requests(z, server, "getMoRequests"),
    "getMo": lambda z, server: mo_requests(z, server, "getMo"),
    "createContact": create_contact,
    "updateContact": update_contact,
    "deleteContacts": delete_contacts,
    "getContacts": get_contacts,
    "createContactGroup": create_group,
    "updateContactGroup": update_group,
    "deleteContactGroups": delete_groups,
    "getContactGroups": get_groups,
    "setContactBlacklist": set_blacklist,
    "importContacts": import_contacts,
    "getContactImports": contact_imports,
}


@pytest.fixture
def z(soap_server: SoapServer) -> Zeep:
    """A zeep client of the live server."""
    return Zeep(soap_server)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.soap_name)
def test_zeep_calls_every_operation(op: Operation, z: Zeep, soap_server: SoapServer) -> None:
    assert op.soap_name in CALLS, f"add a zeep call for {op.soap_name} to CALLS"
    assert op.soap_name in dir(z.service)
    CALLS[op.soap_name](z, soap_server)


def test_zeep_sees_domain_errors(z: Zeep) -> None:
    result = zeep.Client(z.client.wsdl.location).service.getUserCredit(
        username=VENDOR_USER, password="wrong-password"
    )
    assert result["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"
    assert result["err"]["status"] == 401
    err = z.call(
        "sendSms",
        type=1,
        sendingType=1,
        title="Bos paket",
        content="x",
        sender="BASLIK",
        numbers=z.numbers("123"),
    )["err"]
    assert err["code"] == "ERR_EMPTY_SMS_PACKAGE"


def test_zeep_credentials_in_the_soap_header(z: Zeep) -> None:
    header = z.client.get_element("ns0:Credentials")(username=VENDOR_USER, password=VENDOR_PASSWORD)
    result = z.service.getUserCredit(_soapheaders=[header])
    assert result["data"]["credit"] == 100_000


def test_zeep_basic_auth(soap_server: SoapServer) -> None:
    import requests
    from zeep.transports import Transport

    session = requests.Session()
    session.auth = (VENDOR_USER, VENDOR_PASSWORD)
    client = zeep.Client(soap_server.wsdl_url, transport=Transport(session=session))
    assert client.service.getUserCredit()["data"]["credit"] == 100_000


def test_unknown_operation_is_a_fault_for_zeep(soap_server: SoapServer) -> None:
    response = soap_server.post(
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        '<s:sendFax xmlns:s="http://localhost:9587/wsdl/sms"/></e:Body></e:Envelope>'
    )
    assert response.status_code == 500
    assert b"Fault" in response.content
