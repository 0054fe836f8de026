"""Every registry operation is a SOAP operation, with the types generated clients need."""

from __future__ import annotations

import pytest
from lxml import etree
from werkzeug.test import Client

from service.api.node.registry import OPERATIONS, Operation
from service.api.soap import make_soap_app
from service.api.soap.model import ANY, BOOL, INT, LONG, OBJECT, STR, ListOf, Struct
from service.api.soap.operations import SPECS
from tests.unit.test_soap_app import FakePlatform

XS = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
SOAP = "{http://schemas.xmlsoap.org/wsdl/soap/}"


@pytest.fixture(scope="module")
def wsdl() -> etree._Element:
    """The served WSDL of an app over a fake platform."""
    response = Client(make_soap_app(FakePlatform())).get("/?wsdl")
    assert response.status_code == 200
    return etree.fromstring(response.data)


def schema_types(wsdl: etree._Element) -> dict[str, etree._Element]:
    """complexType elements by name."""
    return {t.get("name"): t for t in wsdl.iter(f"{XS}complexType")}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.soap_name)
def test_every_registry_operation_is_in_the_wsdl(op: Operation, wsdl: etree._Element) -> None:
    assert op.path in SPECS, f"no SOAP spec for {op.path}: add it to operations.SPECS"
    port_ops = {o.get("name") for o in wsdl.find(f"{WSDL}portType")}
    assert op.soap_name in port_ops
    binding = wsdl.find(f"{WSDL}binding")
    (bop,) = [o for o in binding.findall(f"{WSDL}operation") if o.get("name") == op.soap_name]
    assert bop.find(f"{SOAP}operation").get("soapAction") == op.soap_name


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.soap_name)
def test_inputs_are_credentials_then_the_json_fields(op: Operation, wsdl: etree._Element) -> None:
    request = schema_types(wsdl)[op.soap_name]
    elements = request.findall(f"{XS}sequence/{XS}element")
    names = [e.get("name") for e in elements]
    assert names == ["username", "password", *SPECS[op.path].inputs.names()]
    for element in elements:  # Integer/String in wsimport, not JAXBElement<BigInteger>
        assert element.get("minOccurs") == "0"
        assert element.get("nillable") in (None, "false")
        assert element.get("type") != "xs:integer"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.soap_name)
def test_output_is_result_with_err_and_data(op: Operation, wsdl: etree._Element) -> None:
    types = schema_types(wsdl)
    (result,) = types[f"{op.soap_name}Response"].findall(f"{XS}sequence/{XS}element")
    assert result.get("name") == "result"
    result_type = types[result.get("type").split(":")[1]]
    names = [e.get("name") for e in result_type.findall(f"{XS}sequence/{XS}element")]
    assert names == ["err", "data"]


def test_schema_is_unqualified_and_publishes_the_nn_item_type(wsdl: etree._Element) -> None:
    schema = wsdl.find(f".//{XS}schema")
    assert schema.get("elementFormDefault") == "unqualified"
    types = schema_types(wsdl)
    assert [e.get("name") for e in types["NumberMessage"].iter(f"{XS}element")] == [
        "nr",
        "msg",
        "xid",
        "cfs",  # a number's placeholder values (the clients' {nr, cfs} form)
    ]
    (item,) = types["NumberList"].iter(f"{XS}element")
    assert (item.get("name"), item.get("type")) == ("item", "xs:anyType")


def _kinds(kind: object) -> list[object]:
    if isinstance(kind, Struct):
        return [k for _, sub in kind.fields for k in _kinds(sub)]
    if isinstance(kind, ListOf):
        return _kinds(kind.item)
    return [kind]


def test_specs_use_known_kinds_only() -> None:
    for spec in SPECS.values():
        for kind in _kinds(spec.inputs) + _kinds(spec.output):
            assert kind in (INT, LONG, STR, BOOL, ANY, OBJECT)


def test_soap_names_are_unique() -> None:
    names = [op.soap_name for op in OPERATIONS]
    assert len(names) == len(set(names))
