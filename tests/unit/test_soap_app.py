"""The SOAP WSGI app against a fake platform: routing, wire format, errors, WSDL address."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from werkzeug.test import Client

from service.api.node.params import Params
from service.api.node.registry import BY_SOAP_NAME, Operation
from service.api.soap import make_soap_app
from service.domain.errors import DomainError, Err

VENDOR = Path(__file__).resolve().parents[1] / "e2e" / "soap" / "vendor"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
VENDOR_NS = "http://localhost:9587/wsdl/sms"


@dataclass
class FakeSettings:
    """The settings the SOAP adapter reads."""

    public_url: str = "http://localhost:9587"
    soap_namespace: str | None = None
    max_body_bytes: int = 64 * 1024
    trusted_proxies: int = 0


@dataclass
class FakePlatform:
    """The platform contract: authenticate and invoke, recording what the adapter sent."""

    settings: FakeSettings = field(default_factory=FakeSettings)
    users: dict[str, str] = field(default_factory=lambda: {"admin": "123456"})
    data: Any = field(default_factory=lambda: {"pkgID": 222961})
    error: Exception | None = None
    calls: list[tuple[str, Params]] = field(default_factory=list)
    logins: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)

    def authenticate(
        self, username: str | None, password: str | None, remote_addr: str | None = None
    ) -> str:
        """A principal (the username) or ERR_UNAUTHORIZED_REQUEST."""
        self.logins.append((username, password, remote_addr))
        if username is None or self.users.get(username) != password:
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST)
        return username

    def invoke(self, op: Operation, principal: str, params: Params) -> Any:
        """Record the call; return `data` or raise `error`."""
        self.calls.append((op.soap_name, params))
        if self.error is not None:
            raise self.error
        return self.data


def make_client(platform: FakePlatform | None = None) -> tuple[Client, FakePlatform]:
    """A test client of make_soap_app over a fake platform: every operation's handler
    hands its call to the fake's `invoke`."""
    from service.api.soap import service

    platform = platform or FakePlatform()
    operations = [replace(op, handler=_via_invoke(op)) for op in service.OPERATIONS]
    return Client(make_soap_app(platform, operations)), platform


def _via_invoke(op: Operation) -> Any:
    def handler(platform: Any, principal: Any, params: Params) -> Any:
        return platform.invoke(op, principal, params)

    return handler


def envelope(
    op: str, body: str = "", ns: str = VENDOR_NS, header: str = "", credentials: bool = True
) -> str:
    """A SOAP 1.1 request in the vendor's style."""
    creds = "<username>admin</username><password>123456</password>" if credentials else ""
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:sms="{ns}">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>"
        f"<sms:{op}>{creds}{body}</sms:{op}></soapenv:Body></soapenv:Envelope>"
    )


def post(client: Client, xml: str | bytes, **headers: str) -> Any:
    """POST an envelope to /soap-like root of the app."""
    headers.setdefault("Content-Type", "text/xml;charset=UTF-8")
    return client.post("/", data=xml, headers=headers)


def result(response: Any) -> etree._Element:
    """The <result> element of a response, checking the unqualified form."""
    root = etree.fromstring(response.data)
    op_response = root.find(f"{{{ENV}}}Body")[0]
    (res,) = op_response
    assert res.tag == "result"
    for element in res.iter():
        assert "}" not in element.tag, f"qualified child {element.tag}"
    return res


# --- routing and namespaces -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in VENDOR.glob("*.xml")))
def test_vendor_examples_reach_their_operation(name: str) -> None:
    client, platform = make_client()
    platform.users["admin"] = "123qwe" if "Items" in name else "123456"
    response = post(client, (VENDOR / name).read_bytes())
    assert response.status_code == 200, response.data
    expected = name.removesuffix(".xml").split("-")[0]
    assert [c[0] for c in platform.calls] == [expected]


@pytest.mark.parametrize("ns", ["urn:another:vendor", "http://sms.example.com:9587/wsdl/sms"])
def test_any_namespace_is_accepted_and_echoed(ns: str) -> None:
    client, platform = make_client()
    response = post(client, envelope("getUserCredit", ns=ns))
    root = etree.fromstring(response.data)
    assert root.find(f"{{{ENV}}}Body")[0].tag == f"{{{ns}}}getUserCreditResponse"
    assert platform.calls[0][0] == "getUserCredit"


