"""wsdl/sms.wsdl is exactly what the app serves (regenerate: scripts/export_wsdl.py)."""

from __future__ import annotations

from pathlib import Path

import requests
from werkzeug.test import Client

from service.app import create_app
from tests.conftest import Database, make_platform
from tests.e2e.soap.conftest import SoapServer

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "wsdl" / "sms.wsdl"
CANONICAL = "http://localhost:9587"
STALE = "wsdl/sms.wsdl differs from the served WSDL: run scripts/export_wsdl.py and commit"


def test_committed_wsdl_is_what_the_app_serves(sqlite_db: Database) -> None:
    platform = make_platform(sqlite_db, public_url=CANONICAL)
    try:
        served = Client(create_app(platform=platform)).get("/soap?wsdl")
    finally:
        platform.store.dispose()
    assert served.status_code == 200
    assert served.data == COMMITTED.read_bytes(), STALE


def test_a_deployment_serves_the_same_document_at_its_own_url(soap_server: SoapServer) -> None:
    served = requests.get(soap_server.wsdl_url, timeout=30)
    assert served.headers["Content-Type"].startswith("text/xml")
    expected = COMMITTED.read_bytes().replace(CANONICAL.encode(), soap_server.url.encode())
    assert served.content == expected


def test_export_script_check_mode_agrees() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "export_wsdl.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_behind_a_trusted_proxy_the_address_follows_the_proxy(sqlite_db: Database) -> None:
    """With create_app's ProxyFix in front (trusted_proxies=1), as deployed behind TLS."""
    from lxml import etree

    platform = make_platform(sqlite_db, public_url=CANONICAL, trusted_proxies=1)
    try:
        client = Client(create_app(platform=platform))
        proxied = client.get(
            "/soap?wsdl",
            headers={
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "sms.example.com",
                "X-Forwarded-Port": "9588",
                "X-Forwarded-For": "203.0.113.9",
            },
        )
        direct = client.get("/soap?wsdl", headers={"Host": "evil.example"})
    finally:
        platform.store.dispose()
    address = "{http://schemas.xmlsoap.org/wsdl/soap/}address"
    (where,) = etree.fromstring(proxied.data).iter(address)
    assert where.get("location") == "https://sms.example.com:9588/soap"
    assert etree.fromstring(proxied.data).get("targetNamespace") == f"{CANONICAL}/wsdl/sms"
    assert direct.data == COMMITTED.read_bytes()
