"""Benchmark: /api/v1/sms/send (the FinSMS v1 facade) against /sms/create-otp.

One server (gunicorn, `finsms serve`), both endpoints loaded by wrk with the same
connections and duration, interleaved in rounds (alternating which goes first); the
figure is the median of the rounds' ratios facade / create-otp (target >= 0.8). The
facade request does what create-otp does (a cached credential, a package, its item and
its debit in one transaction) but the duplicate check (create-otp writes its slot; the
facade does not check duplicates), plus its rate-limit count (in the database, or in
Redis with --redis) and its audit entry (in the package's transaction).
Usage: python3.11 scripts/bench_facade.py [--seconds 10] [--rounds 5] [--database URL]
       [--redis redis://127.0.0.1:6379/0] [--workers 2]
Needs wrk (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.bench_api import ROOT, bench_database, free_port, run_sql, wait_up, wrk

USER, PASSWORD = "bench", "bench-password"


def finsms(env: dict[str, str], *args: str) -> str:
    """Run a finsms CLI command; its output."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database")
    parser.add_argument("--redis", help="count the rate limit in this Redis")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="finsms-bench-facade-"))
    database, schema = bench_database(args.database, tmp)
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": database,
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_WORKERS": str(args.workers),
        "PYTHONPATH": str(ROOT),
        # Counted on every request as deployed, but never reached.
        "FINSMS_FACADE_RATE_LIMIT": "1000000/second",
    }
    if args.redis:
        env |= {"FINSMS_REDIS_URL": args.redis, "FINSMS_REDIS_PREFIX": f"bench-{uuid.uuid4()}"}
    finsms(env, "migrate")
    finsms(env, "user", "create", USER, "--password", PASSWORD, "--type", "3")
    finsms(env, "credit", "add", USER, "100000000")
    finsms(env, "sender", "add", USER, "BENCH", "--approve")
    key = json.loads(finsms(env, "apikey", "create", USER, "--json"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/health", server)
        results = measure(base, key["key"], key["secret"], args, server)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
        if schema:
            run_sql(args.database, f'DROP SCHEMA "{schema}" CASCADE')
    storage = "Redis" if args.redis else "the database"
    print(f"rate limit counted in {storage}; {args.workers} workers")
    print(f"/sms/create-otp   {results['otp']:8.0f} req/s (median)")
    print(f"/api/v1/sms/send  {results['facade']:8.0f} req/s (median)")
    print(f"ratio facade/otp  {results['ratio']:8.2f}   (median of rounds; target >= 0.8)")


def measure(
    base: str, key: str, secret: str, args: argparse.Namespace, server: subprocess.Popen[bytes]
) -> dict[str, float]:
    """Both rates in interleaved rounds; medians and the median ratio."""
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    otp = {"number": "905321234567", "sender": "BENCH", "content": "Kodunuz:", "validity": 3}
    # bench_api's wrk varies "content" per request; the facade ignores that field and
    # sends its Message, the same size as the OTP's text.
    facade = {"User": key, "Pass": secret, "Message": "Kodunuz: 1-1-1", "Numbers": [
        "905321234567"], "content": "x"}  # fmt: skip
    otp_url, facade_url = f"{base}/sms/create-otp", f"{base}/api/v1/sms/send"
    wrk(otp_url, otp, 2, auth, server)  # warm up
    wrk(facade_url, facade, 2, None, server)
    rounds = []
    for n in range(args.rounds):
        runs = [
            ("otp", lambda: wrk(otp_url, otp, args.seconds, auth, server)[0]),
            ("facade", lambda: wrk(facade_url, facade, args.seconds, None, server)[0]),
        ]
        if n % 2:
            runs.reverse()
        got = {name: run() for name, run in runs}
        print(
            f"round {n + 1}: create-otp {got['otp']:.0f}/s  facade send {got['facade']:.0f}/s  "
            f"ratio {got['facade'] / got['otp']:.2f}",
            flush=True,
        )
        rounds.append(got)
    return {
        "otp": statistics.median(r["otp"] for r in rounds),
        "facade": statistics.median(r["facade"] for r in rounds),
        "ratio": statistics.median(r["facade"] / r["otp"] for r in rounds),
    }


if __name__ == "__main__":
    main()
