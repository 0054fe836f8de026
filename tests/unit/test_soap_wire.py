"""SOAP request XML to the JSON API's plain field dict, and credentials (wire.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from service.api.soap import wire
from service.domain.errors import DomainError, Err

VENDOR = Path(__file__).resolve().parents[1] / "e2e" / "soap" / "vendor"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def operation(xml: str | bytes) -> etree._Element:
    """The operation element of an envelope (or the root of a bare fragment)."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    if root.tag == f"{{{ENV}}}Envelope":
        return root.find(f"{{{ENV}}}Body")[0]
    return root


def vendor_fields(name: str) -> dict[str, Any]:
    """request_fields of one of the vendor's example files."""
    return wire.request_fields(operation((VENDOR / name).read_bytes()))


def test_send_otp_example_leaves_out_empty_elements() -> None:
    assert vendor_fields("sendOtp.xml") == {
        "username": "admin",
        "password": "123456",
        "content": "Test mesaji icerigidir, dikkate almayiniz. > & abc",
        "number": "905511034554",
        "encoding": "1",
        "sender": "BASLIK",
    }


def test_single_sending_example() -> None:
    fields = vendor_fields("sendSms-single.xml")
    assert fields == {
        "username": "admin",
        "password": "123456",
        "type": "1",
        "sendingType": "0",
        "title": "Test message",
        "content": "Test mesaji icerigidir, dikkate almayiniz. > & abc",
        "number": "905511034554",
        "encoding": "1",
        "sender": "BASLIK",
        "validity": "60",
    }


def test_one_to_many_example_gives_a_list_of_numbers() -> None:
    fields = vendor_fields("sendSms-1n.xml")
    assert fields["numbers"] == ["905511034554", "905433404971"]
    assert fields["periodicSettings"] == {"periodType": "0", "amount": "1000", "interval": "1"}
    assert fields["pushSettings"] == {
        "url": "https://webhook.site/d1417d5d-c123-4e85-bdde-8b5201463be2"
    }
    assert "commercial" not in fields and "sendingDate" not in fields


def test_many_to_many_example_gives_nr_msg_objects() -> None:
    assert vendor_fields("sendSms-nn.xml")["numbers"] == [
        {"nr": "905511034554", "msg": "A kisisine ozel mesaj."},
        {"nr": "905433404971", "msg": "B kisisine ozel mesaj."},
    ]


def test_ids_list_and_empty_filters() -> None:
    fields = vendor_fields("getSmsPackages.xml")
    assert fields == {
        "username": "admin",
        "password": "123456",
        "ids": ["111095", "111094", "111093", "111092"],
    }


def test_namespaces_and_xsi_type_are_ignored() -> None:
    op = operation(
        '<x:sendSms xmlns:x="urn:any" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<x:numbers><item xsi:type="xsd:string">905511034554</item>'
        '<item xsi:type="x:NumberMessage"><nr>905433404971</nr><msg>B</msg></item>'
        "</x:numbers></x:sendSms>"
    )
    assert wire.request_fields(op) == {
        "numbers": ["905511034554", {"nr": "905433404971", "msg": "B"}]
    }


def test_nil_and_whitespace_only_elements_are_not_given() -> None:
    op = operation(
        '<op xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<a xsi:nil="true"/><b>   </b><c><url/></c><d>0</d></op>'
    )
    assert wire.request_fields(op) == {"d": "0"}


def test_text_is_kept_as_sent() -> None:
    op = operation("<op><content>  iki  boşluk \n satır </content></op>")
    assert wire.request_fields(op) == {"content": "  iki  boşluk \n satır "}


def test_repeated_elements_become_a_list() -> None:
    op = operation("<op><ids>1</ids><ids>2</ids><ids>3</ids></op>")
    assert wire.request_fields(op) == {"ids": ["1", "2", "3"]}


@pytest.mark.parametrize(
    "numbers", ["<item/>", "<item>905</item><item></item>", "<item><nr/><msg/></item>"]
)
def test_an_empty_list_item_is_an_error_naming_the_field(numbers: str) -> None:
    with pytest.raises(DomainError) as caught:
        wire.request_fields(operation(f"<op><numbers>{numbers}</numbers></op>"))
    assert caught.value.err is Err.ERR_INVALID_PARAM
    assert caught.value.field == "numbers"


