#!/usr/bin/env python3
"""Benchmark: sendOtp over SOAP against /sms/create-otp over JSON, on one real server.

One `finsms serve` (gunicorn, gthread workers, as deployed) on loopback over a fresh
database; wrk loads each endpoint with the same connections and duration, back to back,
for `--rounds` rounds (JSON first, then SOAP first, and so on). The figure reported is
the median of the rounds' SOAP/JSON ratios: SQLite's write rate drifts a lot over a run,
far more than the protocols differ, so only back-to-back runs compare fairly. Every
request creates a package: at the end the number of packages must equal the number of
answered requests, so a fast error path cannot pass for throughput. Target: SOAP rate
>= 50% of the JSON rate.

Usage: python3.11 scripts/bench_soap.py [--seconds 10] [--rounds 4] [--workers 2]
       [--connections 16] [--database URL] [--json out.json]
Needs wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.bench_api import free_port, wait_up

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD, SENDER = "bench", "bench-password", "BENCH"
NUMBER, CONTENT = "905321234567", "Dogrulama kodunuz: 123456"
TARGET = 0.5

SOAP_BODY = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sms="http://localhost:9587/wsdl/sms"><soapenv:Header/><soapenv:Body>'
    f"<sms:sendOtp><username>{USER}</username><password>{PASSWORD}</password>"
    f"<number>{NUMBER}</number><sender>{SENDER}</sender><content>{CONTENT}</content>"
    "<validity>3</validity></sms:sendOtp></soapenv:Body></soapenv:Envelope>"
)
JSON_BODY = json.dumps({"number": NUMBER, "sender": SENDER, "content": CONTENT, "validity": 3})
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass(frozen=True)
class Load:
    """One endpoint as wrk loads it."""

    name: str
    path: str
    body: str
    headers: dict[str, str]


JSON_LOAD = Load(
    "JSON /sms/create-otp",
    "/sms/create-otp",
    JSON_BODY,
    {"Content-Type": "application/json", "Authorization": BASIC},
)
SOAP_LOAD = Load(
    "SOAP sendOtp",
    "/soap",
    SOAP_BODY,
    {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "sendOtp"},
)


@dataclass(frozen=True)
class Run:
    """What wrk measured."""

    rps: float
    requests: int
    latency_ms: float


def wrk(base: str, load: Load, seconds: int, connections: int) -> Run:
    """Load one endpoint with wrk; non-2xx answers abort the benchmark."""
    lua = "wrk.method = 'POST'\nwrk.body = [==[" + load.body + "]==]\n"
    lua += "".join(f"wrk.headers['{k}'] = '{v}'\n" for k, v in load.headers.items())
    lua += (
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('non2xx %d\\nrequests %d\\nmean_us %f\\n',\n"
        "    summary.errors.status, summary.requests, latency.mean))\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                script.name,
                base + load.path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if int(_field(out, r"non2xx (\d+)")):
        raise SystemExit(f"non-2xx answers from {load.name}:\n{out}")
    return Run(
        float(_field(out, r"Requests/sec:\s+([\d.]+)")),
        int(_field(out, r"requests (\d+)")),
        float(_field(out, r"mean_us ([\d.]+)")) / 1000,
    )


def _field(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"unexpected wrk output:\n{text}")
    return match.group(1)


def finsms(env: dict[str, str], *args: str) -> None:
    """Run a finsms CLI command."""
    subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def prepare(env: dict[str, str]) -> None:
    """Schema, a user with plenty of credit and an approved sender, no duplicate check."""
    finsms(env, "migrate")
    finsms(env, "user", "create", USER, "--password", PASSWORD, "--type", "3")
    finsms(env, "credit", "add", USER, "1000000000")
    finsms(env, "sender", "add", USER, SENDER, "--approve")
    finsms(env, "user", "set", USER, "--duplicate-check", "off")


def check_both_create_packages(base: str) -> None:
    """One request each way must create a package (not fail with an <err>)."""
    answer = requests.post(
        base + JSON_LOAD.path, data=JSON_BODY, headers=JSON_LOAD.headers, timeout=30
    ).json()
    assert answer["err"] is None, answer
    soap = requests.post(
        base + SOAP_LOAD.path, data=SOAP_BODY, headers=SOAP_LOAD.headers, timeout=30
    )
    assert soap.status_code == 200 and b"<pkgID>" in soap.content, soap.text


def package_count(base: str) -> int:
    """Packages of the bench user, read over JSON."""
    answer = requests.post(
        f"{base}/sms/list", json={"pageSize": 10}, auth=(USER, PASSWORD), timeout=60
    ).json()
    return int(answer["data"]["stats"]["totalRecord"])


def measure(base: str, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then alternate JSON and SOAP runs; medians, ratio and a count check."""
    check_both_create_packages(base)
    runs: dict[str, list[Run]] = {JSON_LOAD.name: [], SOAP_LOAD.name: []}
    answered, wrk_runs = 2, 0
    for load in (JSON_LOAD, SOAP_LOAD):  # warm-up: caches, connections, page cache
        answered += wrk(base, load, 2, args.connections).requests
        wrk_runs += 1
    for index in range(args.rounds):
        # JSON-SOAP, then SOAP-JSON: SQLite's speed drifts as the file grows and WAL
        # checkpoints run; alternating keeps either side from always getting the fresh DB.
        order = (JSON_LOAD, SOAP_LOAD) if index % 2 == 0 else (SOAP_LOAD, JSON_LOAD)
        for load in order:
            run = wrk(base, load, args.seconds, args.connections)
            runs[load.name].append(run)
            answered += run.requests
            wrk_runs += 1
    created = package_count(base)
    json_rps = statistics.median(r.rps for r in runs[JSON_LOAD.name])
    soap_rps = statistics.median(r.rps for r in runs[SOAP_LOAD.name])
    pairs = [s.rps / j.rps for j, s in zip(runs[JSON_LOAD.name], runs[SOAP_LOAD.name], strict=True)]
    return {
        "json_rps": json_rps,
        "soap_rps": soap_rps,
        # each round's SOAP/JSON ratio, measured back to back: the headline figure
        "ratio": statistics.median(pairs),
        "round_ratios": pairs,
        "json_latency_ms": statistics.median(r.latency_ms for r in runs[JSON_LOAD.name]),
        "soap_latency_ms": statistics.median(r.latency_ms for r in runs[SOAP_LOAD.name]),
        "rounds": {name: [r.rps for r in rs] for name, rs in runs.items()},
        "answered": answered,
        "packages_created": created,
        # wrk stops counting at the deadline; requests then in flight still complete.
        "in_flight_allowance": wrk_runs * args.connections,
        "workers": args.workers,
        "connections": args.connections,
        "seconds": args.seconds,
    }


