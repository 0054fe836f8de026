"""`finsms serve` facing clients directly: error pages, slow clients, a killed master."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

FINSMS = [sys.executable, "-m", "service"]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[str]:
    """`finsms serve --demo` on loopback with the default workers and threads."""
    environ = {
        **os.environ,
        "FINSMS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "FINSMS_ARGON2_TIME_COST": "1",
        "FINSMS_ARGON2_MEMORY_KIB": "8192",
        "XDG_RUNTIME_DIR": str(tmp_path),
        **env,
    }
    environ.pop("FINSMS_WORKERS", None)
    environ.pop("FINSMS_THREADS", None)
    return subprocess.Popen(
        [*FINSMS, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_up(port: int, server: subprocess.Popen[str], seconds: float = 30) -> float:
    """Seconds until /health answers 200; fails if the server exits or never answers."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if server.poll() is not None:
            raise AssertionError(server.communicate()[0])
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                return time.monotonic() - started
        except requests.RequestException:  # not listening yet, or still booting
            pass
        time.sleep(0.1)
    raise AssertionError(f"no answer on {port} within {seconds} s")


def stop(server: subprocess.Popen[str]) -> str:
    """Stop a server (SIGTERM, then SIGKILL) and return its output."""
    if server.poll() is None:
        server.terminate()
    try:
        return server.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate()[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    """A running `finsms serve` with the embedded defaults; yields its port."""
    port = free_port()
    server = start(tmp_path, port, FINSMS_CLIENT_TIMEOUT="1")
    wait_up(port, server)
    yield port
    output = stop(server)
    assert "Traceback" not in output, output


def raw(port: int, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send bytes on a fresh connection; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "ERR_REQUEST_TOO_LARGE"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, "ERR_BAD_REQUEST"),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: y\r\n" % i for i in range(120))
            + b"\r\n",
            431,
            "ERR_REQUEST_TOO_LARGE",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "ERR_BAD_REQUEST"),
    ],
    ids=["uri-too-long", "bad-header", "too-many-headers", "bad-request-line"],
)
def test_requests_gunicorn_cannot_parse_are_answered_in_the_envelope(
    served: int, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = raw(served, request_bytes)
    assert got == status
    assert headers["content-type"].startswith("application/json")
    assert int(headers["content-length"]) == len(body)
    answer = json.loads(body)
    assert answer["data"] is None
    assert answer["err"]["status"] == status and answer["err"]["code"] == code
    assert answer["err"]["smsCode"].startswith("SMS") and answer["err"]["message"]


def test_a_body_that_stops_coming_gets_408_in_the_envelope(served: int) -> None:
    started = time.monotonic()
    status, _, body = raw(
        served,
        b"POST /user/credit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
    )
    assert status == 408 and json.loads(body)["err"]["status"] == 408
    assert time.monotonic() - started < 5  # FINSMS_CLIENT_TIMEOUT=1


def _trickle(port: int, count: int) -> list[socket.socket]:
    """Connections that sent their headers and one byte of a 1000-byte body."""
    head = b"POST /user/credit HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(head)
        conns.append(conn)
    return conns


def test_a_handful_of_slow_clients_do_not_block_the_embedded_default(served: int) -> None:
    # 2 workers x 1 thread: four clients sending their bodies slowly held every thread,
    # and /health timed out. Each keeps sending within FINSMS_CLIENT_TIMEOUT (1 s here).
    slow = _trickle(served, 4)
    try:
        answered = 0
        for _ in range(6):
            for conn in slow:
                conn.sendall(b" ")
            try:
                answered += requests.get(f"http://127.0.0.1:{served}/health", timeout=2).ok
                got = requests.get(
                    f"http://127.0.0.1:{served}/user/credit", auth=("demo", "demo1234"), timeout=2
                )
                answered += got.json()["data"]["credit"] == 1000
            except requests.Timeout:
                pass
            time.sleep(0.3)
        assert answered == 12
    finally:
        for conn in slow:
            conn.close()


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_after_the_master_is_killed_a_replacement_comes_up_at_once(tmp_path: Path) -> None:
    # Orphaned workers kept the port while slow clients were in flight (17 s measured),
    # and a replacement gave up after gunicorn's five one-second tries.
    port = free_port()
    first = start(tmp_path, port)
    replacement = None
    slow: list[socket.socket] = []
    workers: list[int] = []
    try:
        wait_up(port, first)
        workers = _children(first.pid)
        slow = _trickle(port, 4)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        replacement = start(tmp_path, port)
        took = wait_up(port, replacement, seconds=20)
        deadline = killed + 5  # noticed within a second, in-flight work given 2 s
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(w) for w in workers), "orphaned workers still running"
        assert took < 15, took
    finally:
        for conn in slow:
            conn.close()
        stop(first)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if replacement is not None:
            stop(replacement)


def test_serve_waits_for_a_busy_port_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    server = start(tmp_path, port, FINSMS_BIND_WAIT="30")
    try:
        time.sleep(7)  # gunicorn alone gives up after five one-second tries
        assert server.poll() is None, server.communicate()[0]
        holder.close()
        wait_up(port, server, seconds=15)
    finally:
        holder.close()
        output = stop(server)
    assert f"127.0.0.1:{port} is in use" in output, output


def test_serve_gives_up_after_bind_wait_naming_the_setting(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        server = start(tmp_path, port, FINSMS_BIND_WAIT="1")
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 1, output
    assert "FINSMS_BIND_WAIT" in output and "Traceback" not in output, output
