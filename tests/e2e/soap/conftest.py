"""SOAP end-to-end fixtures: the real app on loopback, advertising its own address.

The shared `server` fixture listens on a random port but its platform advertises the
default public URL (http://localhost:9587), so WSDL clients would call the wrong port.
Here the port is chosen first and the platform's public_url set to it, as a deployment
would configure FINSMS_PUBLIC_URL.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import text

from service.domain.constants import SenderState, UserType
from service.services import credit, senders, users
from tests.conftest import Database, SqlPlatform, make_platform
from tests.e2e.conftest import Api

VENDOR_USER, VENDOR_PASSWORD, VENDOR_SENDER = "admin", "123456", "BASLIK"
REQUIRE_CLIENTS = os.environ.get("FINSMS_REQUIRE_CLIENTS") == "1"


class SoapServer:
    """create_app served on 127.0.0.1:<port> in a thread, public_url pointing at it."""

    def __init__(self, platform: SqlPlatform, port: int) -> None:
        from werkzeug.serving import make_server

        from service.app import create_app

        self.platform = platform
        self.app = create_app(platform=platform)
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.soap_url = f"{self.url}/soap"
        self.wsdl_url = f"{self.url}/soap?wsdl"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def post(self, xml: str | bytes, action: str = "", **headers: str) -> requests.Response:
        """POST a raw envelope to /soap the way the vendor's examples are sent."""
        headers = {"Content-Type": "text/xml;charset=UTF-8", "SOAPAction": action, **headers}
        body = xml.encode() if isinstance(xml, str) else xml
        return requests.post(self.soap_url, data=body, headers=headers, timeout=30)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(5)


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_vendor_user(platform: SqlPlatform, balance: int = 100_000) -> None:
    """The vendor examples' user: admin/123456 with the approved sender BASLIK.

    The duplicate check is off: the examples send the same text to the same numbers
    one after the other, which the check (rightly) refuses within 30 minutes.
    """
    users.create_user(platform, VENDOR_USER, VENDOR_PASSWORD, UserType.STANDARD)
    credit.mint(platform, VENDOR_USER, balance)
    senders.add_sender(platform, VENDOR_USER, VENDOR_SENDER, SenderState.APPROVED)
    users.set_options(platform, VENDOR_USER, duplicate_check=False)


def serve_vendor(db: Database) -> Iterator[SoapServer]:
    """The real app over `db` on a free loopback port, with the vendor examples' user."""
    port = free_port()
    platform = make_platform(db, public_url=f"http://127.0.0.1:{port}")
    seed_vendor_user(platform)
    server = SoapServer(platform, port)
    yield server
    server.close()
    platform.store.dispose()


@pytest.fixture
def soap_server(sqlite_db: Database) -> Iterator[SoapServer]:
    """The real app over SQLite on loopback, with the vendor examples' user."""
    yield from serve_vendor(sqlite_db)


@pytest.fixture
def json_api(soap_server: SoapServer) -> Api:
    """A JSON Node API client of the same user on the same server."""
    return Api(soap_server.url, VENDOR_USER, VENDOR_PASSWORD)


def renumber_package(platform: SqlPlatform, old: int, new: int) -> None:
    """Give a package another id (SQLite only): later packages are numbered after it.

    The vendor's examples name packages 111092..111095 and 123456. SQLite numbers a new
    row max(id) + 1, so moving one package to 111091 makes the next ones match.
    """
    assert platform.store.url.startswith("sqlite"), "renumbering relies on SQLite rowids"
    with platform.store.write() as conn:
        conn.execute(text("PRAGMA defer_foreign_keys = ON"))
        for table in ("items", "package_counts", "credit_ledger", "recent_sends"):
            conn.execute(
                text(f"UPDATE {table} SET package_id = :new WHERE package_id = :old"),
                {"new": new, "old": old},
            )
        conn.execute(
            text("UPDATE packages SET id = :new WHERE id = :old"), {"new": new, "old": old}
        )


def require_tool(*names: str) -> None:
    """Skip (or, with FINSMS_REQUIRE_CLIENTS=1, fail) when a client tool is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    reason = (
        f"{', '.join(missing)} not installed: run scripts/install_soap_clients.sh "
        "(apt php-cli php-soap jaxws, npm soap)"
    )
    if REQUIRE_CLIENTS:
        pytest.fail(f"FINSMS_REQUIRE_CLIENTS=1 but {reason}")
    pytest.skip(reason)


def missing(reason: str) -> Any:
    """Skip, or fail under FINSMS_REQUIRE_CLIENTS=1, for a missing client piece."""
    if REQUIRE_CLIENTS:
        pytest.fail(f"FINSMS_REQUIRE_CLIENTS=1 but {reason}")
    pytest.skip(reason)
