"""Reading SOAP responses in tests: the <result> element, and XML as plain values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from lxml import etree

VENDOR = Path(__file__).with_name("vendor")
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def vendor_example(name: str) -> bytes:
    """One of the vendor's request envelopes, as bytes."""
    return (VENDOR / name).read_bytes()


def result_of(response: requests.Response) -> etree._Element:
    """The <result> of an operation response; checks HTTP 200 and unqualified children."""
    assert response.status_code == 200, response.text
    body = etree.fromstring(response.content).find(f"{{{ENV}}}Body")
    (op_response,) = body
    assert op_response.tag.endswith("Response"), op_response.tag
    (res,) = op_response
    assert res.tag == "result"
    for element in res.iter():
        assert "}" not in element.tag, f"qualified element {element.tag}"
    return res


def plain(element: etree._Element | None) -> Any:
    """An element as plain values: nil -> None, <item> lists -> list, text as str."""
    if element is None or element.get(XSI_NIL) == "true":
        return None
    kids = list(element)
    if not kids:
        return element.text or ""
    if all(k.tag == "item" for k in kids):
        return [plain(k) for k in kids]
    return {k.tag: plain(k) for k in kids}


def data_of(response: requests.Response) -> Any:
    """`data` of a successful response as plain values (fails on <err>)."""
    res = result_of(response)
    assert res.find("err").get(XSI_NIL) == "true", etree.tostring(res)
    return plain(res.find("data"))


def err_of(response: requests.Response) -> dict[str, Any]:
    """`err` of a failed response as plain values (fails on success)."""
    res = result_of(response)
    assert res.find("data").get(XSI_NIL) == "true", etree.tostring(res)
    err = plain(res.find("err"))
    assert isinstance(err, dict)
    return err


def same_as_json(soap: Any, json_value: Any) -> bool:
    """Whether a SOAP value (all text) carries the JSON value (typed)."""
    if json_value is None:
        return soap is None
    if isinstance(json_value, bool):
        return bool(soap == ("true" if json_value else "false"))
    if isinstance(json_value, dict):
        return isinstance(soap, dict) and all(
            k in soap and same_as_json(soap[k], v) for k, v in json_value.items()
        )
    if isinstance(json_value, list):
        soap_list = soap or []
        return len(soap_list) == len(json_value) and all(
            same_as_json(s, j) for s, j in zip(soap_list, json_value, strict=True)
        )
    return bool(soap == str(json_value))