def test_operation_without_namespace_is_accepted() -> None:
    client, _ = make_client()
    xml = (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><getUserCredit><username>admin</username>'
        "<password>123456</password></getUserCredit></e:Body></e:Envelope>"
    )
    response = post(client, xml)
    assert response.status_code == 200
    assert (
        etree.fromstring(response.data).find(f"{{{ENV}}}Body")[0].tag
        == f"{{{VENDOR_NS}}}getUserCreditResponse"
    )


def test_configured_namespace_is_the_wsdl_target_namespace() -> None:
    client, _ = make_client(FakePlatform(FakeSettings(soap_namespace="urn:finsms:sms")))
    wsdl = etree.fromstring(client.get("/?wsdl").data)
    assert wsdl.get("targetNamespace") == "urn:finsms:sms"
    response = post(client, envelope("getUserCredit"))  # the vendor's namespace still works
    assert response.status_code == 200


def test_unknown_operation_is_a_client_fault() -> None:
    client, platform = make_client()
    response = post(client, envelope("sendFax"))
    assert response.status_code == 500
    assert b"faultcode" in response.data and b"Client" in response.data
    assert platform.calls == [] and platform.logins == []


@pytest.mark.parametrize(
    "xml",
    [
        b"<not-closed>",
        b"",
        b"plain text",
        b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope">'
        b"<e:Body><getUserCredit/></e:Body></e:Envelope>",
        f'<e:Envelope xmlns:e="{ENV}"><e:Body/></e:Envelope>'.encode(),
    ],
)
def test_malformed_requests_are_client_faults(xml: bytes) -> None:
    client, platform = make_client()
    response = post(client, xml)
    assert response.status_code == 500
    assert b"<faultcode>soap11env:Client" in response.data
    assert platform.calls == []


def test_get_without_wsdl_is_not_allowed() -> None:
    client, _ = make_client()
    assert client.get("/").status_code == 405


# --- request fields ----------------------------------------------------------------------


def test_fields_reach_the_service_as_plain_values() -> None:
    client, platform = make_client()
    post(client, (VENDOR / "sendSms-nn.xml").read_bytes())
    ((_, params),) = platform.calls
    assert params["sendingType"] == "2"
    assert params["numbers"][1] == {"nr": "905433404971", "msg": "B kisisine ozel mesaj."}
    periodic = params.dict("periodicSettings")
    assert periodic is not None and periodic.int("amount") == 1000
    assert "username" not in params and "password" not in params
    assert "commercial" not in params and "sendingDate" not in params


def test_empty_number_item_is_a_domain_error_not_a_fault() -> None:
    client, platform = make_client()
    response = post(client, envelope("sendSms", "<numbers><item/></numbers>"))
    assert response.status_code == 200
    err = result(response).find("err")
    assert err.findtext("code") == "ERR_INVALID_PARAM"
    assert err.findtext("field") == "numbers"
    assert platform.calls == []


# --- credentials -------------------------------------------------------------------------


def test_credentials_in_a_soap_header() -> None:
    client, platform = make_client()
    header = (
        f'<sms:Credentials xmlns:sms="{VENDOR_NS}"><username>admin</username>'
        "<password>123456</password></sms:Credentials>"
    )
    response = post(client, envelope("getUserCredit", header=header, credentials=False))
    assert result(response).find("err").get(XSI_NIL) == "true"
    assert platform.logins[0][:2] == ("admin", "123456")


def test_credentials_by_basic_auth() -> None:
    client, platform = make_client()
    token = base64.b64encode(b"admin:123456").decode()
    response = post(
        client, envelope("getUserCredit", credentials=False), Authorization=f"Basic {token}"
    )
    assert result(response).find("err").get(XSI_NIL) == "true"
    assert platform.logins[0][:2] == ("admin", "123456")


def test_body_credentials_win_over_basic_auth() -> None:
    client, platform = make_client()
    token = base64.b64encode(b"other:secret").decode()
    post(client, envelope("getUserCredit"), Authorization=f"Basic {token}")
    assert platform.logins[0][:2] == ("admin", "123456")


