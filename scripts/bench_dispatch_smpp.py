#!/usr/bin/env python3.11
"""Items per second from "a 100,000-number package accepted" to "all submitted", through
the real dispatcher and an SMPP link to the loopback test SMSC, against what a plain
smpplib loop submits to the same SMSC; and the same package through the simulator.

    PYTHONPATH=. python3.11 scripts/bench_dispatch_smpp.py [--items 100000] [--rounds 2]
        [--database postgresql+psycopg://127.0.0.1:5432/test] [--binds 2] [--window 50]
        [--claim-batch 500] [--senders 1,3] [--no-simulator]

Each round, interleaved (dispatcher over SMPP, plain smpplib, dispatcher over the
simulator), on a fresh database (a new PostgreSQL schema, or a SQLite file without
--database): the package is created through the Node API's sms/create service, then a
dispatcher (make_dispatcher, its lane threads as `finsms worker` runs them) sends it. The
clock runs from sms/create's answer until the SMSC has seen every submit_sm (the
simulator: every item left "waiting"/"sending"). The plain loop is one smpplib client
with the link's total window (binds x window), no database: the ceiling of the wire. The
SMSC sends no receipts (submission alone is measured). --senders runs the dispatcher
rounds once per FINSMS_BULK_SENDERS value given (0: the default for the database), in
the same interleaved rounds, to compare them. Needs node and tests/smsc
(scripts/install_test_smsc.sh).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from scripts.bench_api import bench_database, run_sql
from scripts.bench_smpp import plain
from service.api.node.params import Params
from service.api.node.registry import BY_PATH
from service.config import Settings
from service.delivery.carriers.registry import VALIDATORS, make_dispatcher
from service.domain.constants import ItemState, SenderState, UserType
from service.services import credit, links, senders, users
from service.services.platform import Platform
from service.store.schema import items
from tests.smsc_fixture import Smsc, wait_for

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "bench", "bench-password"


def fresh_platform(
    database: str | None, tmp: Path, claim_batch: int, bulk_senders: int
) -> tuple[Platform, str | None]:
    """A migrated platform on a new database, with a user ready to send; its schema."""
    url, schema = bench_database(database, tmp)
    settings = Settings(
        database_url=url, secret_key="bench", argon2_time_cost=1, argon2_memory_kib=8192,
        claim_batch=claim_batch, simulator_report_delay=3600.0, bulk_senders=bulk_senders,
    )  # fmt: skip
    platform = Platform(settings)
    platform.migrate()
    users.create_user(platform, USER, PASSWORD, UserType.STANDARD, None)
    credit.mint(platform, USER, 10_000_000)
    senders.add_sender(platform, USER, "BENCH", SenderState.APPROVED)
    users.set_options(platform, USER, duplicate_check=False)
    return platform, schema


def create_package(platform: Platform, count: int) -> None:
    """A 1-N package of `count` numbers through the Node API's sms/create."""
    body: dict[str, Any] = dict(type=1, sendingType=1, title="Bench", content="Kampanya metni")
    body.update(sender="BENCH", numbers=[f"90532{n:07d}" for n in range(count)])
    BY_PATH["sms/create"](platform, platform.auth.principal_of(USER), Params(body))


def unsent(platform: Platform) -> int:
    """Items not handed over yet."""
    assert platform.store is not None
    waiting = (int(ItemState.WAITING), int(ItemState.SENDING))
    with platform.store.read() as conn:
        query = select(func.count()).select_from(items).where(items.c.state.in_(waiting))
        return int(conn.execute(query).scalar_one())


def submitted_all(smsc: Smsc, count: int) -> None:
    """Poll (every 0.1 s: the poll shares the dispatcher's interpreter) until the SMSC has
    seen `count` submit_sm."""
    deadline = time.monotonic() + 1800
    while smsc.call("GET", "/count")["submits"] < count:
        assert time.monotonic() < deadline, "not every item was submitted"
        time.sleep(0.1)


