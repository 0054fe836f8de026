"""Benchmark: a package to a 100,000-contact group against one to 100,000 explicit numbers.

The book holds --contacts contacts (default 100,000, written in bulk), all in one group.
Interleaved rounds create, through the service (as /sms/create does after parsing):
  1. a package to the same 100,000 numbers given explicitly (the baseline);
  2. a package to the group, one shared text (resolved by one streamed query);
  3. a package to the group with FIRST_NAME and a custom field filled per contact
     (100,000 texts, each priced and stored);
and the resolve step alone (the group's contacts streamed). Medians, and ratios to 1.

Usage: python3.11 scripts/bench_group_send.py [--database URL] [--rounds 3]
       [--contacts 100000]
A PostgreSQL URL gets a schema of its own for the run (dropped afterwards).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, literal, select  # noqa: E402

from scripts.bench_api import bench_customer, bench_platform  # noqa: E402
from service.domain.contacts import ContactStatus, GroupInput  # noqa: E402
from service.domain.principal import Principal  # noqa: E402
from service.services import contacts, sms  # noqa: E402
from service.services.platform import Platform  # noqa: E402
from service.store.schema import contact_group_members  # noqa: E402
from service.store.schema import contacts as contacts_table  # noqa: E402
from tests.factories import send_request  # noqa: E402

USER = "bench"
NOW = datetime(2026, 1, 1)


def fill_group(platform: Platform, who: Principal, count: int) -> tuple[str, list[str]]:
    """`count` contacts in bulk, all linked to one new group; its uuid and the numbers."""
    group = contacts.create_group(platform, who, GroupInput("Bench"))
    numbers = [f"90532{n:07d}" for n in range(count)]
    batch = 50_000
    for start in range(0, count, batch):
        rows = [
            {
                "uuid": f"c-{n}",
                "user_id": who.user_id,
                "gsm": numbers[n],
                "first_name": f"Ad{n}",
                "details": '{"SEHIR": "Ankara"}',
                "status": int(ContactStatus.WHITE),
                "created_at": NOW,
                "updated_at": NOW,
            }
            for n in range(start, min(count, start + batch))
        ]
        with platform.store.write() as conn:  # type: ignore[union-attr]
            conn.execute(insert(contacts_table), rows)
    with platform.store.write() as conn:  # type: ignore[union-attr]
        linked = select(literal(group.id), contacts_table.c.id).where(
            contacts_table.c.user_id == who.user_id
        )
        conn.execute(insert(contact_group_members).from_select(["group_id", "contact_id"], linked))
        if platform.store.url.startswith("postgres"):  # type: ignore[union-attr]
            conn.exec_driver_sql("ANALYZE contacts")
            conn.exec_driver_sql("ANALYZE contact_group_members")
    return group.uuid, numbers


def run(platform: Platform, who: Principal, count: int, rounds: int) -> None:
    """Interleaved rounds of the three packages and the resolve step alone."""
    start = time.perf_counter()
    group, numbers = fill_group(platform, who, count)
    print(f"  wrote {count:,} contacts in one group in {time.perf_counter() - start:.1f} s")
    explicit = send_request(numbers, sender="BENCH")
    to_group = dataclasses.replace(explicit, recipients=(), group_uuids=(group,))
    filled = dataclasses.replace(to_group, content="Sayın FIRST_NAME, SEHIR şubemiz açıldı")
    cases: dict[str, Callable[[], object]] = {
        f"{count:,} explicit numbers": lambda: sms.create_package(
            platform, who, explicit, check_duplicates=False
        ),
        f"group of {count:,}, one text": lambda: sms.create_package(
            platform, who, to_group, check_duplicates=False
        ),
        f"group of {count:,}, FIRST_NAME/SEHIR filled": lambda: sms.create_package(
            platform, who, filled, check_duplicates=False
        ),
        "resolve step alone (group, filled)": lambda: sms.resolve_recipients(platform, who, filled),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, work in cases.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:42s} median {median:6.3f} s  ratio {median / base:5.2f}")


def main() -> None:
    """Run the benchmark on the chosen database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    with bench_platform(args.database) as platform:
        who = bench_customer(platform, USER)
        print(f"database: {platform.database_name()}")
        run(platform, who, args.contacts, args.rounds)


if __name__ == "__main__":
    main()