def test_remote_address_is_passed_for_throttling() -> None:
    client, platform = make_client()
    client.post(
        "/",
        data=envelope("getUserCredit"),
        headers={"Content-Type": "text/xml"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert platform.logins[0][2] == "10.1.2.3"


# --- responses -----------------------------------------------------------------------------


def test_success_is_result_with_nil_err_and_typed_data() -> None:
    client, _ = make_client()
    response = post(client, envelope("sendOtp", "<number>905511034554</number>"))
    assert response.status_code == 200
    res = result(response)
    assert res.find("err").get(XSI_NIL) == "true"
    assert res.findtext("data/pkgID") == "222961"


def test_wrong_password_is_err_401_in_a_200_response() -> None:
    client, platform = make_client()
    response = post(client, envelope("getUserCredit").replace("123456", "nope"))
    assert response.status_code == 200
    res = result(response)
    assert res.findtext("err/status") == "401"
    assert res.findtext("err/code") == "ERR_UNAUTHORIZED_REQUEST"
    assert res.findtext("err/message")
    assert res.find("data").get(XSI_NIL) == "true"
    assert platform.calls == []


def test_domain_error_of_the_service_with_retry_after() -> None:
    client, platform = make_client()
    platform.error = DomainError(Err.ERR_TOO_MANY_REQUESTS, retry_after=17)
    response = post(client, envelope("getUserCredit"))
    assert response.status_code == 200
    assert response.headers["Retry-After"] == "17"
    assert result(response).findtext("err/smsCode") == "SMS70"


def test_unexpected_exception_is_err_internal_server(caplog: pytest.LogCaptureFixture) -> None:
    client, platform = make_client()
    platform.error = RuntimeError("boom")
    response = post(client, envelope("getUserCredit"))
    assert response.status_code == 200
    assert result(response).findtext("err/code") == "ERR_INTERNAL_SERVER"
    assert b"boom" not in response.data


def test_data_shapes_lists_and_nulls() -> None:
    client, platform = make_client()
    platform.data = {
        "stats": {"totalRecord": 1},
        "list": [
            {
                "id": 111095,
                "customID": None,
                "type": 1,
                "uuid": "u-1",
                "error": None,
                "state": 6,
                "title": "Test message",
                "content": "x",
                "senders": ["BASLIK"],
                "encoding": 1,
                "validity": 60,
                "isScheduled": 0,
                "sendingDate": "2021-05-17T18:29:20",
                "statistics": {
                    "total": 2,
                    "credit": 2,
                    "rCount": 2,
                    "delivered": 1,
                    "undelivered": 1,
                },
                "unknownKey": "dropped",
            }
        ],
    }
    res = result(post(client, envelope("getSmsPackages")))
    item = res.find("data/list/item")
    assert res.findtext("data/stats/totalRecord") == "1"
    assert item.findtext("id") == "111095"
    assert [e.text for e in item.findall("senders/item")] == ["BASLIK"]
    assert item.find("customID").get(XSI_NIL) == "true"
    assert item.find("processInfo").get(XSI_NIL) == "true"  # documented key, not returned
    assert item.find("unknownKey") is None
    assert item.findtext("statistics/undelivered") == "1"


def test_wrong_data_shape_is_an_internal_error() -> None:
    client, platform = make_client()
    platform.data = ["not", "an", "object"]
    assert (
        result(post(client, envelope("getUserCredit"))).findtext("err/code")
        == "ERR_INTERNAL_SERVER"
    )


# --- the WSDL ------------------------------------------------------------------------------


def wsdl_address(client: Client, **headers: str) -> str:
    """soap:address location of the served WSDL."""
    root = etree.fromstring(client.get("/?wsdl", headers=headers).data)
    (address,) = root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address")
    return str(address.get("location"))


def test_wsdl_address_comes_from_public_url_not_from_host() -> None:
    client, _ = make_client(FakePlatform(FakeSettings(public_url="https://sms.example.com/")))
    assert wsdl_address(client, Host="evil.example") == "https://sms.example.com/soap"
    assert wsdl_address(client) == "https://sms.example.com/soap"
    assert (
        wsdl_address(client, **{"X-Forwarded-Host": "evil.example"})
        == "https://sms.example.com/soap"
    )


def test_wsdl_operations_and_namespace() -> None:
    client, _ = make_client()
    root = etree.fromstring(client.get("/?wsdl").data)
    assert root.get("targetNamespace") == VENDOR_NS
    schema = root.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    assert schema.get("elementFormDefault") == "unqualified"
    names = {op.get("name") for op in root.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert set(BY_SOAP_NAME) <= names


def test_trusted_proxy_moves_the_address_but_not_the_namespace() -> None:
    settings = FakeSettings(public_url="http://localhost:9587", trusted_proxies=1)
    client, _ = make_client(FakePlatform(settings))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com"}
    assert wsdl_address(client, **forwarded) == "https://sms.example.com/soap"
    assert wsdl_address(client) == "http://localhost:9587/soap"  # no leak between requests
    root = etree.fromstring(client.get("/?wsdl", headers=forwarded).data)
    assert root.get("targetNamespace") == VENDOR_NS


def test_trusted_proxy_takes_the_value_its_hop_set() -> None:
    client, _ = make_client(FakePlatform(FakeSettings(trusted_proxies=1)))
    headers = {
        "X-Forwarded-Host": "forged.example, sms.example.com",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "8443",
    }
    assert wsdl_address(client, **headers) == "https://sms.example.com:8443/soap"


@pytest.mark.parametrize("host", ['a"b', "x.example/path", "x.example?q", "<x>", "a b"])
def test_malformed_forwarded_host_is_ignored(host: str) -> None:
    client, _ = make_client(FakePlatform(FakeSettings(trusted_proxies=1)))
    assert wsdl_address(client, **{"X-Forwarded-Host": host}) == "http://localhost:9587/soap"


# --- encodings -----------------------------------------------------------------------------


def test_content_type_charset_is_honoured_without_xml_declaration() -> None:
    client, platform = make_client()
    body = envelope("sendOtp", "<content>Doğrulama şifresi</content>").encode("iso-8859-9")
    post(client, body, **{"Content-Type": "text/xml; charset=ISO-8859-9"})
    assert platform.calls[0][1]["content"] == "Doğrulama şifresi"


def test_xml_declaration_encoding_is_honoured() -> None:
    client, platform = make_client()
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-9"?>\n'
        + envelope("sendOtp", "<content>Çağrı</content>")
    ).encode("iso-8859-9")
    post(client, xml, **{"Content-Type": "text/xml"})
    assert platform.calls[0][1]["content"] == "Çağrı"


def test_body_not_in_its_charset_is_a_client_fault() -> None:
    client, platform = make_client()
    response = post(
        client,
        envelope("getUserCredit").encode(),
        **{"Content-Type": "text/xml; charset=x-unknown-charset"},
    )
    assert response.status_code == 500 and b"Client" in response.data
    assert platform.calls == []


# --- adding an operation -----------------------------------------------------------------


def test_a_new_registry_function_needs_only_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.api.soap import operations, service
    from service.api.soap.model import INT, OBJECT, STR, list_of, struct

    new = Operation("contact/create", "createContact", ("POST",), lambda *_: {})
    monkeypatch.setattr(service, "OPERATIONS", (*service.OPERATIONS, new))
    contact = struct(
        "Contact",
        uuid=STR,
        gsm=STR,
        details=OBJECT,
        groups=list_of(STR, "GroupUuidList"),
        iys=struct("ContactIys", st=INT),
    )
    monkeypatch.setitem(
        operations.SPECS,
        "contact/create",
        operations.op(contact, gsm=STR, details=OBJECT, groupUUIDs=list_of(STR, "GroupUuidInput")),
    )
    platform = FakePlatform(
        data={
            "uuid": "c-1",
            "gsm": "905511034554",
            "details": {"GSM_2": "905001234567", "BIRTH_DATE": None},
            "groups": ["g-1", "g-2"],
            "iys": {"st": -1},
        }
    )
    client, _ = make_client(platform)
    response = post(
        client,
        envelope(
            "createContact",
            "<gsm>905511034554</gsm><details><GSM_2>905001234567</GSM_2>"
            "</details><groupUUIDs><item>g-1</item><item>g-2</item></groupUUIDs>",
        ),
    )
    ((name, params),) = platform.calls
    assert name == "createContact"
    assert params["details"] == {"GSM_2": "905001234567"}
    assert params["groupUUIDs"] == ["g-1", "g-2"]
    data = result(response).find("data")
    assert data.findtext("details/GSM_2") == "905001234567"
    assert [e.text for e in data.findall("groups/item")] == ["g-1", "g-2"]
    assert data.findtext("iys/st") == "-1"
    wsdl = client.get("/?wsdl").data
    assert b'name="createContact"' in wsdl and b'name="Contact"' in wsdl