def test_split_credentials_is_case_insensitive() -> None:
    rest, user, password = wire.split_credentials(
        {"UserName": "admin", "PASSWORD": "123456", "number": "905"}
    )
    assert (rest, user, password) == ({"number": "905"}, "admin", "123456")


def test_header_credentials_from_our_header_and_from_ws_security() -> None:
    ours = etree.fromstring(
        '<c:Credentials xmlns:c="urn:x"><username>u1</username><password>p1</password>'
        "</c:Credentials>"
    )
    wsse = etree.fromstring(
        '<wsse:Security xmlns:wsse="urn:wsse"><wsse:UsernameToken>'
        "<wsse:Username>u2</wsse:Username>"
        '<wsse:Password Type="PasswordText">p2</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security>"
    )
    assert wire.header_credentials([ours]) == ("u1", "p1")
    assert wire.header_credentials([wsse]) == ("u2", "p2")
    assert wire.header_credentials(None) == (None, None)


def test_max_depth() -> None:
    deep = etree.fromstring("<a>" * 10 + "</a>" * 10)
    assert wire.max_depth(deep, 9) is True
    assert wire.max_depth(deep, 10) is False


def test_repeated_elements_cost_linear_time() -> None:
    """The issue #9 request: each repeated element used to copy the list built so far
    (160,000 of them took 21 s); now the cost per element is constant. Compared as a ratio
    of the fastest of interleaved runs, not against a wall-clock limit: ten times the
    elements costs about ten times as much (quadratic would be a hundred), whatever else
    the machine is doing."""
    small = operation(f"<op><username>u</username>{'<x>1</x>' * 5_000}</op>")
    large = operation(f"<op><username>u</username>{'<x>1</x>' * 50_000}</op>")
    best = {5_000: float("inf"), 50_000: float("inf")}
    for _ in range(3):
        for size, op in ((5_000, small), (50_000, large)):
            started = time.perf_counter()
            fields = wire.request_fields(op)
            best[size] = min(best[size], time.perf_counter() - started)
            assert fields["x"] == ["1"] * size and fields["username"] == "u"
    assert best[50_000] / best[5_000] < 30


PHP_MAP_ITEM = (
    '<item xsi:type="ns2:Map">'
    '<item><key xsi:type="xsd:string">nr</key><value xsi:type="xsd:string">{nr}</value></item>'
    '<item><key xsi:type="xsd:string">msg</key><value xsi:type="xsd:string">{msg}</value></item>'
    "</item>"
)
PHP_NS = (
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ns2="http://xml.apache.org/xml-soap"'
)


def test_php_associative_arrays_become_objects() -> None:
    """PHP's SoapClient writes an associative array under xs:anyType as an Apache Map:
    `<item><key/><value/></item>` pairs. They read as the object the PHP code meant."""
    items = PHP_MAP_ITEM.format(nr="905511034554", msg="A") + PHP_MAP_ITEM.format(
        nr="905433404971", msg="B"
    )
    op = operation(f"<op {PHP_NS}><numbers>{items}</numbers></op>")
    assert wire.request_fields(op) == {
        "numbers": [{"nr": "905511034554", "msg": "A"}, {"nr": "905433404971", "msg": "B"}]
    }


def test_nested_maps_and_empty_map_values() -> None:
    cfs = (
        '<item><key>cfs</key><value xsi:type="ns2:Map">'
        "<item><key>FIRST_NAME</key><value>Ali</value></item></value></item>"
    )
    empty_msg = '<item><key>msg</key><value xsi:nil="true"/></item>'
    op = operation(
        f"<op {PHP_NS}><numbers><item><item><key>nr</key><value>905</value></item>"
        f"{cfs}{empty_msg}</item></numbers></op>"
    )
    assert wire.request_fields(op) == {"numbers": [{"nr": "905", "cfs": {"FIRST_NAME": "Ali"}}]}


def test_items_that_only_look_like_a_map_stay_a_list() -> None:
    op = operation("<op><numbers><item><key/><value>1</value></item></numbers></op>")
    assert wire.request_fields(op) == {"numbers": [{"value": "1"}]}
