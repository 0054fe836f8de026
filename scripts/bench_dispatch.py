"""Benchmark: a 100,000-number package through the dispatcher, and OTP latency meanwhile.

For each database (SQLite, and PostgreSQL with --postgres URL) and each checkout (this
one, and with --baseline REF the code of that git ref, exported to a temporary folder),
interleaved round by round so that the ratio compares moments of the same machine load:

1. `finsms serve` (2 workers, embedded dispatcher, simulator carrier) on a fresh database;
2. OTP traffic alone for --warm seconds (it also warms the dispatcher's prepared
   statements while `items` is tiny, what made PostgreSQL keep a bad claim plan);
3. a 1-N package of 100,000 numbers: items per second from the API's answer ("accepted")
   until no item of it is waiting or being sent ("all submitted"), capped at --timeout;
4. meanwhile OTPs at --otp-rate per second: latency from the API's answer to the OTP's
   submission (the item's sending_date, recorded when the simulator took it), p50/p99;
   the same figures for the OTPs of step 2 ("idle").

Usage: python3.11 scripts/bench_dispatch.py [--baseline main] [--postgres URL]
       [--rounds 1] [--warm 10] [--otp-rate 20] [--timeout 150] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from scripts.bench_api import free_port, run_sql, wait_up

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-password"
PACKAGE = 100_000


@dataclass
class Outcome:
    """What one run measured."""

    items_per_second: float = 0.0
    submitted: int = 0
    seconds: float = 0.0
    idle_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)
    refused: int = 0


def export(ref: str) -> Path:
    """The code of a git ref in a temporary folder (git archive: no worktree to clean up)."""
    folder = Path(tempfile.mkdtemp(prefix="finsms-base-"))
    archive = folder / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    archive.unlink()
    return folder


def finsms(root: Path, env: dict[str, str], *args: str) -> None:
    """Run a finsms command with a checkout's code."""
    subprocess.run([sys.executable, "-m", "service", *args], env=env, cwd=root, check=True)


def database(kind: str, pg_url: str | None, tmp: Path, tag: str) -> tuple[str, str | None]:
    """A fresh database for one run: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'{tag}.db'}", None
    assert pg_url
    schema = f"finsms_dispatch_{os.getpid()}_{tag}"
    run_sql(pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    run_sql(pg_url, f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in pg_url else "?"
    return f"{pg_url}{separator}options=-csearch_path%3D{schema}", schema


class OtpLoad:
    """OTPs at a steady rate from a thread; each one's package id and answer time (UTC)."""

    def __init__(self, base: str, rate: float, phase: str) -> None:
        self.base, self.rate, self.phase = base, rate, phase
        self.sent: list[tuple[int, datetime]] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OtpLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        n, start = 0, time.monotonic()
        while not self._stop.is_set():
            n += 1
            # A text of its own each: the duplicate check refuses a repeat for 30 minutes.
            text = f"Kod {self.phase}-{n}"
            body = {"number": "905321234567", "sender": "BENCH", "content": text}
            answer = session.post(f"{self.base}/sms/create-otp", json=body, timeout=30)
            at = datetime.now(UTC).replace(tzinfo=None)
            data = answer.json()
            if data["err"] is None:
                self.sent.append((int(data["data"]["pkgID"]), at))
            else:
                self.refused += 1
            self._stop.wait(max(0.0, start + n / self.rate - time.monotonic()))


def submitted_at(url: str, package_ids: list[int]) -> list[datetime | None]:
    """The sending date of each OTP package's item (None: not submitted)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = dict(
                conn.execute(
                    text("SELECT package_id, sending_date FROM items WHERE lane = 0")
                ).all()
            )
    finally:
        engine.dispose()
    return [_as_datetime(rows.get(p)) for p in package_ids]


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def latencies(url: str, sent: list[tuple[int, datetime]]) -> list[float]:
    """Milliseconds from each OTP's answer to its submission (a missing one: +inf)."""
    got = submitted_at(url, [p for p, _ in sent])
    return [
        (s - at).total_seconds() * 1000 if s is not None else float("inf")
        for (_, at), s in zip(sent, got, strict=True)
    ]


def left_to_submit(url: str, package_id: int) -> bool:
    """Whether an item of the package is still waiting or being sent."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT 1 FROM items WHERE package_id = :p AND state IN (0, 1) LIMIT 1"),
                {"p": package_id},
            ).first()
            return row is not None
    finally:
        engine.dispose()


def count_submitted(url: str, package_id: int) -> int:
    """Items of the package handed over (or settled)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM items WHERE package_id = :p AND state NOT IN (0, 1)"
            return int(conn.execute(text(query), {"p": package_id}).scalar_one())
    finally:
        engine.dispose()


