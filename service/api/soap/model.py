"""A small, Spyne-free description of SOAP types, used twice: WSDL and responses.

The operation table (operations.py) is plain data written with `struct`, `list_of` and the
scalar kinds below. `TypeCompiler` turns it into fresh Spyne classes for one target
namespace, for the WSDL (Spyne mutates classes while it builds an interface, so classes
are never shared between two applications; tests build several). `ElementWriter` writes
response elements from the same description, so answers match the schema by construction.

Two directions, two sets of rules (shared/spec/soap-notes.md):
- inputs: `nillable=False, min_occurs=0`, ints as xs:int or xs:long, so that wsimport
  generates `Integer`/`Long`/`String`, not `JAXBElement<BigInteger>`;
- outputs: every documented key is always written (`min_occurs=1`) and a missing value is
  `xsi:nil="true"` (`nillable=True`): PHP sees null instead of an undefined property,
  wsimport still generates plain nullable `Integer`/`String`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.model.complex import Array, ComplexModel
from spyne.model.primitive import AnyDict, AnyXml, Boolean, Integer32, Integer64, Unicode

INT, LONG, STR, BOOL, ANY = "int", "long", "string", "boolean", "anyType"
# A free-form object (xs:anyType), e.g. a contact's custom `details`: its keys become
# child elements, lists `<item>`s.
OBJECT = "object"
_SCALARS: dict[str, Any] = {
    INT: Integer32,
    LONG: Integer64,
    STR: Unicode,
    BOOL: Boolean,
    ANY: AnyXml,
    OBJECT: AnyDict,
}


@dataclass(frozen=True)
class Struct:
    """A named complex type: ordered (name, type) fields."""

    name: str
    fields: tuple[tuple[str, Any], ...]

    def names(self) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(name for name, _ in self.fields)


@dataclass(frozen=True)
class ListOf:
    """A wrapped list: `<field><item>…</item>…</field>`, the vendor's array form."""

    item: Any
    name: str


def struct(name: str, **fields: Any) -> Struct:
    """A complex type with the given fields, in keyword order."""
    return Struct(name, tuple(fields.items()))


def list_of(item: Any, name: str) -> ListOf:
    """A list type named `name` whose elements are `<item>`s of `item`."""
    return ListOf(item, name)


class TypeCompiler:
    """Builds (and memoises) the Spyne classes of one application's namespace."""

    def __init__(self, tns: str) -> None:
        self.tns = tns
        self._done: dict[tuple[str, str], Any] = {}

    def input(self, kind: Any) -> Any:
        """The Spyne type of a request field."""
        return self._compile(kind, "in").customize(nillable=False, min_occurs=0)

    def output(self, kind: Any) -> Any:
        """The Spyne type of a response field (always present, nil when null)."""
        return self._compile(kind, "out").customize(nillable=True, min_occurs=1)

    def extra(self, kind: Struct) -> Any:
        """A type published in the schema without being used by an operation."""
        return self._compile(kind, "in")

    def _compile(self, kind: Any, way: str) -> Any:
        if isinstance(kind, str):
            return _SCALARS[kind]
        key = (kind.name, way)
        if key not in self._done:
            self._done[key] = self._build(kind, way)
        return self._done[key]

    def _build(self, kind: Struct | ListOf, way: str) -> Any:
        field = self.input if way == "in" else self.output
        if isinstance(kind, ListOf):
            item = self._compile(kind.item, way).customize(
                min_occurs=0, max_occurs="unbounded", nillable=False
            )
            return Array(item, member_name="item", type_name=kind.name).customize(
                __namespace__=self.tns
            )
        members = [(name, field(sub)) for name, sub in kind.fields]
        return ComplexModel.produce(self.tns, kind.name, dict(members))


Writer = Callable[[Any, str, Any], None]
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# Characters XML 1.0 cannot carry (lxml refuses them): written as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class ElementWriter:
    """Writes the services' plain `data` as response elements, following the same kinds
    the WSDL was compiled from (so the document matches the schema by construction).

    Child elements are unqualified; a declared key the service did not return, or
    returned as None, is `xsi:nil="true"`; keys the SOAP type does not declare are
    dropped (the JSON API may carry more). Spyne's own serialiser is not used for
    results: it is a third of the adapter's time per request.
    """

    def __init__(self) -> None:
        self._writers: dict[str, Writer] = {}

    def writer(self, kind: Any) -> Writer:
        """A function (parent, name, value) appending `<name>` for `value` of `kind`."""
        if isinstance(kind, str):
            return _scalar_writer(kind)
        if kind.name not in self._writers:
            self._writers[kind.name] = self._make(kind)
        return self._writers[kind.name]

    def _make(self, kind: Struct | ListOf) -> Writer:
        if isinstance(kind, ListOf):
            each = self.writer(kind.item)

            def write_list(parent: Any, name: str, value: Any) -> None:
                element = _sub(parent, name, value)
                for item in () if value is None else _as_list(value):
                    if item is not None:  # list items are not nillable in the schema
                        each(element, "item", item)

            return write_list
        fields = [(name, self.writer(sub)) for name, sub in kind.fields]

        def write_struct(parent: Any, name: str, value: Any) -> None:
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{kind.name}: expected an object, got {type(value).__name__}")
            element = _sub(parent, name, value)
            if value is not None:
                for field, write in fields:
                    write(element, field, value.get(field))

        return write_struct


def _sub(parent: Any, name: str, value: Any) -> Any:
    element = etree.SubElement(parent, name)
    if value is None:
        element.set(XSI_NIL, "true")
    return element


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _scalar_writer(kind: str) -> Writer:
    convert = _SCALAR_TEXT[kind]

    def write(parent: Any, name: str, value: Any) -> None:
        element = _sub(parent, name, value)
        if value is None:
            return
        if kind == OBJECT:
            _write_object(element, value)
        else:
            _set_text(element, convert(value))

    return write


def _set_text(element: Any, text: str) -> None:
    try:
        element.text = text
    except ValueError:  # a control character in stored text must not break the answer
        element.text = _NOT_XML.sub("\ufffd", text)


def _write_object(element: Any, value: Any) -> None:
    """A free-form value: dict keys as children, lists as repeated `<item>`s."""
    if isinstance(value, dict):
        for key, sub in value.items():
            child = _sub(element, str(key), sub)
            if sub is not None:
                _write_object(child, sub)
    elif isinstance(value, list | tuple):
        for sub in value:
            child = _sub(element, "item", sub)
            if sub is not None:
                _write_object(child, sub)
    else:
        _set_text(element, _text(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int_text(value: Any) -> str:
    return str(int(value))


_SCALAR_TEXT: dict[str, Callable[[Any], str]] = {
    INT: _int_text,
    LONG: _int_text,
    STR: _text,
    BOOL: lambda v: "true" if v else "false",
    ANY: _text,
    OBJECT: _text,
}
