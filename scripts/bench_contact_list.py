"""Benchmark: /contact/list latency percentiles over HTTP on a 1,000,000-contact book.

For each database: a book of --contacts contacts for one user, written in bulk (as
bench_contacts.py does: multi-row inserts, not the API), with 1% blacklisted (MO and
WEB exits, mirrored in the blacklist table), 0.5% invalid, İYS states accepted (10%),
rejected (2%) and waiting (1%), and five groups of 500,000 / 100,000 / 10,000 / 1,000 /
100 members. Then `finsms serve` (gunicorn, the whole WSGI app, dispatcher off) is
started on it and one client sends --requests sequential POST /contact/list with Basic
Auth, after --warmup requests, a fixed-seed mix: first pages, random deep pages up to
pageIndex 1,000, each filter (status, iysState, exitType, groupUUID), pageSize 10..1000.
Prints p50, p95, p99 and max per database, per kind of request, and which kinds make
up the slowest 1%. With --baseline DIR (a checkout of another revision, e.g. from
`git worktree add` or `git archive`) that revision is served too, on the same book, and
every request goes to both servers in turn, alternating which goes first.

PostgreSQL gets ANALYZE after the bulk write (autovacuum or an import would do it);
SQLite gets none (FinSMS never runs it there).

Usage: python3.11 scripts/bench_contact_list.py [--contacts 1000000] [--requests 1000]
       [--warmup 50] [--database sqlite] [--database postgresql://127.0.0.1/test]
       [--baseline DIR]
A PostgreSQL URL gets a schema of its own for the run (dropped afterwards).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from scripts.bench_api import bench_database, free_port, run_sql, wait_up  # noqa: E402
from service.config import Settings  # noqa: E402
from service.domain.constants import ExitType  # noqa: E402
from service.domain.contacts import ContactStatus, GroupInput  # noqa: E402
from service.services import contacts, users  # noqa: E402
from service.services.platform import Platform  # noqa: E402
from service.store.schema import blacklist  # noqa: E402
from service.store.schema import contacts as contacts_table  # noqa: E402

USER, PASSWORD = "bench", "bench-password"
NOW = datetime(2026, 1, 1)
BATCH = 50_000
# Group title -> every how many contact ids is a member.
GROUPS = {"half": 2, "tenth": 10, "hundredth": 100, "thousandth": 1000, "ten-thousandth": 10_000}


def contact_row(user_id: int, n: int) -> dict[str, Any]:
    """Contact number n: its status, exit type and İYS state follow n's residues."""
    black, bad = n % 100 == 0, n % 200 == 1
    status = ContactStatus.BLACK if black else ContactStatus.INVALID if bad else ContactStatus.WHITE
    iys = 2 if n % 10 == 0 else -2 if n % 50 == 3 else -1 if n % 100 == 7 else None
    return {
        "uuid": f"c-{n}",
        "user_id": user_id,
        "gsm": f"9053{n:08d}",
        "first_name": f"Ad {n}",
        "last_name": "Soyad",
        "details": '{"SEHIR": "Ankara"}',
        "status": int(status),
        "exit_type": (int(ExitType.MO) if n % 200 == 0 else int(ExitType.WEB)) if black else None,
        "iys_state": iys,
        "created_at": NOW,
        "updated_at": NOW,
    }


def fill_book(platform: Platform, user_id: int, count: int) -> list[str]:
    """`count` contacts in bulk, their blacklist rows, and the groups; the groups' uuids."""
    for start in range(0, count, BATCH):
        rows = [contact_row(user_id, n) for n in range(start, min(count, start + BATCH))]
        black = [
            {"user_id": user_id, "gsm": r["gsm"], "exit_type": r["exit_type"], "created_at": NOW}
            for r in rows
            if r["status"] == int(ContactStatus.BLACK)
        ]
        with platform.store.write() as conn:  # type: ignore[union-attr]
            conn.execute(insert(contacts_table), rows)
            if black:
                conn.execute(insert(blacklist), black)
    who = platform.auth.principal_of(USER)
    uuids = []
    for title, every in GROUPS.items():
        group = contacts.create_group(platform, who, GroupInput(title))
        uuids.append(group.uuid)
        with platform.store.write() as conn:  # type: ignore[union-attr]
            conn.execute(
                text(
                    "INSERT INTO contact_group_members (group_id, contact_id)"
                    " SELECT :g, id FROM contacts WHERE user_id = :u AND id % :k = 0"
                ),
                {"g": group.id, "u": user_id, "k": every},
            )
    if url_of(platform).startswith("postgres"):
        with platform.store.write() as conn:  # type: ignore[union-attr]
            for table in ("contacts", "contact_group_members", "blacklist"):
                conn.exec_driver_sql(f"ANALYZE {table}")
    return uuids


def url_of(platform: Platform) -> str:
    """The platform's database URL."""
    return str(platform.store.url)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Call:
    """One request of the mix: its kind (for the per-kind table) and its body."""

    kind: str
    body: dict[str, Any]


def deep_page() -> int:
    """A page index: the first page half the time, else up to 1,000."""
    return 0 if random.random() < 0.5 else random.randint(1, 1000)