def run_once(root: Path, url: str, args: argparse.Namespace) -> Outcome:
    """One run of the scenario with one checkout on one fresh database."""
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": url,
        "FINSMS_EMBEDDED_WORKER": "1",
        "PYTHONPATH": str(root),
    }
    finsms(root, env, "migrate")
    finsms(root, env, "user", "create", USER, "--password", PASSWORD, "--type", "3")
    finsms(root, env, "credit", "add", USER, "100000000")
    finsms(root, env, "sender", "add", USER, "BENCH", "--approve")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=root,
    )
    outcome = Outcome()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/health", server)
        with OtpLoad(base, args.otp_rate, "idle") as idle:
            time.sleep(args.warm)
        time.sleep(2)  # the last idle OTPs go out
        outcome.idle_ms = latencies(url, idle.sent)
        numbers = [f"90532{n:07d}" for n in range(PACKAGE)]
        body = {"type": 1, "sendingType": 1, "title": "Bench", "content": "Kampanya"}
        answer = requests.post(
            f"{base}/sms/create",
            json={**body, "sender": "BENCH", "numbers": numbers},
            auth=(USER, PASSWORD),
            timeout=300,
        )
        accepted = time.monotonic()
        package_id = int(answer.json()["data"]["pkgID"])
        with OtpLoad(base, args.otp_rate, "busy") as busy:
            while left_to_submit(url, package_id):
                if time.monotonic() - accepted > args.timeout:
                    break
                time.sleep(0.25)
            outcome.seconds = time.monotonic() - accepted
        time.sleep(2)
        outcome.submitted = count_submitted(url, package_id)
        outcome.items_per_second = outcome.submitted / outcome.seconds
        outcome.busy_ms = latencies(url, busy.sent)
        outcome.refused = idle.refused + busy.refused
    finally:
        server.terminate()
        server.wait(60)
    return outcome


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of the values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, o: Outcome) -> str:
    """One line of figures."""
    return (
        f"{name:28s} {o.items_per_second:8.0f} items/s ({o.submitted} in {o.seconds:.1f} s)  "
        f"OTP idle p50/p99 {pct(o.idle_ms, 0.5):.0f}/{pct(o.idle_ms, 0.99):.0f} ms  "
        f"busy p50/p99 {pct(o.busy_ms, 0.5):.0f}/{pct(o.busy_ms, 0.99):.0f} ms "
        f"({len(o.busy_ms)} OTPs, {o.refused} refused)"
    )


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="a git ref to compare with, e.g. main")
    parser.add_argument("--postgres", help="a PostgreSQL URL: also run there")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm", type=float, default=10.0)
    parser.add_argument("--otp-rate", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=150.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    checkouts = [("this", ROOT)]
    if args.baseline:
        checkouts.append((args.baseline, export(args.baseline)))
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        kinds = [args.only]
    tmp = Path(tempfile.mkdtemp(prefix="finsms-dispatch-"))
    results: dict[str, list[dict[str, Any]]] = {}
    for round_no in range(args.rounds):
        for kind in kinds:
            order = checkouts if round_no % 2 == 0 else list(reversed(checkouts))
            ratios = {}
            for name, root in order:
                tag = f"{kind}_{name.replace('/', '_')}_{round_no}"
                url, schema = database(kind, args.postgres, tmp, tag)
                try:
                    outcome = run_once(root, url, args)
                finally:
                    if schema and args.postgres:
                        run_sql(args.postgres, f'DROP SCHEMA "{schema}" CASCADE')
                print(describe(f"round {round_no + 1} {kind} {name}", outcome), flush=True)
                ratios[name] = outcome.items_per_second
                results.setdefault(f"{kind} {name}", []).append(
                    {
                        "items_per_second": outcome.items_per_second,
                        "idle_p50_ms": pct(outcome.idle_ms, 0.5),
                        "idle_p99_ms": pct(outcome.idle_ms, 0.99),
                        "busy_p50_ms": pct(outcome.busy_ms, 0.5),
                        "busy_p99_ms": pct(outcome.busy_ms, 0.99),
                    }
                )
            if args.baseline and ratios.get(args.baseline):
                ratio = ratios["this"] / ratios[args.baseline]
                print(f"round {round_no + 1} {kind}: this / {args.baseline} = {ratio:.2f}")
    for name, runs in results.items():
        rate = statistics.median(r["items_per_second"] for r in runs)
        print(f"{name:24s} median {rate:.0f} items/s over {len(runs)} round(s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
