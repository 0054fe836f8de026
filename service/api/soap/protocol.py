"""Spyne's SOAP 1.1 protocol, bent to the vendor's wire format and hardened.

- Parsing: our own lxml parser (no DTD, no entities, no network); any DOCTYPE is refused
  before and after parsing (SOAP 1.1 forbids DTDs), and so is nesting deeper than
  MAX_DEPTH. A body with more than MAX_ELEMENTS start tags is refused before it is
  parsed: the work per request is linear in the body and bounded by that number (each
  operation may then allow fewer, see service.py). The document is never logged (it
  carries passwords).
- Routing: on the local name of the Body's first element, in any namespace or none, so
  the vendor's examples (`xmlns:sms="http://localhost:9587/wsdl/sms"`) and clients built
  from another server's WSDL work whatever our target namespace is.
- Deserialising: skipped. The operation reads the request from the document
  (wire.py), so Spyne's typed decoding can neither reject `<commercial></commercial>`
  nor echo a bad value (a password, say) into a fault.
- Serialising: the operation hands back its finished `<result>` (a Reply, children
  unqualified as in the vendor's examples and as the WSDL says with
  elementFormDefault="unqualified"); the envelope is written here, with the response
  element in the request's namespace, so a client that sent another namespace finds its
  answer where it expects it. Faults keep Spyne's serialisation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.const.http import HTTP_405
from spyne.error import RequestNotAllowed
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11
from spyne.server.http import HttpTransportContext

from service.api.soap.wire import (
    children,
    elements_below,
    local_name,
    max_depth,
    start_tags,
)

NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_DEPTH = 32  # our deepest request is Envelope/Body/op/numbers/item/nr: 6
# The largest legitimate request is a sendSms to 100,000 recipients; its most verbose
# form, PHP's associative arrays (an Apache Map per recipient: <item> holding an
# <item><key/><value/></item> pair for each of nr, msg and xid), takes 10 elements per
# recipient: 1,000,000. 2**20 leaves room for the envelope and the other fields.
MAX_ELEMENTS = 2**20
# Header blocks carry credentials (ours, WS-Security) and perhaps WS-Addressing: a few
# dozen elements. They are read before the operation's budget is checked.
MAX_HEADER_ELEMENTS = 256
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


@dataclass(frozen=True)
class Reply:
    """What an operation returns: its finished `<result>` element (see service.py)."""

    element: Any


class VendorSoap11(Soap11):
    """SOAP 1.1 as the Node API's clients speak it (see the module docstring)."""

    def __init__(self, budgets: Mapping[str, int] | None = None) -> None:
        super().__init__(validator=None, cleanup_namespaces=False)
        self._parsers = threading.local()
        # Elements each operation may hold, by its name: checked before parsing, so a
        # small operation padded with junk is refused for the cost of counting bytes.
        self._budgets = dict(budgets or {})
        self._smallest = min(self._budgets.values(), default=MAX_ELEMENTS)

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        """Parse the request body safely into ctx.in_document."""
        transport = ctx.transport
        if isinstance(transport, HttpTransportContext) and transport.get_request_method() != "POST":
            transport.resp_code = HTTP_405
            raise RequestNotAllowed("Send SOAP requests with POST.")
        body = b"".join(_as_bytes(chunk, charset) for chunk in ctx.in_string)
        ctx.in_document = self._parse(_to_utf8(body, charset))

    def _parse(self, body: bytes) -> Any:
        if any(marker in body for marker in _DTD_MARKERS):
            raise Fault("Client.DTDForbidden", "DTDs are not allowed in SOAP messages.")
        tags = start_tags(body)
        if tags > MAX_ELEMENTS:
            raise too_many_elements(MAX_ELEMENTS)
        if tags > self._smallest:
            budget = self._budget(operation_name(body))
            if tags > budget:
                raise too_many_elements(budget)
        try:
            root = etree.fromstring(body, self._parser())
        except etree.XMLSyntaxError as exc:
            raise Fault("Client.XMLSyntaxError", _syntax_message(exc)) from None
        if root is None:
            raise Fault("Client.XMLSyntaxError", "Empty document.")
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. a UTF-16 DOCTYPE
            raise Fault("Client.DTDForbidden", "DTDs are not allowed in SOAP messages.")
        if max_depth(root, MAX_DEPTH):
            raise Fault("Client.TooDeep", f"Elements nest deeper than {MAX_DEPTH}.")
        return root

    def _budget(self, name: str | None) -> int:
        # Unknown operations are refused anyway: they get the smallest budget. A body whose
        # operation cannot be told from its bytes is left to the parser and checked after.
        if name is None:
            return MAX_ELEMENTS
        return self._budgets.get(name, self._smallest)

    def _parser(self) -> Any:
        # lxml parsers keep per-parse state: one per thread.
        parser = getattr(self._parsers, "parser", None)
        if parser is None:
            parser = etree.XMLParser(
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                dtd_validation=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                collect_ids=False,
            )
            self._parsers.parser = parser
        return parser

    def decompose_incoming_envelope(self, ctx: Any, message: Any = None) -> None:
        """Find the header blocks and the operation element; route by its local name."""
        root = ctx.in_document
        if root.tag != f"{{{NS_SOAP11}}}Envelope":
            raise Fault("Client.SoapError", "Expected a SOAP 1.1 Envelope.")
        # find() and a single next(): an Envelope or Body may hold a million siblings.
        body = root.find(f"{{{NS_SOAP11}}}Body")
        operation = next(body.iterchildren(etree.Element), None) if body is not None else None
        if operation is None:
            raise Fault("Client.SoapError", "The SOAP Body is empty.")
        header = root.find(f"{{{NS_SOAP11}}}Header")
        if header is not None and elements_below(header) > MAX_HEADER_ELEMENTS:
            raise Fault(
                "Client.HeaderTooLarge",
                f"The SOAP Header holds more than {MAX_HEADER_ELEMENTS} elements.",
            )
        ctx.in_header_doc = children(header) if header is not None else None
        ctx.in_body_doc = operation
        ctx.method_request_string = f"{{{self.app.interface.get_tns()}}}{local_name(operation)}"

    def deserialize(self, ctx: Any, message: Any) -> None:
        """Leave decoding to the operation (wire.py); Spyne gets empty arguments."""
        self.event_manager.fire_event("before_deserialize", ctx)
        ctx.in_header = None
        ctx.in_object = [None] * len(ctx.descriptor.in_message._type_info)
        self.event_manager.fire_event("after_deserialize", ctx)

    def serialize(self, ctx: Any, message: Any) -> None:
        """The envelope around an operation's Reply; faults are Spyne's own."""
        reply = ctx.out_object[0] if ctx.out_error is None and ctx.out_object else None
        if not isinstance(reply, Reply):
            super().serialize(ctx, message)
            etree.cleanup_namespaces(ctx.out_document)
            return
        self.event_manager.fire_event("before_serialize", ctx)
        namespace = _namespace(ctx.in_body_doc) or self.app.interface.get_tns()
        envelope = etree.Element(
            f"{{{NS_SOAP11}}}Envelope",
            nsmap={"soap11env": NS_SOAP11, "xsi": NS_XSI, "tns": namespace},
        )
        body = etree.SubElement(envelope, f"{{{NS_SOAP11}}}Body")
        response_name = ctx.descriptor.out_message.get_type_name()
        etree.SubElement(body, f"{{{namespace}}}{response_name}").append(reply.element)
        ctx.out_document, ctx.out_body_doc = envelope, body
        self.event_manager.fire_event("after_serialize", ctx)


