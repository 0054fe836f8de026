"""Benchmark: /sms/create-otp against a bare Flask endpoint, and a 100,000-number package.

Both endpoints are served the same way (gunicorn, same workers and threads) on loopback
and loaded by wrk with the same connections and duration, in one run; their ratio is the
overhead of FinSMS (auth, validation, a transaction writing package, item and ledger).
Every request carries a different OTP code, so the duplicate check (on by default) runs
as deployed. With --with-dispatcher a last phase measures OTPs settled per second end to
end (created, sent through the simulator, reported).
Usage: python3.11 scripts/bench_api.py [--seconds 10] [--rounds 5] [--database URL]
       [--workers 2] [--threads N] [--with-dispatcher] [--json out.json]
A PostgreSQL URL gets a schema of its own for the run. Needs wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from flask import Flask, Response

from service.config import Settings
from service.domain.constants import SenderState
from service.domain.principal import Principal
from service.services import credit, senders, users
from service.services.platform import Platform

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-password"

bare_app = Flask("bare")


@bare_app.post("/bare")
def _bare() -> Response:
    """The baseline: parse a JSON body, answer an envelope; no auth, no database."""
    from flask import request

    body = request.get_json(force=True, silent=True) or {}
    return Response(
        json.dumps({"err": None, "data": {"n": len(body)}}), mimetype="application/json"
    )


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Wait for a server to answer."""
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:  # not listening yet, or still booting
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and its children (the gunicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # exited meanwhile
            continue
        total += (int(stat[11]) + int(stat[12])) / tick  # utime, stime
        pids.extend(int(c) for c in children)
    return total


def wrk(
    url: str,
    body: dict[str, object],
    seconds: int,
    auth: str | None,
    server: subprocess.Popen[bytes],
) -> tuple[float, float]:
    """Requests per second of POSTing this body, by wrk, and the server's CPU µs per request.

    The CPU figure is the steadier of the two on a shared machine: time stolen by other
    tenants lowers the rate but is not charged to the server's processes.
    """
    before = cpu_seconds(server.pid)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    lua = "wrk.method = 'POST'\n" + "".join(
        f"wrk.headers['{k}'] = '{v}'\n" for k, v in headers.items()
    )
    lua += _unique_bodies(body)
    lua += (
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('non2xx %d\\n', summary.errors.status))\nend\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(f.name)
    used = cpu_seconds(server.pid) - before
    errors = int(re.search(r"non2xx (\d+)", out).group(1))  # type: ignore[union-attr]
    if errors:
        raise SystemExit(f"{errors} non-2xx answers from {url}:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, used / total * 1e6


_runs = 0  # wrk runs so far: each run's codes differ from every earlier run's


def _unique_bodies(body: dict[str, object]) -> str:
    """wrk Lua sending `body` with a different code in its content on every request.

    Real OTPs differ, and the duplicate check (on by default) refuses the same SMS to the
    same number twice within 30 minutes: the benchmark keeps it on, as deployed.
    Each wrk thread numbers its own requests, prefixed by the run and its thread number.
    """
    global _runs
    _runs += 1
    head, tail = json.dumps({**body, "content": "@@"}).split("@@")
    return (
        "local n = 0\nlocal threads = 0\n"
        "setup = function(thread) threads = threads + 1; thread:set('tid', threads) end\n"
        "request = function()\n  n = n + 1\n"
        f"  local code = string.format('{_runs}-%d-%d', tid, n)\n"
        f"  return wrk.format(nil, nil, nil, [[{head}]] .. '{body['content']} ' .. code "
        f".. [[{tail}]])\nend\n"
    )


def finsms(env: dict[str, str], *args: str) -> None:
    """Run a finsms CLI command."""
    subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="default: the server's own default")
    parser.add_argument("--database")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument(
        "--with-dispatcher",
        action="store_true",
        help="run the embedded dispatcher too: the OTPs are also delivered",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="finsms-bench-"))
    database, schema = bench_database(args.database, tmp)
    threads = args.threads or Settings().threads
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": database,
        "FINSMS_EMBEDDED_WORKER": "1" if args.with_dispatcher else "0",
        "FINSMS_WORKERS": str(args.workers),
        "FINSMS_THREADS": str(threads),
        "PYTHONPATH": str(ROOT),
    }
    print(f"gunicorn: {args.workers} workers x {threads} threads, both servers", flush=True)
    finsms(env, "migrate")
    finsms(env, "user", "create", USER, "--password", PASSWORD, "--type", "3")
    finsms(env, "credit", "add", USER, "100000000")
    finsms(env, "sender", "add", USER, "BENCH", "--approve")
    port, bare_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{bare_port}",
            "scripts.bench_api:bare_app",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/health", server)
        wait_up(f"http://127.0.0.1:{bare_port}/", bare)
        results = measure(
            base, f"http://127.0.0.1:{bare_port}/bare", args.seconds, args.rounds, server, bare
        )
        if args.with_dispatcher:
            results.update(measure_delivery(base, database, args.seconds, server))
        results.update(measure_big_package(base))
    finally:
        for proc in (server, bare):
            proc.terminate()
            proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
        if schema:
            run_sql(args.database, f'DROP SCHEMA "{schema}" CASCADE')
    report(results, args.json)


