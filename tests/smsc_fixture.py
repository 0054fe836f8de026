"""The test SMSC (tests/smsc/smsc.js, on the npm package `smpp`) as a pytest fixture.

`smsc` starts one SMSC process per test and stops it after; it skips the test when node
or the npm package is missing (scripts/install_test_smsc.sh installs it), and fails
instead with FINSMS_REQUIRE_CLIENTS=1. Import the fixture into a conftest or test module:
``from tests.smsc_fixture import smsc  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SMSC_DIR = Path(__file__).parent / "smsc"


def _missing() -> str | None:
    """Why the test SMSC cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (SMSC_DIR / "node_modules" / "smpp" / "package.json").is_file():
        return "the npm package smpp is not installed (run scripts/install_test_smsc.sh)"
    return None


TlsFiles = tuple[str, str]  # (key file, certificate file), PEM


class Smsc:
    """A running test SMSC: its SMPP port, and its HTTP control API."""

    def __init__(
        self,
        system_id: str = "finsms",
        password: str = "secret",
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.tls = tls  # SMPP over TLS with this key and certificate
        self.port = 0
        self.control_port = 0
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the process (on the ports it had before, if any) and wait until ready."""
        cmd = ["node", str(SMSC_DIR / "smsc.js"), "--port", str(self.port)]
        cmd += ["--control-port", str(self.control_port)]
        cmd += ["--system-id", self.system_id, "--password", self.password]
        if self.tls is not None:
            cmd += ["--tls-key", self.tls[0], "--tls-cert", self.tls[1]]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=5)
            raise RuntimeError(f"test SMSC did not start (exit {proc.returncode})")
        ready = json.loads(line)
        self.port, self.control_port = ready["port"], ready["control_port"]
        self._proc = proc

    def stop(self) -> None:
        """Kill the process (as a crash would: no unbind)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Kill and start again on the same ports (records and pending receipts are lost)."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One control request; its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def submits(self) -> list[dict[str, Any]]:
        """Every submit_sm received, in order, with all its fields."""
        result: list[dict[str, Any]] = self.call("GET", "/submits")
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        """Every deliver_sm sent and the status its resp carried (None: not yet)."""
        result: list[dict[str, Any]] = self.call("GET", "/deliveries")
        return result

    def receipt(self, message_id: str, stat: str = "DELIVRD", **extra: Any) -> None:
        """Have the SMSC send a delivery receipt for a message id."""
        self.call("POST", "/receipt", {"message_id": message_id, "stat": stat, **extra})

    def mo(self, source: str, destination: str, **extra: Any) -> None:
        """Have the SMSC send an MO message (text + data_coding, or raw hex + esm_class)."""
        self.call("POST", "/mo", {"source": source, "destination": destination, **extra})

    def fail_next(self, count: int, status: int) -> None:
        """Answer the next `count` submit_sm with `status`."""
        self.call("POST", "/fail-next", {"count": count, "status": status})

    def silence_next(self, count: int) -> None:
        """Never answer the next `count` submit_sm."""
        self.call("POST", "/silence-next", {"count": count})

    def options(self, **overrides: object) -> dict[str, object]:
        """SMPP link options pointing at this SMSC."""
        base: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "system_id": self.system_id,
            "password": self.password,
            "reconnect_max_seconds": 0.5,
            "submit_timeout_seconds": 3,
        }
        return {**base, **overrides}


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until condition() is truthy; its value. AssertionError naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def require_smsc() -> None:
    """Skip the test when the test SMSC cannot run (fail with FINSMS_REQUIRE_CLIENTS=1)."""
    why = _missing()
    if why is not None:
        if os.environ.get("FINSMS_REQUIRE_CLIENTS") == "1":
            pytest.fail(f"test SMSC unavailable: {why}")
        pytest.skip(f"test SMSC unavailable: {why}")


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    """A fresh test SMSC for one test."""
    require_smsc()
    server = Smsc()
    server.start()
    try:
        yield server
    finally:
        server.stop()