class StubPlatform:
    """Authenticates anyone and creates nothing: isolates the protocol adapters' cost."""

    def __init__(self) -> None:
        from service.config import Settings

        self.settings = Settings(public_url="http://127.0.0.1:9587")

    def authenticate(
        self, username: str | None, password: str | None, remote_addr: str | None = None
    ) -> str:
        """Every caller is 'bench'."""
        return "bench"


def _stub_handler(platform: Any, principal: Any, params: Any) -> dict[str, Any]:
    """What create-otp answers, without doing it."""
    return {"pkgID": 222961}


def adapter_cost(requests_per_side: int = 3000) -> dict[str, float]:
    """Microseconds per request of each adapter alone (in process, stub platform)."""
    import io

    from werkzeug.test import EnvironBuilder

    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from service.api.node.registry import BY_PATH, OPERATIONS
    from service.api.soap import make_soap_app
    from service.app import create_flask

    platform = StubPlatform()
    # Every function answers without the services: only the adapters are measured.
    stubbed = [replace(op, handler=_stub_handler) for op in OPERATIONS]
    BY_PATH.update({op.path: op for op in stubbed})
    sides = {
        "json_adapter_us": (create_flask(platform), JSON_LOAD, "/sms/create-otp"),  # type: ignore[arg-type]
        "soap_adapter_us": (make_soap_app(platform, stubbed), SOAP_LOAD, "/"),
    }
    costs = {}
    for key, (app, load, path) in sides.items():
        environ = EnvironBuilder(
            method="POST", path=path, data=load.body, headers=list(load.headers.items())
        ).get_environ()
        body = load.body.encode()

        def once(app: Any = app, environ: dict[str, Any] = environ, body: bytes = body) -> None:
            b"".join(app({**environ, "wsgi.input": io.BytesIO(body)}, lambda *a: None))

        for _ in range(200):
            once()
        started = time.perf_counter()
        for _ in range(requests_per_side):
            once()
        costs[key] = (time.perf_counter() - started) / requests_per_side * 1e6
    return costs


def report(results: dict[str, Any], path: str | None) -> bool:
    """Print the figures; True when the target is met and every request made a package."""
    answered, created = int(results["answered"]), int(results["packages_created"])
    ok_count = answered <= created <= answered + int(results["in_flight_allowance"])
    ratio = float(results["ratio"])
    print(
        f"{JSON_LOAD.name:24} {results['json_rps']:9.0f} req/s  "
        f"mean {results['json_latency_ms']:6.1f} ms"
    )
    print(
        f"{SOAP_LOAD.name:24} {results['soap_rps']:9.0f} req/s  "
        f"mean {results['soap_latency_ms']:6.1f} ms"
    )
    print(
        f"ratio SOAP / JSON        {ratio:9.2f}   (median of the rounds' ratios; "
        f"target >= {TARGET})"
    )
    for index, pair in enumerate(results["round_ratios"]):
        json_run, soap_run = (results["rounds"][n][index] for n in (JSON_LOAD.name, SOAP_LOAD.name))
        print(f"  round {index + 1}: JSON {json_run:7.0f}  SOAP {soap_run:7.0f}  ratio {pair:5.2f}")
    if "soap_adapter_us" in results:
        print(
            f"adapter CPU per request, in process over a stub platform: JSON "
            f"{results['json_adapter_us']:.0f} us, SOAP {results['soap_adapter_us']:.0f} us"
        )
    print(
        f"packages created {created}, requests answered {answered} "
        f"(+ up to {results['in_flight_allowance']} in flight at wrk's deadlines)"
        + ("" if ok_count else "   MISMATCH: some requests did not create a package")
    )
    if path:
        Path(path).write_text(json.dumps(results, indent=2))
    return ok_count and ratio >= TARGET


def main() -> int:
    """Run the benchmark; exit status 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="finsms-bench-soap-"))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_DATABASE_URL": args.database or f"sqlite:///{tmp / 'bench.db'}",
        "FINSMS_WORKERS": str(args.workers),
        "FINSMS_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    prepare(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/health", server)
        results = measure(base, args)
        results.update(adapter_cost())
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if report(results, args.json) else 1


if __name__ == "__main__":
    sys.exit(main())
