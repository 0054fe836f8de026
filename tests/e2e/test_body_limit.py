"""FINSMS_MAX_BODY_BYTES holds for chunked bodies too, on werkzeug's server and gunicorn.

A body sent with Transfer-Encoding: chunked has no Content-Length to refuse up front.
Werkzeug's LimitedStream stops reading at the limit without saying so, and the JSON
adapter processed what it had read: a 17 MiB body to /user/credit answered 200. Such a
body is 413 in the envelope, as one with a Content-Length is.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, Database, add_customer, make_platform, start_server
from tests.e2e.test_cli_and_serve import FINSMS, _free_port, _wait_until_up, run

LIMIT = 64 * 1024
TOKEN = "Basic " + base64.b64encode(f"acme:{PASSWORD}".encode()).decode()


def _json_of_size(size: int) -> bytes:
    """A JSON object filtering senders by keyword NONE, padded with spaces to `size` bytes."""
    body = b'{"keyword": "NONE"}'
    return body + b" " * (size - len(body))


def _post_chunked(port: int, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    """POST `body` chunked (no Content-Length), in 8 KiB chunks; the status and JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        headers = {"Content-Type": "application/json", "Authorization": TOKEN}
        # Answered before the whole body was sent: read the answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def werkzeug_port(sqlite_db: Database) -> Iterator[int]:
    """werkzeug's threaded server, as tests/conftest.py serves the app, with a small limit."""
    platform = make_platform(sqlite_db, max_body_bytes=LIMIT)
    add_customer(platform)
    server = start_server(platform)
    yield server.server.server_port
    server.close()


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`finsms serve` (gunicorn, which sets wsgi.input_terminated) with a small limit."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('limit') / Path('finsms.db')}"
    run(db_url, "migrate", "--json")
    run(db_url, "user", "create", "acme", "--password", PASSWORD)
    port = _free_port()
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": db_url,
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_MAX_BODY_BYTES": str(LIMIT),
        "FINSMS_ARGON2_TIME_COST": "1",
        "FINSMS_ARGON2_MEMORY_KIB": "8192",
    }
    server = subprocess.Popen(
        [*FINSMS, "serve", "--workers", "1", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", server)
        yield port
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


@pytest.fixture(params=["werkzeug", "gunicorn"])
def port(request: pytest.FixtureRequest) -> int:
    """Each server."""
    return int(request.getfixturevalue(f"{request.param}_port"))


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT, 17 * 1024 * 1024])
def test_a_chunked_body_over_the_limit_is_413(port: int, size: int) -> None:
    status, payload = _post_chunked(port, "/sms/list-sender", _json_of_size(size))
    assert status == 413, payload
    assert payload["data"] is None
    assert payload["err"]["code"] == "ERR_REQUEST_TOO_LARGE"  # type: ignore[index]


@pytest.mark.parametrize("size", [100, LIMIT])
def test_a_chunked_body_within_the_limit_is_read_whole(port: int, size: int) -> None:
    status, payload = _post_chunked(port, "/sms/list-sender", _json_of_size(size))
    assert status == 200, payload
    assert payload["data"]["stats"]["totalRecord"] == 0  # type: ignore[index]  # keyword read


def test_a_chunked_soap_body_over_the_limit_is_413_too(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = b"<x>" + b" " * (2 * LIMIT) + b"</x>"
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request(
                "POST",
                "/soap",
                body=(body[i : i + 8192] for i in range(0, len(body), 8192)),
                headers={"Content-Type": "text/xml", "SOAPAction": "getUserCredit"},
                encode_chunked=True,
            )
        assert conn.getresponse().status == 413
    finally:
        conn.close()
