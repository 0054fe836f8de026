"""Hostile SOAP requests against a live server: refused in milliseconds, nothing changed."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import Database, make_platform
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import SoapServer, free_port, seed_vendor_user
from tests.unit.test_soap_safety import HOSTILE, SECRET_FILE_TEXT

LIMIT = 64 * 1024


@pytest.fixture
def small_server(sqlite_db: Database) -> Iterator[SoapServer]:
    """A live server with a 64 KiB body limit."""
    port = free_port()
    platform = make_platform(sqlite_db, public_url=f"http://127.0.0.1:{port}", max_body_bytes=LIMIT)
    seed_vendor_user(platform)
    server = SoapServer(platform, port)
    yield server
    server.close()
    platform.store.dispose()


def credit_and_packages(server: SoapServer, json_api: Api) -> tuple[int, int]:
    """The user's balance and package count, to show nothing changed."""
    credit = json_api.data("/user/credit")["credit"]
    return credit, json_api.data("/sms/list")["stats"]["totalRecord"]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_refused(name: str, soap_server: SoapServer, json_api: Api) -> None:
    before = credit_and_packages(soap_server, json_api)
    started = time.perf_counter()
    response = soap_server.post(HOSTILE[name])
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 500 and b"DTDForbidden" in response.content
    assert SECRET_FILE_TEXT.encode() not in response.content
    assert credit_and_packages(soap_server, json_api) == before


def test_send_with_entity_in_content_does_not_create_a_package(
    soap_server: SoapServer, json_api: Api
) -> None:
    before = credit_and_packages(soap_server, json_api)
    xml = (
        '<!DOCTYPE x [<!ENTITY e "905511034554">]>'
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        '<s:sendOtp xmlns:s="urn:x"><username>admin</username><password>123456</password>'
        "<number>&e;</number><sender>BASLIK</sender><content>x</content></s:sendOtp>"
        "</e:Body></e:Envelope>"
    )
    assert soap_server.post(xml).status_code == 500
    assert credit_and_packages(soap_server, json_api) == before


def test_oversize_body_is_413(small_server: SoapServer) -> None:
    body = b"<x>" + b"a" * (LIMIT + 1) + b"</x>"
    response = small_server.post(body)
    assert response.status_code == 413
    assert b"RequestTooLarge" in response.content


def test_oversize_declared_length_is_refused_before_the_body_arrives(
    small_server: SoapServer,
) -> None:
    # Announce 10 MB and send only the headers: the answer must come without the body.
    with socket.create_connection(("127.0.0.1", small_server.server.server_port), 5) as sock:
        sock.sendall(
            b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        sock.settimeout(5)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_deep_nesting_is_refused(soap_server: SoapServer) -> None:
    deep = "<a>" * 5000 + "</a>" * 5000
    xml = (
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        f'<s:sendSms xmlns:s="urn:x"><title>{deep}</title></s:sendSms></e:Body></e:Envelope>'
    )
    response = soap_server.post(xml)
    assert response.status_code == 500 and b"Client" in response.content