# The first element inside the SOAP Body, as bytes: what the request asks for.
_OPERATION = re.compile(
    rb"<(?:[\w.-]+:)?Body\b[^>]*>(?:\s|<!--.*?-->)*<(?:[\w.-]+:)?([\w.-]+)", re.S
)


def operation_name(body: bytes) -> str | None:
    """The local name of the Body's first element, read from the bytes (no parsing);
    None when it cannot be told (parsing decides then, and the budget is checked again
    on the parsed document)."""
    found = _OPERATION.search(body)
    return found.group(1).decode("ascii", "replace") if found else None


def too_many_elements(limit: int) -> Fault:
    """The client fault for a request with more than `limit` elements."""
    return Fault(
        "Client.TooManyElements",
        f"The request has more than {limit} XML elements; send large packages in parts.",
    )


def _namespace(element: Any) -> str | None:
    if element is None or not isinstance(element.tag, str) or element.tag[0] != "{":
        return None
    return str(element.tag[1:].partition("}")[0])


def _as_bytes(chunk: Any, charset: str | None) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    return str(chunk).encode(charset or "utf-8")


def _to_utf8(body: bytes, charset: str | None) -> bytes:
    """Honour the Content-Type charset of a body without an XML declaration.

    With a declaration (PHP's SoapClient writes one for encoding=ISO-8859-9), lxml reads
    the document's own encoding; without one it would assume UTF-8.
    """
    if (
        not charset
        or charset.lower().replace("_", "-") in ("utf-8", "utf8", "us-ascii")
        or body.lstrip().startswith((b"<?xml", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    ):
        return body
    try:
        return body.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        raise Fault("Client.Encoding", "The body does not match its charset.") from None


def _syntax_message(exc: Exception) -> str:
    # lxml's messages name the problem and the line, never the content around it.
    return str(exc).splitlines()[0][:200]
