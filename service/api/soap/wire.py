"""From the request's XML to the plain values the services take, and credentials.

Requests are read from the parsed document, not from Spyne's typed deserialisation:
- the vendor's examples send `<commercial></commercial>` for an xs:int and
  `<numbers>` holding either numbers or `{nr, msg}` structs; Spyne can express neither;
- values are coerced once, by the Node API's Params, exactly as over JSON, so a bad value
  is the same ERR_INVALID_PARAM on both protocols instead of a Spyne validation fault.

Rules (element names compare by local name; namespaces and xsi:type are ignored):
- a leaf element gives its text; an empty or `xsi:nil` element is "not given" (left out);
- an element whose children are all `<item>` gives a list (`<numbers>`, `<ids>`);
  an empty `<item/>` in a list is an error, never silently dropped;
- any other element with children gives a dict; a child repeated gives a list;
- a dict whose children were all empty is itself "not given" (`<pushSettings><url/>`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from service.api.node.params import list_items

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
CREDENTIAL_FIELDS = ("username", "password")


def local_name(element: Any) -> str:
    """The tag without its namespace."""
    tag = str(element.tag)
    return tag.rpartition("}")[2] if tag[0] == "{" else tag


def children(element: Any) -> list[Any]:
    """Element children only (no comments or processing instructions)."""
    return list(element.iterchildren(etree.Element))


def request_fields(operation: Any) -> dict[str, Any]:
    """The operation element's children as the JSON API's field dict (credentials kept)."""
    return _as_dict(operation, children(operation), path="") or {}


def _value(element: Any, path: str) -> Any:
    if element.get(XSI_NIL) in ("true", "1"):
        return None
    kids = children(element)
    if not kids:
        text = element.text
        return text if text and text.strip() else None
    if all(local_name(k) == "item" for k in kids):
        return _as_list(kids, path)
    return _as_dict(element, kids, path)


def _as_list(items: Iterable[Any], path: str) -> list[Any]:
    return list_items((_value(item, f"{path}[{i}]") for i, item in enumerate(items)), path)


def _as_dict(element: Any, kids: list[Any], path: str) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    for kid in kids:
        name = local_name(kid)
        value = _value(kid, f"{path}.{name}" if path else name)
        if value is None:
            continue
        if name in result:  # a repeated element is a list, the unwrapped array form
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    return result or None


def split_credentials(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """(fields without credentials, username, password) from the body's fields."""
    rest = {k: v for k, v in fields.items() if k.lower() not in CREDENTIAL_FIELDS}
    lowered = {k.lower(): v for k, v in fields.items() if k.lower() in CREDENTIAL_FIELDS}
    return rest, _text(lowered.get("username")), _text(lowered.get("password"))


def header_credentials(header_elements: Iterable[Any] | None) -> tuple[str | None, str | None]:
    """Username and password from SOAP header blocks.

    Any block holding `username`/`password` descendants counts: our published
    `<Credentials>` header, WS-Security's UsernameToken, or a vendor-style AuthHeader.
    """
    username = password = None
    for block in header_elements or ():
        if not isinstance(block.tag, str):
            continue
        for element in block.iter():
            if not isinstance(element.tag, str) or children(element):
                continue
            name = local_name(element).lower()
            if name == "username" and username is None:
                username = element.text
            elif name == "password" and password is None:
                password = element.text
    return username, password


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def max_depth(root: Any, limit: int) -> bool:
    """True when the tree nests deeper than `limit` elements."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False
