"""The `finsms` command as operators script it, and the server as the README starts it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests

FINSMS = [sys.executable, "-m", "service"]


def run(db_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": db_url,
        "FINSMS_ARGON2_TIME_COST": "1",
        "FINSMS_ARGON2_MEMORY_KIB": "8192",
    }
    result = subprocess.run(
        [*FINSMS, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(url, "migrate", "--json")
    return url


def test_a_platform_is_set_up_from_a_script(db_url: str) -> None:
    run(db_url, "user", "create", "bayi", "--password", "bayi-pass", "--type", "1")
    run(
        db_url,
        "user",
        "create",
        "musteri",
        "--password",
        "musteri-pass",
        "--type",
        "3",
        "--parent",
        "bayi",
    )
    run(db_url, "credit", "add", "bayi", "500", "--note", "opening")
    moved = json.loads(
        run(
            db_url, "credit", "transfer", "--from", "bayi", "--to", "musteri", "200", "--json"
        ).stdout
    )
    assert moved == {"bayi": 300, "musteri": 200}
    sender = json.loads(run(db_url, "sender", "add", "musteri", "MUSTERI", "--json").stdout)
    assert sender["status"] == 0
    run(db_url, "sender", "approve", "musteri", "MUSTERI")
    listed = json.loads(run(db_url, "sender", "list", "musteri", "--json").stdout)
    assert [(s["title"], s["status"]) for s in listed] == [("MUSTERI", 1)]
    shown = json.loads(run(db_url, "credit", "show", "musteri", "--json").stdout)
    assert shown["credit"] == 200 and shown["ledger"][0]["reason"] == "transfer_in"


def test_domain_errors_exit_1_with_the_error_code(db_url: str) -> None:
    run(db_url, "user", "create", "bayi", "--password", "bayi-pass", "--type", "1")
    run(db_url, "user", "create", "musteri", "--password", "musteri-pass", "--parent", "bayi")
    result = run(
        db_url,
        "credit",
        "transfer",
        "--from",
        "bayi",
        "--to",
        "musteri",
        "5",
        "--json",
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["err"]["code"] == "ERR_PARENT_USER_CREDIT_REQUIRED"
    assert "SMS28" in result.stderr


def test_password_from_stdin_and_no_prompt_without_a_terminal(db_url: str) -> None:
    env = {**os.environ, "FINSMS_DATABASE_URL": db_url, "FINSMS_ARGON2_TIME_COST": "1"}
    done = subprocess.run(
        [*FINSMS, "user", "create", "u1", "--password-stdin"],
        input="from-stdin-pass\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    missing = run(db_url, "user", "create", "u2", check=False)
    assert missing.returncode != 0 and "--password" in missing.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_flow_serve_send_and_see_it_delivered(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "FINSMS_SIMULATOR_REPORT_DELAY": "0.2",
        "FINSMS_WORKERS": "2",
    }
    server = subprocess.Popen(
        [*FINSMS, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base, auth = f"http://127.0.0.1:{port}", ("demo", "demo1234")
    try:
        _wait_until_up(base, server)
        sent = requests.post(
            f"{base}/sms/create",
            auth=auth,
            timeout=10,
            json={
                "type": 1,
                "sendingType": 0,
                "title": "İlk SMS",
                "content": "Merhaba FinSMS",
                "number": "905321234567",
                "sender": "FINSMS",
            },
        ).json()
        pkg = sent["data"]["pkgID"]
        deadline, state = time.monotonic() + 20, None
        while time.monotonic() < deadline and state != 3:
            items = requests.post(
                f"{base}/sms/list-item", auth=auth, timeout=10, json={"pkgID": pkg}
            ).json()["data"]["list"]
            state = items[0]["state"]
            time.sleep(0.2)
        assert state == 3, items
        credit = requests.get(f"{base}/user/credit", auth=auth, timeout=10).json()
        assert credit == {"err": None, "data": {"credit": 999}}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


def _wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(server.communicate()[0])
        try:
            requests.get(f"{base}/health", timeout=2)
            return
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.2)
    raise AssertionError("server did not start")


def _serve(tmp_path: Path, name: str, port: int, runtime_dir: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": f"sqlite:///{tmp_path / f'{name}.db'}",
        "FINSMS_WORKERS": "1",
        "XDG_RUNTIME_DIR": runtime_dir,  # where gunicorn puts its control socket by default
    }
    return subprocess.Popen(
        [*FINSMS, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _control_sockets(runtime_dir: str) -> list[Path]:
    return sorted(p for p in Path(runtime_dir).rglob("*") if p.is_socket())


def test_two_servers_on_one_host_keep_their_control_sockets_when_one_stops(tmp_path: Path) -> None:
    # gunicorn 25+ opens a control socket at one default path: the second server took the
    # first one's over, and whichever stopped first deleted the other's.
    from gunicorn.ctl.client import ControlClient

    runtime_dir = tempfile.mkdtemp(prefix="fs")  # short: a socket path has 107 bytes at most
    ports = _free_port(), _free_port()
    first, second = (_serve(tmp_path, n, p, runtime_dir) for n, p in zip("ab", ports, strict=True))
    try:
        for port, server in zip(ports, (first, second), strict=True):
            _wait_until_up(f"http://127.0.0.1:{port}", server)
        assert _eventually(lambda: len(_control_sockets(runtime_dir)) == 2), _control_sockets(
            runtime_dir
        )
        first.terminate()
        first.communicate(timeout=30)
        assert requests.get(f"http://127.0.0.1:{ports[1]}/health", timeout=5).ok
        [left] = _control_sockets(runtime_dir)
        with ControlClient(str(left), timeout=5) as client:
            workers = client.send_command("show workers")
        assert workers["count"] == 1, workers
    finally:
        for server in (first, second):
            server.terminate()
            server.communicate(timeout=30)
        shutil.rmtree(runtime_dir, ignore_errors=True)


def _eventually(condition: Any, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
