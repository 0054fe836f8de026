"""Wrong passwords spread over two gunicorn workers are counted together.

Counted in each worker's memory, an account took about twice its limit before the first
429. The server here is `python -m service serve --workers 2` as operators start it; each
guess comes over a new connection, and the test reads from /proc which worker served it,
so it knows the guesses really reached both.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_cli_and_serve import FINSMS, _free_port, _wait_until_up, run
from tests.redis_helpers import redis_or_skip

LIMIT = 5


@pytest.fixture(params=["database", "redis"])
def storage_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where the server counts: its SQLite database, or Redis under a prefix of its own."""
    if request.param == "database":
        return {}
    return {
        "FINSMS_REDIS_URL": redis_or_skip(),
        "FINSMS_REDIS_PREFIX": f"finsms-test-{uuid.uuid4().hex}",
    }


def test_the_429_comes_at_the_limit_plus_one_across_two_workers(
    tmp_path: Path, storage_env: dict[str, str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'throttle.db'}"
    run(db_url, "migrate", "--json")
    run(db_url, "user", "create", "acme", "--password", "right-pass")
    port = _free_port()
    server = subprocess.Popen(
        [*FINSMS, "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **_server_env(db_url), **storage_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", server)
        workers = _children(server.pid)
        assert len(workers) == 2, workers
        # The guesses alternate between the workers: with counts per worker, neither
        # would have seen LIMIT failures when guess LIMIT + 1 arrives.
        statuses = [_guess(port, workers[n % 2], workers) for n in range(LIMIT + 3)]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert statuses == [401] * LIMIT + [429] * 3
    assert "Traceback" not in output, output


def _server_env(db_url: str) -> dict[str, str]:
    return {
        "FINSMS_DATABASE_URL": db_url,
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_AUTH_FAIL_LIMIT": str(LIMIT),
        "FINSMS_ARGON2_TIME_COST": "1",
        "FINSMS_ARGON2_MEMORY_KIB": "8192",
    }


def _guess(port: int, worker: int, workers: list[int]) -> int:
    """One wrong password over a new connection served by `worker`: the HTTP status."""
    conn = _connect_to(port, worker, workers)
    token = base64.b64encode(b"acme:wrong-pass").decode()
    try:
        conn.request("GET", "/user/credit", headers={"Authorization": f"Basic {token}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        assert body["err"]["status"] == response.status, body
        if response.status == 429:
            assert int(response.headers["Retry-After"]) > 0
        return response.status
    finally:
        conn.close()


def _connect_to(port: int, worker: int, workers: list[int]) -> http.client.HTTPConnection:
    """A new connection that `worker` accepted; the others are held open meanwhile, so
    the kernel hands each new one to a worker again."""
    others: list[http.client.HTTPConnection] = []
    try:
        for _ in range(200):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.connect()
            assert conn.sock is not None
            if _holder(port, conn.sock.getsockname()[1], workers) == worker:
                return conn
            others.append(conn)
        raise AssertionError(f"worker {worker} accepted none of 200 connections")
    finally:
        for other in others:
            other.close()


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _holder(server_port: int, client_port: int, workers: list[int]) -> int:
    """The worker holding the server's end of the TCP connection from client_port."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until a worker has accepted it
        inode = _socket_inode(server_port, client_port)
        for pid in workers:
            if inode and f"socket:[{inode}]" in _sockets_of(pid):
                return pid
        time.sleep(0.005)
    raise AssertionError(f"no worker accepted the connection from port {client_port}")


def _sockets_of(pid: int) -> set[str]:
    links = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
    return links


def _socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's socket of a connection ("" until accepted)."""
    # /proc/net/tcp: local and remote address as hex ip:port, the inode in column 10
    # (0 while the connection waits in the listen queue).
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            return "" if fields[9] == "0" else fields[9]
    return ""