def by_workers(
    database: str, tmp: Path, count: int, smsc: Smsc, args: argparse.Namespace, senders: int
) -> float:
    """Items per second through `finsms worker` processes (--workers of them) sharing one
    SMPP link to `smsc`, as an operator runs them on PostgreSQL: each its own
    interpreter, the link's binds divided among them."""
    platform, schema = fresh_platform(database, tmp, args.claim_batch, senders)
    assert schema is not None
    options = {k: str(v) for k, v in smsc.options(binds=args.binds, window=args.window).items()}
    links.add_link(platform, VALIDATORS, "smsc", "smpp", options, ["*"])
    smsc.call("POST", "/reset")
    url = platform.settings.database_url
    env = {**os.environ, "FINSMS_DATABASE_URL": url, "FINSMS_CLAIM_BATCH": str(args.claim_batch)}
    env.update(FINSMS_BULK_SENDERS=str(senders), FINSMS_LINK_RELOAD_SECONDS="0.5")
    env.update(FINSMS_SECRET_KEY="bench", PYTHONPATH=str(ROOT))
    workers = [
        subprocess.Popen([sys.executable, "-m", "service", "worker"], env=env, cwd=ROOT)
        for _ in range(args.workers)
    ]
    try:
        # Every worker heartbeats and takes its share of the binds before the clock runs.
        time.sleep(3)
        wait_for(lambda: len(smsc.call("GET", "/sessions")) == args.binds, 30, "the binds")
        create_package(platform, count)
        start = time.perf_counter()
        submitted_all(smsc, count)
        return count / (time.perf_counter() - start)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        if platform.store is not None:
            platform.store.dispose()
        run_sql(database, f'DROP SCHEMA "{schema}" CASCADE')


def dispatched(
    database: str | None,
    tmp: Path,
    count: int,
    smsc: Smsc | None,
    args: argparse.Namespace,
    bulk_senders: int,
) -> float:
    """Items per second through the dispatcher (over SMPP to `smsc`, else the simulator)."""
    if smsc is not None and args.workers:
        assert database, "--workers needs --database (PostgreSQL)"
        return by_workers(database, tmp, count, smsc, args, bulk_senders)
    platform, schema = fresh_platform(database, tmp, args.claim_batch, bulk_senders)
    try:
        if smsc is not None:
            options = {
                k: str(v) for k, v in smsc.options(binds=args.binds, window=args.window).items()
            }
            links.add_link(platform, VALIDATORS, "smsc", "smpp", options, ["*"])
            smsc.call("POST", "/reset")
        dispatcher = make_dispatcher(platform)
        dispatcher.open()
        if smsc is not None:
            link = dispatcher.router.carriers[0]
            wait_for(link.available, what="the SMPP bind")
        create_package(platform, count)
        start = time.perf_counter()
        dispatcher.start()
        try:
            if smsc is not None:
                submitted_all(smsc, count)
            else:
                wait_for(lambda: unsent(platform) == 0, 1800, "every item submitted")
            elapsed = time.perf_counter() - start
        finally:
            dispatcher.stop()
        return count / elapsed
    finally:
        if platform.store is not None:
            platform.store.dispose()
        if schema and database:
            run_sql(database, f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Run interleaved rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--binds", type=int, default=2)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--claim-batch", type=int, default=500, help="FINSMS_CLAIM_BATCH")
    parser.add_argument("--senders", default="0", help="FINSMS_BULK_SENDERS values: 1,3")
    parser.add_argument("--no-simulator", action="store_true", help="skip the simulator")
    parser.add_argument(
        "--workers", type=int, default=0, help="SMPP through this many `finsms worker` processes"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.senders.split(",")]
    logging.basicConfig(level=logging.ERROR)  # not smpplib's "connection reset" at unbind
    smsc = Smsc()
    smsc.start()
    rates: dict[str, list[float]] = {"plain": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                where = Path(tmp) / str(r)
                where.mkdir()
                figures = []
                for n in counts:
                    rate = dispatched(args.database, where / f"a{n}", args.items, smsc, args, n)
                    rates.setdefault(f"smpp{n}", []).append(rate)
                    figures.append(f"dispatcher+SMPP senders={n} {rate:.0f} items/s")
                    smsc.call("POST", "/reset")
                rates["plain"].append(plain(smsc, args.items, args.binds * args.window))
                figures.append(f"plain smpplib {rates['plain'][-1]:.0f} msg/s")
                smsc.call("POST", "/reset")
                for n in [] if args.no_simulator else counts:
                    rate = dispatched(args.database, where / f"b{n}", args.items, None, args, n)
                    rates.setdefault(f"sim{n}", []).append(rate)
                    figures.append(f"dispatcher+simulator senders={n} {rate:.0f} items/s")
                print(f"round {r + 1}: " + ", ".join(figures), flush=True)
    finally:
        smsc.stop()
    wire = statistics.median(rates["plain"])
    print(f"median over {args.rounds} rounds of {args.items} items: plain smpplib {wire:.0f}/s")
    for n in counts:
        ours = statistics.median(rates[f"smpp{n}"])
        line = f"  senders={n}: dispatcher+SMPP {ours:.0f}/s (ratio {ours / wire:.2f})"
        if not args.no_simulator:
            line += f", dispatcher+simulator {statistics.median(rates[f'sim{n}']):.0f}/s"
        print(line)


if __name__ == "__main__":
    main()
