"""The production set-up in deploy/: nginx in front, systemd units, the compose file."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.test_serving import free_port, start, stop, wait_up

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "finsms.conf"


def _nginx_conf_for(tmp: Path, listen: int, upstream: int) -> Path:
    """deploy/nginx/finsms.conf on test ports and a test certificate, in a whole nginx.conf."""
    site = NGINX_CONF.read_text()
    site = site.replace("listen 9588", f"listen {listen}").replace("listen [::]:9588", "#")
    site = site.replace("127.0.0.1:9587", f"127.0.0.1:{upstream}")
    site = site.replace("/etc/finsms/tls/", f"{tmp}/")
    (tmp / "finsms.conf").write_text(site)
    main = tmp / "nginx.conf"
    main.write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\ndaemon off;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n"
        f"  proxy_temp_path {tmp}/proxy;\n  include {tmp}/finsms.conf;\n}}\n"
    )
    return main


def _self_signed(tmp: Path) -> Path:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(tmp / "privkey.pem"), "-out", str(tmp / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return tmp / "fullchain.pem"


@pytest.mark.skipif(
    not shutil.which("nginx") or not shutil.which("openssl"),
    reason="nginx or openssl missing (scripts/test.sh installs nginx-light with apt-get)",
)
def test_nginx_config_passes_requests_with_tls_and_forwarded_headers(tmp_path: Path) -> None:
    cert = _self_signed(tmp_path)
    port, tls_port = free_port(), free_port()
    conf = _nginx_conf_for(tmp_path, tls_port, port)
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    server = start(tmp_path, port, FINSMS_TRUSTED_PROXIES="1")
    proxy = subprocess.Popen(
        ["nginx", "-p", str(tmp_path), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"https://localhost:{tls_port}"
    try:
        wait_up(port, server)
        credit = _through(f"{base}/user/credit", cert)
        assert credit.json() == {"err": None, "data": {"credit": 1000}}
        # Trusted X-Forwarded-Proto/Host/Port from nginx make the WSDL point at nginx.
        wsdl = _through(f"{base}/soap?wsdl", cert).text
        assert re.search(rf'location="https://localhost:{tls_port}/soap', wsdl), wsdl[-600:]
        too_large = _raw_tls_status(tls_port, cert, 17 * 1024 * 1024)
        assert too_large.startswith(b"HTTP/1.1 413") and b"ERR_REQUEST_TOO_LARGE" in too_large
    finally:
        proxy.terminate()
        proxy.wait(10)
        stop(server)


def _through(url: str, cert: Path) -> requests.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            answer = requests.get(url, auth=("demo", "demo1234"), verify=str(cert), timeout=5)
            answer.raise_for_status()
            return answer
        except requests.ConnectionError:  # nginx still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _raw_tls_status(port: int, cert: Path, length: int) -> bytes:
    """The answer to a POST announcing `length` bytes and sending none of them."""
    import ssl

    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with raw, context.wrap_socket(raw, server_hostname="localhost") as conn:
        conn.sendall(
            b"POST /sms/create HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % length
        )
        return conn.recv(65536)


def test_nginx_body_limit_matches_finsms_default() -> None:
    from service.config import Settings

    limit = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF.read_text())
    assert limit and int(limit.group(1)) * 1024 * 1024 == Settings().max_body_bytes


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing")
def test_systemd_units_verify(tmp_path: Path) -> None:
    finsms = shutil.which("finsms")
    assert finsms, "the finsms command is installed by pip install -e ."
    units = []
    for name in ("finsms.service", "finsms-worker.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        assert "Restart=always" in text and "KillMode=mixed" in text
        assert "EnvironmentFile=/etc/finsms/finsms.env" in text and "User=finsms" in text
        # verify insists the command exists: point it at this machine's finsms.
        (tmp_path / name).write_text(text.replace("/opt/finsms/venv/bin/finsms", finsms))
        units.append(str(tmp_path / name))
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_compose_restarts_every_service_and_puts_nginx_in_front() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is a test dependency")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "finsms", "worker", "nginx"}
    assert all(s["restart"] == "unless-stopped" for s in services.values())
    assert services["worker"]["command"] == ["finsms", "worker"]
    server = services["finsms"]
    assert server["environment"]["FINSMS_EMBEDDED_WORKER"] == "0"
    assert server["environment"]["FINSMS_TRUSTED_PROXIES"] == "1"
    assert (DEPLOY / server["build"]["context"] / "Dockerfile").is_file()
    nginx = services["nginx"]
    assert nginx["network_mode"] == "service:finsms"
    mounted = nginx["volumes"][0].split(":")[0]
    assert (DEPLOY / mounted).resolve() == NGINX_CONF
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        checked = subprocess.run(
            ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
            capture_output=True,
            text=True,
            env={"POSTGRES_PASSWORD": "x", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )
        assert checked.returncode == 0, checked.stderr
