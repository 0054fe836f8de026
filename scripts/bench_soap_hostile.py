#!/usr/bin/env python3
"""Benchmark: what hostile SOAP bodies cost, and what they do to the other accounts.

(a) Parsing time against body size, in process (the SOAP app over a stub handler, so
    only the adapter is measured): hostile bodies of repeated elements (the issue #9
    form, `<x>1</x>` padding a getUserCredit, and the same padding inside a sendSms,
    the operation with the large element budget) and legitimate N-N sendSms packages,
    up to the body limit. Linear means a roughly constant time per KB.
(b) On a real gunicorn (`finsms serve`, 2 workers, loopback, SQLite): the p50/p99 latency
    of other accounts' getUserCredit calls, first alone, then while one customer posts
    maximal hostile bodies in a loop. Both phases last `--seconds` and stop by themselves.

`--code DIR` measures another checkout of the service (e.g. an export of the commit
before the fix: `git archive <commit> service | tar -x -C DIR`).

Usage: python3.11 scripts/bench_soap_hostile.py [--seconds 20] [--others 4]
       [--hostile-connections 1] [--hostile KIND] [--only a|b] [--code DIR] [--json out]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
LIMIT = 16 * 1024 * 1024  # FINSMS_MAX_BODY_BYTES' default
OTHER_PASSWORD = "other-password"


def envelope(op: str, body: str, user: str = "bench", password: str = "bench-password") -> bytes:
    """A vendor-style request."""
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ENV_NS}" xmlns:sms="http://localhost:9587/wsdl/sms">'
        f"<soapenv:Body><sms:{op}><username>{user}</username><password>{password}</password>"
        f"{body}</sms:{op}></soapenv:Body></soapenv:Envelope>"
    ).encode()


def padded_credit(size: int) -> bytes:
    """The issue #9 request: getUserCredit padded with `<x>1</x>` to about `size` bytes."""
    return envelope("getUserCredit", "<x>1</x>" * (size // 8))


def padded_send(size: int) -> bytes:
    """The same padding inside sendSms, whose element budget is the largest."""
    return envelope("sendSms", "<x>1</x>" * (size // 8))


def many_to_many(size: int) -> bytes:
    """A legitimate N-N sendSms of about `size` bytes (56 bytes per recipient)."""
    item = "<item><nr>9053{:08d}</nr><msg>Mesaj {:06d}</msg></item>"
    numbers = "".join(item.format(i, i) for i in range(size // 56))
    return envelope("sendSms", f"<sendingType>2</sendingType><numbers>{numbers}</numbers>")


BODIES: dict[str, Callable[[int], bytes]] = {
    "padded-credit": padded_credit,
    "padded-send": padded_send,
    "legit-nn": many_to_many,
}


# --- (a) parsing time against body size ------------------------------------------------


class StubPlatform:
    """Settings and authentication only: every request reaches a stub handler."""

    def __init__(self) -> None:
        from service.config import Settings

        self.settings = Settings(public_url="http://127.0.0.1:9587", max_body_bytes=LIMIT)

    def authenticate(self, username: Any, password: Any, remote_addr: Any = None) -> str:
        """Every caller is 'bench'."""
        return "bench"


def stub_app() -> Any:
    """The SOAP app over stub handlers (they count the recipients, as a service would
    see them, and answer a package id)."""
    from service.api.node.registry import OPERATIONS
    from service.api.soap import make_soap_app

    def handler(platform: Any, principal: Any, params: Any) -> dict[str, Any]:
        return {"pkgID": len(params.get("numbers") or ())}

    operations = [replace(op, handler=handler) for op in OPERATIONS]
    return make_soap_app(StubPlatform(), operations)


def post_in_process(app: Any, body: bytes) -> tuple[str, float]:
    """(status, seconds) of one request to the app."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        method="POST", path="/", headers={"Content-Type": "text/xml; charset=utf-8"}
    ).get_environ()
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    statuses: list[str] = []
    started = time.perf_counter()
    b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    return statuses[0].split()[0], time.perf_counter() - started


def parsing_curve(sizes: list[int]) -> list[dict[str, Any]]:
    """Time per request and per KB for each kind of body and size (best of 3)."""
    app = stub_app()
    rows = []
    for kind, make in BODIES.items():
        for size in sizes:
            body = make(size)
            if len(body) > LIMIT:
                continue
            runs = [post_in_process(app, body) for _ in range(3)]
            status, seconds = runs[0][0], min(s for _, s in runs)
            rows.append(
                {
                    "kind": kind,
                    "bytes": len(body),
                    "status": status,
                    "ms": seconds * 1000,
                    "us_per_kb": seconds * 1e6 / (len(body) / 1024),
                }
            )
            print(
                f"  {kind:14} {len(body) / 1e6:6.2f} MB  HTTP {status}  "
                f"{seconds * 1000:8.1f} ms  {rows[-1]['us_per_kb']:6.1f} us/KB",
                flush=True,
            )
    return rows


# --- (b) the other accounts' latency on a real gunicorn --------------------------------


def finsms(env: dict[str, str], *args: str) -> None:
    """Run a finsms CLI command."""
    subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def prepare(env: dict[str, str], others: int) -> None:
    """The schema, the hostile account and the other accounts."""
    finsms(env, "migrate")
    finsms(env, "user", "create", "hostile", "--password", "hostile-password", "--type", "3")
    for index in range(others):
        finsms(env, "user", "create", f"other{index}", "--password", OTHER_PASSWORD, "--type", "3")


def loop(
    url: str, body: bytes, until: float, latencies: list[float], statuses: dict[int, int]
) -> None:
    """POST `body` until the deadline, recording latencies and status counts."""
    session = requests.Session()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ""}
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            status = session.post(url, data=body, headers=headers, timeout=120).status_code
        except requests.RequestException:
            status = 0
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1


def phase(
    url: str, others: int, seconds: float, hostile: bytes | None, hostile_conns: int
) -> dict[str, Any]:
    """Run the other accounts (and the hostile one, if given) for `seconds`."""
    until = time.monotonic() + seconds
    other_lat: list[float] = []
    other_status: dict[int, int] = {}
    hostile_lat: list[float] = []
    hostile_status: dict[int, int] = {}
    threads = [
        threading.Thread(
            target=loop,
            args=(
                url,
                envelope("getUserCredit", "", f"other{i}", OTHER_PASSWORD),
                until,
                other_lat,
                other_status,
            ),
        )
        for i in range(others)
    ]
    if hostile is not None:
        threads += [
            threading.Thread(target=loop, args=(url, hostile, until, hostile_lat, hostile_status))
            for _ in range(hostile_conns)
        ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "others": summary(other_lat, other_status),
        "hostile": summary(hostile_lat, hostile_status) if hostile is not None else None,
    }


def summary(latencies: list[float], statuses: dict[int, int]) -> dict[str, Any]:
    """Count, p50, p99 and max in milliseconds, and the HTTP statuses seen."""
    ordered = sorted(latencies)
    if not ordered:
        return {"requests": 0, "statuses": statuses}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {
        "requests": len(ordered),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "statuses": statuses,
    }


def starvation(args: argparse.Namespace, code: Path) -> dict[str, Any]:
    """Both phases against one `finsms serve` with 2 workers."""
    from scripts.bench_api import free_port, wait_up

    tmp = Path(tempfile.mkdtemp(prefix="finsms-bench-hostile-"))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "FINSMS_WORKERS": "2",
        "FINSMS_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    prepare(env, args.others)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=code,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/health", server)
        url = f"{base}/soap"
        hostile = BODIES[args.hostile](args.hostile_bytes)
        hostile = hostile.replace(b"bench-password", b"hostile-password").replace(
            b"<username>bench<", b"<username>hostile<"
        )
        phase(url, args.others, 2, None, 0)  # warm-up: credential caches, connections
        quiet = phase(url, args.others, args.seconds, None, 0)
        loaded = phase(url, args.others, args.seconds, hostile, args.hostile_connections)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"hostile_bytes": len(hostile), "quiet": quiet, "with_hostile": loaded}


def main() -> int:
    """Run (a) and (b); print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--others", type=int, default=4)
    parser.add_argument("--hostile", choices=sorted(BODIES), default="padded-send")
    parser.add_argument("--hostile-bytes", type=int, default=8 * 1024 * 1024 - 512)
    parser.add_argument("--hostile-connections", type=int, default=1)
    parser.add_argument("--sizes", default="256K,1M,2M,4M,8M,16M")
    parser.add_argument("--only", choices=["a", "b"])
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--json")
    args = parser.parse_args()
    code = args.code.resolve()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(code))
    results: dict[str, Any] = {"code": str(code)}
    if args.only != "b":
        print("(a) SOAP request time against body size, in process:")
        results["parsing"] = parsing_curve([_size(s) - 512 for s in args.sizes.split(",")])
    if args.only != "a":
        print(f"(b) other accounts on gunicorn, 2 workers, {args.seconds:.0f} s per phase:")
        results["starvation"] = found = starvation(args, code)
        for name in ("quiet", "with_hostile"):
            print(f"  {name:13} others {found[name]['others']}")
        print(f"  hostile ({found['hostile_bytes']} bytes) {found['with_hostile']['hostile']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _size(text: str) -> int:
    units = {"K": 1024, "M": 1024 * 1024}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


if __name__ == "__main__":
    sys.exit(main())
