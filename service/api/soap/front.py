"""The WSGI layer in front of Spyne: the WSDL, the body size cap, the request body.

- `GET /soap?wsdl` is answered here from a document built once at start-up for the
  configured public URL. Spyne never builds it from a request, so a forged Host header
  cannot poison it (Spyne caches the first request's Host for the life of the process).
- With `trusted_proxies` > 0 the soap:address follows X-Forwarded-Proto/-Host/-Port as a
  trusted proxy sets them (the value `trusted_proxies` hops from the right, as werkzeug's
  ProxyFix reads them; the plain Host header is never used). Such documents are derived
  from the start-up one (only the address changes, never the namespace) and kept in a
  small cache keyed by the address itself, so one request's address can never be served
  to another request.
- A POST body is read here with a hard cap (413 before any parsing; Spyne would answer
  an oversize body with a 500 fault after reading it), then handed to Spyne.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from threading import Lock
from typing import Any, cast
from urllib.parse import urlsplit

from lxml import etree

NS_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]{1,5})?$"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_XML = "text/xml; charset=utf-8"

StartResponse = Callable[..., Any]


class WsdlDocuments:
    """The served WSDL: the start-up document, or one relocated for a trusted proxy."""

    MAX_VARIANTS = 16

    def __init__(self, document: bytes, public_url: str, trusted_proxies: int) -> None:
        self.document = document
        parts = urlsplit(public_url)
        self.scheme, self.netloc, self.path = parts.scheme, parts.netloc, parts.path.rstrip("/")
        self.address = f"{public_url.rstrip('/')}/soap"
        self.hops = max(0, int(trusted_proxies))
        self._variants: OrderedDict[str, bytes] = OrderedDict()
        self._lock = Lock()

    def for_request(self, environ: dict[str, Any]) -> bytes:
        """The WSDL to answer this request with."""
        address = self.forwarded_address(environ) if self.hops else None
        if address is None or address == self.address:
            return self.document
        with self._lock:
            if address in self._variants:
                self._variants.move_to_end(address)
                return self._variants[address]
        variant = relocate(self.document, address)
        with self._lock:
            self._variants[address] = variant
            while len(self._variants) > self.MAX_VARIANTS:
                self._variants.popitem(last=False)
        return variant

    def forwarded_address(self, environ: dict[str, Any]) -> str | None:
        """The soap:address a trusted proxy's X-Forwarded-* headers describe, if any."""
        proto = _trusted(environ, "HTTP_X_FORWARDED_PROTO", self.hops)
        host = _trusted(environ, "HTTP_X_FORWARDED_HOST", self.hops)
        port = _trusted(environ, "HTTP_X_FORWARDED_PORT", self.hops)
        if proto is None and host is None:
            return None
        scheme = (proto or self.scheme).lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        netloc = host or self.netloc.rpartition("@")[2]
        if port and port.isdigit() and not netloc.endswith("]") and ":" not in netloc:
            netloc = netloc if _DEFAULT_PORTS[scheme] == port else f"{netloc}:{port}"
        if not _HOST.match(netloc):
            return None
        return f"{scheme}://{netloc}{self.path}/soap"


def _trusted(environ: dict[str, Any], key: str, hops: int) -> str | None:
    values = [v.strip() for v in str(environ.get(key, "")).split(",")]
    values = [v for v in values if v]
    return values[-hops] if len(values) >= hops else None


def relocate(document: bytes, address: str) -> bytes:
    """The WSDL with every soap:address location set to `address`."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    for element in root.iter(f"{{{NS_WSDL_SOAP}}}address"):
        element.set("location", address)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class SoapFront:
    """WSGI callable: WSDL requests, the size cap, then Spyne."""

    def __init__(self, spyne_app: Any, wsdl: WsdlDocuments, max_body_bytes: int) -> None:
        self.spyne_app = spyne_app
        self.wsdl = wsdl
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method in ("GET", "HEAD") and _wants_wsdl(environ):
            body = self.wsdl.for_request(environ)
            start_response("200 OK", [("Content-Type", _XML), ("Content-Length", str(len(body)))])
            return [] if method == "HEAD" else [body]
        if method == "POST":
            payload = read_body(environ, self.max_body_bytes)
            if payload is None:
                return too_large(start_response, self.max_body_bytes)
            environ["wsgi.input"] = io.BytesIO(payload)
            environ["CONTENT_LENGTH"] = str(len(payload))
            if not environ.get("CONTENT_TYPE"):  # Spyne insists; hand-made clients forget
                environ["CONTENT_TYPE"] = _XML
        return cast(Iterable[bytes], self.spyne_app(environ, start_response))


def _wants_wsdl(environ: dict[str, Any]) -> bool:
    query = str(environ.get("QUERY_STRING", ""))
    return query.split("=")[0].split("&")[0].lower() == "wsdl" or str(
        environ.get("PATH_INFO", "")
    ).endswith(".wsdl")


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    stream = environ.get("wsgi.input")
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not length_text.isdigit() or int(length_text) > limit:
            return None
        wanted = int(length_text)
    elif environ.get("wsgi.input_terminated"):
        wanted = limit + 1  # chunked: read until the end, one byte past the cap at most
    else:
        return b""
    chunks, size = [], 0
    while stream is not None and size < wanted:
        chunk = stream.read(min(65536, wanted - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def too_large(start_response: StartResponse, limit: int) -> list[bytes]:
    """413 with a SOAP fault explaining the limit."""
    body = fault_document(
        "Client.RequestTooLarge", f"The request body is larger than {limit} bytes."
    )
    start_response(
        "413 Request Entity Too Large",
        [("Content-Type", _XML), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


def fault_document(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault envelope."""
    env = "http://schemas.xmlsoap.org/soap/envelope/"
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"soap11env": env})
    fault = etree.SubElement(etree.SubElement(root, f"{{{env}}}Body"), f"{{{env}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap11env:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
