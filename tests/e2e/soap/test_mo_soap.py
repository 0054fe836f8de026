"""/mo/list-request and /sms/get-mo over SOAP (getMoRequests, getMo): a reseller names
its descendant; anyone else gets "not found"."""

from __future__ import annotations

import pytest

from service.domain.constants import UserType
from service.services import users
from tests.conftest import PASSWORD, add_customer
from tests.e2e.soap.conftest import VENDOR_USER, SoapServer
from tests.e2e.soap.helpers import data_of, err_of
from tests.e2e.test_mo_api import received

NS = "http://localhost:9587/wsdl/sms"


def envelope(op: str, user: str, password: str, body: str = "") -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sms="{NS}"><soapenv:Header/><soapenv:Body><sms:{op}>'
        f"<username>{user}</username><password>{password}</password>"
        f"{body}</sms:{op}></soapenv:Body></soapenv:Envelope>"
    ).encode()


@pytest.mark.parametrize("op", ["getMoRequests", "getMo"])
def test_a_reseller_reads_a_descendants_mo_over_soap(soap_server: SoapServer, op: str) -> None:
    platform = soap_server.platform
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    child = add_customer(platform, "musteri", parent="bayi")
    received(platform, "musteri", "2222", "IPTAL", "Bilgi")
    uuid = f"<userUUID>{child.uuid}</userUUID>"
    data = data_of(soap_server.post(envelope(op, "bayi", PASSWORD, uuid + "<keyword/>"), op))
    assert data["stats"]["totalRecord"] == "2"
    first = data["list"][0]
    assert (first["msg"], first["gsm"], first["shortNr"], first["state"]) == (
        "Bilgi",
        "905321234567",
        "2222",
        "-1",
    )
    assert first["userInfo"] == {"uuid": child.uuid, "username": "musteri"}
    own = data_of(soap_server.post(envelope(op, "bayi", PASSWORD), op))
    assert own["stats"]["totalRecord"] == "0"
    # The vendor user is no ancestor of musteri: "not found", as for a stranger.
    err = err_of(soap_server.post(envelope(op, VENDOR_USER, "123456", uuid), op))
    assert (err["code"], err["status"], err["field"]) == ("ERR_USER_NOT_FOUND", "404", "userUUID")
    err = err_of(soap_server.post(envelope(op, "bayi", PASSWORD, "<pageSize>5</pageSize>"), op))
    assert err["code"] == "ERR_INVALID_PARAM"
