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
- an element whose children are all `<item><key/><value/></item>` pairs gives a dict: an
  Apache Map, PHP's SoapClient's form of an associative array under xs:anyType
  (`['nr' => …, 'msg' => …]` as a `<numbers>` item);
- any other element with children gives a dict; a child repeated gives a list;
- a dict whose children were all empty is itself "not given" (`<pushSettings><url/>`).

Every element is visited once, so the cost is linear in the document; protocol.py bounds
the number of elements before parsing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from lxml import etree

from service.api.node.params import list_items

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
CREDENTIAL_FIELDS = ("username", "password")


def local_name(element: Any) -> str:
    """The tag without its namespace."""
    tag = str(element.tag)
    return tag[tag.rfind("}") + 1 :]


def children(element: Any) -> list[Any]:
    """Element children only (no comments or processing instructions)."""
    # A type test, not kid.tag (which builds a string per child), and not
    # iterchildren(etree.Element) (twice the cost per call, paid once per element).
    return [kid for kid in element if not isinstance(kid, _NOT_ELEMENTS)]


def request_fields(operation: Any) -> dict[str, Any]:
    """The operation element's children as the JSON API's field dict (credentials kept)."""
    return _as_dict(children(operation), path="") or {}


def _value(element: Any, path: str) -> Any:
    if element.get(XSI_NIL) in ("true", "1"):
        return None
    if not len(element):  # comments and PIs are removed by the parser: children only
        text = element.text
        return text if text and text.strip() else None
    kids = children(element)
    if all(local_name(k) == "item" for k in kids):
        pairs = _map_pairs(kids)
        if pairs is not None:
            return _collect(((key, _value(value, f"{path}.{key}")) for key, value in pairs))
        return _as_list(kids, path)
    return _as_dict(kids, path)


def _as_list(items: Iterable[Any], path: str) -> list[Any]:
    # Items' errors name the list's field, as list_items does for a blank item.
    return list_items((_value(item, path) for item in items), path)


def _as_dict(kids: list[Any], path: str) -> dict[str, Any] | None:
    prefix = f"{path}." if path else ""
    named = ((local_name(kid), kid) for kid in kids)
    return _collect(((name, _value(kid, prefix + name)) for name, kid in named))


def _map_pairs(items: list[Any]) -> list[tuple[str, Any]] | None:
    """[(key, value element)] when every item is a `<key>text</key><value/>` pair."""
    pairs = []
    for item in items:
        if len(item) != 2:
            return None
        key, value = item
        if local_name(key) != "key" or local_name(value) != "value" or len(key):
            return None
        name = (key.text or "").strip()
        if not name:
            return None
        pairs.append((name, value))
    return pairs


def _collect(entries: Iterable[tuple[str, Any]]) -> dict[str, Any] | None:
    """A dict of the given values, "not given" ones left out, a repeated name a list.

    Values of a repeated name are gathered first and turned into a list once: growing a
    new list per repetition made a body of repeated elements cost quadratic time.
    """
    grouped: dict[str, list[Any]] = {}
    for name, value in entries:
        if value is not None:
            grouped.setdefault(name, []).append(value)
    return {name: vals[0] if len(vals) == 1 else vals for name, vals in grouped.items()} or None


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
        for element in _CREDENTIAL_LEAVES_BELOW(block):
            name = local_name(element).lower()
            if name == "username" and username is None:
                username = element.text
            elif name == "password" and password is None:
                password = element.text
    return username, password


def body_credentials(operation: Any) -> tuple[str | None, str | None]:
    """Username and password from the operation's own `<username>`/`<password>` leaves."""
    found: dict[str, str | None] = {}
    for child in operation:
        tag = child.tag
        # Both names have 8 letters: a cheap test first, the operation may have a
        # million children.
        if isinstance(tag, str) and tag[-8:].lower() in CREDENTIAL_FIELDS and not len(child):
            name = local_name(child).lower()
            if name in CREDENTIAL_FIELDS:
                text = child.text
                found.setdefault(name, text if text and text.strip() else None)
    return found.get("username"), found.get("password")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def max_depth(root: Any, limit: int) -> bool:
    """True when the tree nests deeper than `limit` elements (evaluated by libxml2)."""
    return bool(_deeper_than(limit)(root))


def element_count(root: Any) -> int:
    """The number of elements in the document of `root` (counted by libxml2)."""
    return int(_COUNT_ELEMENTS(root))


def start_tags(body: bytes) -> int:
    """An upper bound on the elements of an XML body, counted without parsing it.

    Every `<` that does not open an end tag, a comment, a CDATA section, a PI or the XML
    declaration; a `<` inside a comment or a CDATA section counts too.
    """
    return body.count(b"<") - body.count(b"</") - body.count(b"<!") - body.count(b"<?")


@lru_cache(maxsize=8)
def _deeper_than(limit: int) -> Any:
    # Relative to the element given: "*/*" from the root finds elements at depth 3.
    return etree.XPath(f"boolean({'/'.join(['*'] * limit)})")


# Credential leaves of header blocks by lower-cased local name, found by libxml2 (the
# header's size is bounded separately, see protocol.MAX_HEADER_ELEMENTS).
_LOWER = "translate(local-name(), 'ADEMNOPRSUW', 'ademnoprsuw')"
_IS_CREDENTIAL = f"not(*) and ({_LOWER} = 'username' or {_LOWER} = 'password')"
_CREDENTIAL_LEAVES_BELOW = etree.XPath(f"descendant-or-self::*[{_IS_CREDENTIAL}]")
_COUNT_ELEMENTS = etree.XPath("count(//*)")
_COUNT_BELOW = etree.XPath("count(.//*)")
_NOT_ELEMENTS = (etree._Comment, etree._ProcessingInstruction, etree._Entity)


def elements_below(element: Any) -> int:
    """The number of elements inside `element` (counted by libxml2)."""
    return int(_COUNT_BELOW(element))