def bench_database(url: str | None, tmp: Path) -> tuple[str, str | None]:
    """The database URL to benchmark on: a new SQLite file, or a new schema of the given
    PostgreSQL database (dropped afterwards), so runs never see each other's data."""
    if not url:
        tmp.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{tmp / 'b.db'}", None
    if not url.startswith("postgres"):
        return url, None
    schema = f"finsms_bench_{os.getpid()}"
    run_sql(url, f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", schema


def run_sql(url: str, sql: str) -> None:
    """One statement on a PostgreSQL database, autocommitted."""
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute(sql)


@contextmanager
def bench_platform(database: str | None) -> Iterator[Platform]:
    """A migrated platform on a fresh benchmark database (see bench_database); closed, and
    its PostgreSQL schema dropped, afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        url, schema = bench_database(database, Path(tmp))
        platform = Platform(Settings(database_url=url))
        try:
            platform.migrate()
            yield platform
        finally:
            platform.close()
            if schema and database:
                run_sql(database, f'DROP SCHEMA "{schema}" CASCADE')


def bench_customer(platform: Platform, name: str = "bench") -> Principal:
    """A customer with ample credit and the approved sender BENCH; its principal."""
    users.create_user(platform, name, "bench-password", 3)
    credit.mint(platform, name, 10**9)
    senders.add_sender(platform, name, "BENCH", SenderState.APPROVED)
    return platform.auth.principal_of(name)


def measure(
    base: str,
    bare_url: str,
    seconds: int,
    rounds: int,
    server: subprocess.Popen[bytes],
    bare: subprocess.Popen[bytes],
) -> dict[str, float]:
    """Bare and create-otp rates in back-to-back pairs (median).

    The machine is shared and noisy: each round measures both endpoints one after the
    other, alternating which goes first, and the ratio reported is the median of the
    rounds' ratios rather than a ratio of averages taken at different moments.
    """
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    otp = {
        "number": "905321234567",
        "sender": "BENCH",
        "content": "Dogrulama kodunuz:",
        "validity": 3,
    }
    otp_url = f"{base}/sms/create-otp"
    wrk(otp_url, otp, 2, auth, server)  # warm up caches and connections
    wrk(bare_url, otp, 2, None, bare)
    pairs = []
    for round_no in range(rounds):
        runs = [
            ("bare", lambda: wrk(bare_url, otp, seconds, None, bare)),
            ("otp", lambda: wrk(otp_url, otp, seconds, auth, server)),
        ]
        if round_no % 2:
            runs.reverse()
        got = {name: run() for name, run in runs}
        (bare_rate, bare_cpu), (otp_rate, otp_cpu) = got["bare"], got["otp"]
        print(
            f"round {round_no + 1}: bare {bare_rate:.0f}/s ({bare_cpu:.0f} µs CPU/req) "
            f"create-otp {otp_rate:.0f}/s ({otp_cpu:.0f} µs CPU/req) "
            f"ratio {otp_rate / bare_rate:.2f}",
            flush=True,
        )
        pairs.append((bare_rate, otp_rate, bare_cpu, otp_cpu))
    return {
        "bare_rps": statistics.median(p[0] for p in pairs),
        "create_otp_rps": statistics.median(p[1] for p in pairs),
        "ratio": statistics.median(p[1] / p[0] for p in pairs),
        "bare_cpu_us": statistics.median(p[2] for p in pairs),
        "create_otp_cpu_us": statistics.median(p[3] for p in pairs),
    }


def measure_big_package(base: str) -> dict[str, float]:
    """Seconds to have a 1-N package of 100,000 numbers accepted."""
    numbers = [f"90532{n:07d}" for n in range(100_000)]
    body = {
        "type": 1,
        "sendingType": 1,
        "title": "Bench 100k",
        "content": "Kampanya metni",
        "sender": "BENCH",
        "numbers": numbers,
    }
    start = time.perf_counter()
    answer = requests.post(f"{base}/sms/create", json=body, auth=(USER, PASSWORD), timeout=120)
    big = time.perf_counter() - start
    assert answer.json()["err"] is None, answer.text
    return {"package_100k_seconds": big}


def final_items(database: str) -> int:
    """How many items have reached a final state (delivered, failed, timed out...)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM items WHERE state NOT IN (0, 1, 2)")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def measure_delivery(
    base: str, database: str, seconds: int, server: subprocess.Popen[bytes]
) -> dict[str, float]:
    """End to end: OTPs created for `seconds`, then the time until every one is settled.

    Delivered per second counts from the first request to the last report applied, so a
    dispatcher that falls behind the API shows here, not in the create-otp rate.
    """
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    otp = {"number": "905321234567", "sender": "BENCH", "content": "Kodunuz:", "validity": 3}
    wait_settled(database, time.monotonic() + 120)
    done_before = final_items(database)
    before = cpu_seconds(server.pid)
    start = time.monotonic()
    rate, _cpu = wrk(f"{base}/sms/create-otp", otp, seconds, auth, server)
    created = rate * seconds
    load_end = time.monotonic()
    settled = wait_settled(database, load_end + 120)
    drained = time.monotonic()
    delivered = final_items(database) - done_before
    used = cpu_seconds(server.pid) - before
    print(
        f"delivery: {delivered} OTPs settled; the queue drained {drained - load_end:.1f} s "
        f"after the load stopped{'' if settled else ' (NOT drained: gave up)'}",
        flush=True,
    )
    return {
        "delivered_per_second": delivered / (drained - start),
        "created_per_second_with_delivery": created / seconds,
        "drain_seconds": drained - load_end,
        "cpu_us_per_delivered_otp": used / max(delivered, 1) * 1e6,
    }