def one_call(groups: list[str]) -> Call:
    """A random request of the realistic mix."""
    size = random.choice([10, 20, 50, 100, 100, 100, 200, 500, 1000])
    roll = random.random()
    if roll < 0.25:
        kind, extra = "all, first page", {}
    elif roll < 0.45:
        kind, extra = "all, deep page", {"pageIndex": random.randint(1, 1000)}
    elif roll < 0.60:
        status = random.choice([1, 2, 3])
        kind, extra = f"status {status}", {"status": status, "pageIndex": deep_page()}
    elif roll < 0.72:
        state = random.choice([2, -2, -1])
        kind, extra = f"iysState {state}", {"iysState": state, "pageIndex": deep_page()}
    elif roll < 0.80:
        exit_type = random.choice(["MO", "WEB"])
        kind, extra = f"exitType {exit_type}", {"exitType": exit_type, "pageIndex": deep_page()}
    else:
        index = random.randrange(len(groups))
        kind = f"group {list(GROUPS)[index]}"
        extra = {"groupUUID": groups[index], "pageIndex": deep_page()}
    return Call(kind, {"pageSize": size, **extra})


def timed(session: requests.Session, url: str, call: Call) -> float:
    """Seconds for one /contact/list; fails loudly on an error answer."""
    start = time.perf_counter()
    response = session.post(url, json=call.body, timeout=120)
    seconds = time.perf_counter() - start
    answer = response.json()
    if response.status_code != 200 or answer.get("err"):
        raise SystemExit(f"{call.body}: {response.status_code} {answer}")
    return seconds


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000


def serve(database: str, root: Path = ROOT) -> tuple[subprocess.Popen[bytes], str]:
    """`finsms serve` of the checkout at `root` on the database, one gunicorn worker, no
    dispatcher; its URL."""
    port = free_port()
    env = {
        **os.environ,
        "FINSMS_DATABASE_URL": database,
        "FINSMS_EMBEDDED_WORKER": "0",
        "FINSMS_WORKERS": "1",
        "PYTHONPATH": str(root),
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]
    proc = subprocess.Popen([*command, "--port", str(port)], env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/health", proc)
    return proc, base


def measure(
    bases: list[str], groups: list[str], count: int, warmup: int
) -> list[list[tuple[str, float]]]:
    """Warm-up, then `count` requests of the mix: (kind, seconds) each, per server. With
    two servers each request goes to both, alternating which goes first, so that the
    machine's noise falls on both alike."""
    random.seed(11)  # the same mix on every database
    calls = [one_call(groups) for _ in range(warmup + count)]
    sessions = [requests.Session() for _ in bases]
    for session in sessions:
        session.auth = (USER, PASSWORD)
    urls = [f"{base}/contact/list" for base in bases]
    results: list[list[tuple[str, float]]] = [[] for _ in bases]
    for n, call in enumerate(calls):
        order = list(range(len(bases)))
        if n % 2:
            order.reverse()
        for i in order:
            seconds = timed(sessions[i], urls[i], call)
            if n >= warmup:
                results[i].append((call.kind, seconds))
    return results


def report(name: str, results: list[tuple[str, float]]) -> None:
    """The percentiles overall and per kind, and the kinds of the slowest 1%."""
    times = [t for _, t in results]
    print(
        f"\n{name}: {len(times)} requests  p50 {pct(times, 50):6.1f}  p95 {pct(times, 95):6.1f}"
        f"  p99 {pct(times, 99):6.1f}  max {max(times) * 1000:6.1f} ms"
        f"  (load average {os.getloadavg()[0]:.2f})"
    )
    print(f"  {'kind':24s} {'n':>4s} {'p50':>7s} {'p95':>7s} {'p99':>7s} {'max':>7s}  ms")
    kinds: dict[str, list[float]] = {}
    for kind, seconds in results:
        kinds.setdefault(kind, []).append(seconds)
    for kind, values in sorted(kinds.items(), key=lambda kv: -statistics.median(kv[1])):
        print(
            f"  {kind:24s} {len(values):4d} {pct(values, 50):7.1f} {pct(values, 95):7.1f}"
            f" {pct(values, 99):7.1f} {max(values) * 1000:7.1f}"
        )
    slowest = sorted(results, key=lambda r: -r[1])[: max(1, len(results) // 100)]
    mix = ", ".join(f"{k} x{n}" for k, n in Counter(k for k, _ in slowest).most_common())
    print(f"  slowest 1%: {mix}")


def run_one(database: str, args: argparse.Namespace) -> None:
    """Fill, serve, measure and report on one database."""
    with tempfile.TemporaryDirectory() as tmp:
        url, schema = bench_database(None if database == "sqlite" else database, Path(tmp))
        platform = Platform(Settings(database_url=url))
        procs: list[subprocess.Popen[bytes]] = []
        try:
            platform.migrate()
            users.create_user(platform, USER, PASSWORD, 3)
            name = "PostgreSQL" if url.startswith("postgres") else "SQLite"
            start = time.perf_counter()
            groups = fill_book(platform, platform.auth.principal_of(USER).user_id, args.contacts)
            seconds = time.perf_counter() - start
            print(f"{name}: wrote {args.contacts:,} contacts in {seconds:.0f} s", flush=True)
            platform.close()
            bases = []
            for root in [ROOT] + ([args.baseline] if args.baseline else []):
                proc, base = serve(url, root)
                procs.append(proc)
                bases.append(base)
            results = measure(bases, groups, args.requests, args.warmup)
            report(name, results[0])
            if args.baseline:
                report(f"{name}, baseline {args.baseline}", results[1])
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(30)
            platform.close()
            if schema:
                run_sql(database, f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Run on each database given (SQLite and the local PostgreSQL by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--database", action="append", default=None)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another revision: served too, on the same book, every request"
        " sent to both servers",
    )
    args = parser.parse_args()
    for database in args.database or ["sqlite", "postgresql://127.0.0.1/test"]:
        run_one(database, args)


if __name__ == "__main__":
    main()
