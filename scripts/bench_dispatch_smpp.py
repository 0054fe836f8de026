#!/usr/bin/env python3.11
"""Items per second from "a 100,000-number package accepted" to "all submitted", through
the real dispatcher and an SMPP link to the loopback test SMSC, against what a plain
smpplib loop submits to the same SMSC; and the same package through the simulator.

    PYTHONPATH=. python3.11 scripts/bench_dispatch_smpp.py [--items 100000] [--rounds 2]
        [--database postgresql+psycopg://127.0.0.1:5432/test] [--binds 2] [--window 50]
        [--claim-batch 500]

Each round, interleaved (dispatcher over SMPP, plain smpplib, dispatcher over the
simulator), on a fresh database (a new PostgreSQL schema, or a SQLite file without
--database): the package is created through the Node API's sms/create service, then a
dispatcher (make_dispatcher, its lane threads as `finsms worker` runs them) sends it. The
clock runs from sms/create's answer until the SMSC has seen every submit_sm (the
simulator: every item left "waiting"/"sending"). The plain loop is one smpplib client
with the link's total window (binds x window), no database: the ceiling of the wire. The
SMSC sends no receipts (submission alone is measured). Needs node and tests/smsc
(scripts/install_test_smsc.sh).
"""

from __future__ import annotations

import argparse
import logging
import statistics
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

USER, PASSWORD = "bench", "bench-password"


def fresh_platform(
    database: str | None, tmp: Path, claim_batch: int
) -> tuple[Platform, str | None]:
    """A migrated platform on a new database, with a user ready to send; its schema."""
    url, schema = bench_database(database, tmp)
    settings = Settings(
        database_url=url, secret_key="bench", argon2_time_cost=1, argon2_memory_kib=8192,
        claim_batch=claim_batch, simulator_report_delay=3600.0,
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


def dispatched(
    database: str | None, tmp: Path, count: int, smsc: Smsc | None, args: argparse.Namespace
) -> float:
    """Items per second through the dispatcher (over SMPP to `smsc`, else the simulator)."""
    platform, schema = fresh_platform(database, tmp, args.claim_batch)
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
                done = lambda: smsc.call("GET", "/count")["submits"] >= count  # noqa: E731
            else:
                done = lambda: unsent(platform) == 0  # noqa: E731
            wait_for(done, 1800, "every item submitted")
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not smpplib's "connection reset" at unbind
    smsc = Smsc()
    smsc.start()
    rates: dict[str, list[float]] = {"smpp": [], "plain": [], "simulator": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                where = Path(tmp) / str(r)
                where.mkdir()
                rates["smpp"].append(dispatched(args.database, where / "a", args.items, smsc, args))
                smsc.call("POST", "/reset")
                rates["plain"].append(plain(smsc, args.items, args.binds * args.window))
                smsc.call("POST", "/reset")
                rates["simulator"].append(
                    dispatched(args.database, where / "b", args.items, None, args)
                )
                print(
                    f"round {r + 1}: dispatcher+SMPP {rates['smpp'][-1]:.0f} items/s, "
                    f"plain smpplib {rates['plain'][-1]:.0f} msg/s, "
                    f"dispatcher+simulator {rates['simulator'][-1]:.0f} items/s",
                    flush=True,
                )
    finally:
        smsc.stop()
    ours, wire, sim = (statistics.median(rates[k]) for k in ("smpp", "plain", "simulator"))
    print(
        f"median over {args.rounds} rounds of {args.items} items: dispatcher+SMPP {ours:.0f}/s, "
        f"plain smpplib {wire:.0f}/s (ratio {ours / wire:.2f}), dispatcher+simulator "
        f"{sim:.0f}/s"
    )


if __name__ == "__main__":
    main()
