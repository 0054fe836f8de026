"""Sending to contact groups and the {nr, cfs} form over SOAP, on a live server: the
envelopes PHP's SoapClient writes for the clients' arrays (apache Maps) and plain XML."""

from __future__ import annotations

from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import SoapServer
from tests.e2e.soap.helpers import data_of, err_of
from tests.e2e.soap.test_cross_protocol import call, soap

A, B, C = "905511034554", "905433404971", "905321111103"
MAPS = (
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:ns2="http://xml.apache.org/xml-soap"'
)


def pair(key: str, value: str) -> str:
    return (
        f'<item><key xsi:type="xsd:string">{key}</key>'
        f'<value xsi:type="xsd:string">{value}</value></item>'
    )


def php_recipient(nr: str, **cfs: str) -> str:
    """An {nr, cfs} array as PHP's SoapClient encodes it in an anyType list."""
    fields = "".join(pair(k, v) for k, v in cfs.items())
    return (
        f'<item xsi:type="ns2:Map">{pair("nr", nr)}'
        f'<item><key xsi:type="xsd:string">cfs</key><value xsi:type="ns2:Map">{fields}</value>'
        "</item></item>"
    )


def messages(api: Api, pkg: int) -> dict[str, str | None]:
    return {i["target"]: i["msg"] for i in api.data("/sms/list-item", {"pkgID": pkg})["list"]}


def send(server: SoapServer, body: str, namespaces: str = "") -> int:
    xml = soap(server, "sendSms", body)
    if namespaces:  # the PHP encoding's prefixes, declared on the envelope
        xml = xml.replace(b"<soapenv:Envelope ", f"<soapenv:Envelope {namespaces} ".encode(), 1)
    return int(data_of(server.post(xml, "sendSms"))["pkgID"])


HEAD = (
    "<type>1</type><sendingType>1</sendingType><title>Dinamik</title>"
    "<sender>BASLIK</sender><content>Sayın FIRST_NAME LAST_NAME</content>"
)


def test_php_maps_with_cfs_and_custom_fields_fill_each_recipient(
    soap_server: SoapServer, json_api: Api
) -> None:
    numbers = php_recipient(A, FIRST_NAME="Ayşe", LAST_NAME="Kaya") + php_recipient(
        B, FIRST_NAME="Ali"
    )
    fields = "<customFields><item>FIRST_NAME</item><item>LAST_NAME</item></customFields>"
    pkg = send(soap_server, f"{HEAD}<numbers>{numbers}</numbers>{fields}", MAPS)
    assert messages(json_api, pkg) == {A: "Sayın Ayşe Kaya", B: "Sayın Ali "}


def test_plain_xml_cfs_and_a_group(soap_server: SoapServer, json_api: Api) -> None:
    group = call(soap_server, "createContactGroup", "<title>SOAP Grubu</title>")["uuid"]
    call(
        soap_server,
        "createContact",
        f"<gsm>{C}</gsm><firstName>Cem</firstName><lastName>Er</lastName>"
        f"<groupUUIDs><item>{group}</item></groupUUIDs>",
    )
    numbers = f"<item><nr>{A}</nr><cfs><FIRST_NAME>Ayşe</FIRST_NAME></cfs></item>"
    body = f"{HEAD}<numbers>{numbers}</numbers><groupUUIDs><item>{group}</item></groupUUIDs>"
    pkg = send(soap_server, body)
    assert messages(json_api, pkg) == {A: "Sayın Ayşe LAST_NAME", C: "Sayın Cem Er"}


def test_unknown_group_over_soap(soap_server: SoapServer) -> None:
    body = f"{HEAD}<groupUUIDs><item>no-such-group</item></groupUUIDs>"
    err = err_of(soap_server.post(soap(soap_server, "sendSms", body), "sendSms"))
    assert (err["code"], err["smsCode"]) == ("ERR_PARENT_CONTACT_GROUP_NOT_FOUND", "SMS10")