def wait_settled(database: str, deadline: float) -> bool:
    """Wait until no item is waiting or in flight; False at the deadline."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if not conn.execute(
                    text("SELECT 1 FROM items WHERE state IN (0, 1, 2) LIMIT 1")
                ).first():
                    return True
            time.sleep(0.05)
        return False
    finally:
        engine.dispose()


def report(results: dict[str, float], path: str | None) -> None:
    """Print the figures and targets; optionally write them as JSON."""
    print(f"bare Flask endpoint     {results['bare_rps']:9.0f} req/s (median)")
    print(f"/sms/create-otp         {results['create_otp_rps']:9.0f} req/s (median)")
    print(f"ratio create-otp / bare {results['ratio']:9.2f}   (median of rounds; target >= 0.33)")
    print(
        f"server CPU per request  bare {results['bare_cpu_us']:.0f} µs, "
        f"create-otp {results['create_otp_cpu_us']:.0f} µs (median)"
    )
    print(f"100,000-number package  {results['package_100k_seconds']:9.2f} s     (target < 3 s)")
    if "delivered_per_second" in results:
        print(
            f"end to end: created    {results['created_per_second_with_delivery']:9.0f} OTP/s, "
            f"settled {results['delivered_per_second']:.0f} OTP/s (first request to last "
            f"report), {results['cpu_us_per_delivered_otp']:.0f} µs server CPU per OTP"
        )
    if path:
        Path(path).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
