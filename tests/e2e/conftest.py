"""End-to-end fixtures: a live server over a real database, and HTTP helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from service.services import allowlist
from tests.conftest import PASSWORD, Database, LiveServer, add_customer, make_platform, start_server


class Api:
    """A Node API JSON client the way integrators write one: requests + Basic Auth."""

    def __init__(self, base: str, username: str, password: str = PASSWORD) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.auth = (username, password)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        """POST a JSON body."""
        return self.session.post(f"{self.base}{path}", json=body, timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        """GET with query parameters."""
        return self.session.get(f"{self.base}{path}", timeout=30, **kw)

    def data(self, path: str, body: Any = None) -> Any:
        """POST and return `data`, failing the test on an error envelope."""
        response = self.post(path, body)
        payload = response.json()
        assert response.status_code == 200 and payload["err"] is None, payload
        return payload["data"]

    def error(self, path: str, body: Any = None) -> dict[str, Any]:
        """POST and return the `err` object, failing the test on success."""
        response = self.post(path, body)
        payload = response.json()
        assert payload["data"] is None and payload["err"] is not None, payload
        assert response.status_code == payload["err"]["status"]
        return payload["err"]  # type: ignore[no-any-return]


def _serve(db: Database) -> Iterator[LiveServer]:
    platform = make_platform(db)
    server = start_server(platform)
    yield server
    server.close()
    platform.store.dispose()


@pytest.fixture
def server(sqlite_db: Database) -> Iterator[LiveServer]:
    """A live server over SQLite."""
    yield from _serve(sqlite_db)


@pytest.fixture
def any_server(db: Database) -> Iterator[LiveServer]:
    """A live server over each database."""
    yield from _serve(db)


@pytest.fixture
def api(server: LiveServer) -> Api:
    """A client of user 'acme' (1000 credit, approved sender ACME) on the live server."""
    add_customer(server.platform, "acme", 1000, "ACME")
    return Api(server.url, "acme")


@pytest.fixture
def book(any_server: LiveServer) -> Api:
    """User 'acme' on a live server over each database, allowed from loopback."""
    add_customer(any_server.platform, "acme", 1000, "ACME")
    allowlist.allow_ip(any_server.platform, "acme", "127.0.0.0/8")
    return Api(any_server.url, "acme")
