"""The Node API over SOAP 1.1 (Spyne): `POST /soap`, WSDL at `GET /soap?wsdl`.

`make_soap_app(platform)` returns the WSGI callable that service.app mounts at /soap.
Every function of service.api.node.registry is one operation (named by its `soap_name`),
declared as data in operations.py and run by one generic body (service.py) through
the operation's handler, the same path as the JSON API.

Decisions (see also the docstrings of front.py, protocol.py, wire.py, model.py):

- Target namespace: `settings.soap_namespace` when set, else `<public URL>/wsdl/sms`,
  the vendor's pattern (`http://localhost:9587/wsdl/sms` for the default URL, which is
  also the committed wsdl/sms.wsdl). Requests are routed on the operation element's
  local name in any namespace (or none), and the response element is written in the
  namespace the request used. So the vendor's examples, and clients generated from the
  vendor's own WSDL, work unchanged even when our namespace differs.
- soap:address: `<public URL>/soap`, built once at start-up; never from the Host header.
  With `trusted_proxies` > 0, X-Forwarded-Proto/-Host/-Port of the trusted hop move the
  address (not the namespace); those documents are cached per address (front.py).
- Credentials: `<username>`/`<password>` in the operation element (every vendor
  example), else any SOAP header block holding username/password elements (our
  published `Credentials` header, WS-Security UsernameToken), else HTTP Basic Auth.
- Errors: a DomainError, authentication failures (401) and throttling (429, with
  Retry-After) included, is an HTTP 200 response with `<err>` filled (status, code,
  message, smsCode, field) and `<data xsi:nil="true"/>`: the vendor's protocol puts
  errors in `<err>`, and generated clients cannot read a non-200 answer that is not a
  Fault (checked: JAX-WS throws ClientTransportException "HTTP status code 401", zeep
  "Unknown fault occured"; only PHP's SoapClient reads it). An unexpected exception is logged
  and answered the same way with ERR_INTERNAL_SERVER. Malformed XML, a DTD, too deep
  nesting, a non-SOAP-1.1 envelope or an unknown operation are SOAP Faults (HTTP 500,
  as SOAP 1.1 requires). A body over `max_body_bytes` is 413 before it is parsed.
- Nulls: on success `<err xsi:nil="true"/>`; every documented key of `data` is written,
  missing values as `xsi:nil="true"`: PHP and JAX-WS read null (an empty `<err/>` would
  be a non-null, empty Error object in Java and .NET), node-soap leaves the key out.
  zeep is the exception: it reads a nil *complex* element as an object whose fields
  are all None, so zeep users test `result.err.code` rather than `result.err`.
- Requests: empty or nil elements mean "not given"; lists are `<x><item/>…</x>`;
  `<numbers>` items are numbers (1-N) or `<nr/><msg/>` structs (N-N), read from the XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import spyne.const
from lxml import etree
from spyne.server.wsgi import WsgiApplication

from service.api.node.registry import Operation
from service.api.soap import logs
from service.api.soap.front import SoapFront, WsdlDocuments
from service.api.soap.service import build_application

XS = "http://www.w3.org/2001/XMLSchema"

__all__ = ["make_soap_app", "public_url", "target_namespace"]


def public_url(settings: Any) -> str:
    """The externally visible base URL, without a trailing slash."""
    base = getattr(settings, "base_url", None) or settings.public_url or "http://localhost:9587"
    return str(base).rstrip("/")


def target_namespace(settings: Any) -> str:
    """The WSDL's target namespace: configured, or the vendor's `<public URL>/wsdl/sms`."""
    return getattr(settings, "soap_namespace", None) or f"{public_url(settings)}/wsdl/sms"


def canonical(document: bytes) -> bytes:
    """The WSDL as served and committed: schema types sorted by name, indented.

    Spyne emits schema types in an order that varies between processes; sorting them
    (their order carries no meaning) keeps wsdl/sms.wsdl stable and diffs readable.
    """
    root = etree.fromstring(document, etree.XMLParser(remove_blank_text=True))
    for schema in root.iter(f"{{{XS}}}schema"):
        schema[:] = sorted(schema, key=_schema_order)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _schema_order(node: Any) -> tuple[int, str]:
    kinds = ("import", "simpleType", "complexType", "element")
    kind = etree.QName(node).localname if isinstance(node.tag, str) else ""
    return (kinds.index(kind) if kind in kinds else len(kinds), str(node.get("name", "")))


def make_soap_app(platform: Any, operations: Sequence[Operation] | None = None) -> SoapFront:
    """The WSGI app serving SOAP for this platform (mounted at /soap): every Node API
    function, or the `operations` given (tests give fakes)."""
    settings = platform.settings
    base = public_url(settings)
    application = build_application(platform, target_namespace(settings), operations)
    spyne_app = WsgiApplication(application, max_content_length=settings.max_body_bytes + 1)
    wsdl11 = application.interface.docs.wsdl11
    wsdl11.build_interface_document(f"{base}/soap")
    document = canonical(wsdl11.get_interface_document())
    logs.install()
    # Spyne runs a full gc.collect() after a request at most once a second, for file
    # attachments we do not accept: tens of milliseconds of pause per worker per second.
    spyne.const.MIN_GC_INTERVAL = float("inf")
    return SoapFront(
        spyne_app, WsdlDocuments(document, base, settings.trusted_proxies), settings.max_body_bytes
    )
