"""Benchmark: the blacklist at send time, and /contact/list on a large book.

1. A 100,000-recipient package, created through the service (as /sms/create does after
   parsing), in interleaved rounds: not commercial (no blacklist read: the baseline),
   commercial with an empty blacklist (the one-row probe), commercial with 1,000 of its
   numbers blacklisted, commercial with a blacklist of 100,000 other numbers (the
   set-based read finds nothing). Their medians, and ratios to the baseline: those
   include the İYS consent filter every commercial package runs; the commercial cases
   differ from each other by their blacklist alone.
2. /contact/list's service call on a book of --contacts contacts (default 1,000,000;
   written in bulk), each filter and a deep page, best of --rounds.

Usage: python3.11 scripts/bench_contacts.py [--database URL] [--rounds 5]
       [--contacts 1000000]
A PostgreSQL URL gets a schema of its own for the run (dropped afterwards).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from scripts.bench_api import bench_customer, bench_platform  # noqa: E402
from scripts.bench_consent import consent_all  # noqa: E402
from service.domain.constants import ExitType  # noqa: E402
from service.domain.contacts import ContactFilter, ContactStatus  # noqa: E402
from service.domain.principal import Principal  # noqa: E402
from service.domain.queries import PageRequest  # noqa: E402
from service.services import contacts, sms  # noqa: E402
from service.services.platform import Platform  # noqa: E402
from service.store.schema import blacklist  # noqa: E402
from service.store.schema import contacts as contacts_table  # noqa: E402
from tests.factories import send_request  # noqa: E402

USER = "bench"
NOW = datetime(2026, 1, 1)


def blacklist_rows(platform: Platform, user_id: int, numbers: list[str]) -> None:
    """Put numbers on the user's blacklist in bulk (not through the 1,000-item API)."""
    with platform.uow.write() as tx:
        tx.blacklist.add(user_id, numbers, int(ExitType.WEB), NOW)


def send_phase(platform: Platform, who: Principal, rounds: int) -> None:
    """Interleaved rounds of 100,000-recipient packages under four blacklists."""
    numbers = [f"90532{n:07d}" for n in range(100_000)]
    others = [f"90533{n:07d}" for n in range(100_000)]
    # Commercial packages go to consented numbers only: all of them are, so that the
    # blacklist is what the commercial cases vary (the consent filter is in all of them).
    consent_all(platform, USER, numbers)
    cases: dict[str, Callable[[], None]] = {
        "not commercial": lambda: None,
        "commercial, no blacklist": lambda: None,
        "commercial, 1,000 of them blacklisted": lambda: blacklist_rows(
            platform, who.user_id, numbers[::100]
        ),
        "commercial, 100,000 others blacklisted": lambda: blacklist_rows(
            platform, who.user_id, others
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    reads: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, prepare in cases.items():
            with platform.uow.write() as tx:  # each case starts from its own blacklist
                tx.blacklist.remove(who.user_id, numbers[::100])
                tx.blacklist.remove(who.user_id, others)
            prepare()
            req = send_request(numbers, sender="BENCH", commercial=name != "not commercial")
            start = time.perf_counter()
            sms.create_package(platform, who, req, check_duplicates=False)
            times[name].append(time.perf_counter() - start)
            with platform.uow.read() as tx:  # the filter's own read, alone
                start = time.perf_counter()
                tx.blacklist.blocked(who.user_id, numbers)
                reads[name].append(time.perf_counter() - start)
    base = statistics.median(times["not commercial"])
    for name, values in times.items():
        median = statistics.median(values)
        read = statistics.median(reads[name]) * 1000
        print(
            f"  {name:42s} median {median:6.3f} s  ratio {median / base:5.2f}"
            f"  (the blacklist read alone: {read:6.1f} ms)"
        )


def fill_book(platform: Platform, user_id: int, count: int) -> None:
    """`count` contacts in bulk: 1% blacklisted (MO), 10% with an İYS state."""
    batch = 50_000
    for start in range(0, count, batch):
        rows, black = [], []
        for n in range(start, min(count, start + batch)):
            gsm = f"9053{n:08d}"
            listed = n % 100 == 0
            rows.append(
                {
                    "uuid": f"c-{n}",
                    "user_id": user_id,
                    "gsm": gsm,
                    "first_name": f"Ad {n}",
                    "details": '{"SEHIR": "Ankara"}',
                    "status": int(ContactStatus.BLACK if listed else ContactStatus.WHITE),
                    "exit_type": int(ExitType.MO) if listed else None,
                    "iys_state": 2 if n % 10 == 0 else None,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            if listed:
                black.append({"user_id": user_id, "gsm": gsm, "exit_type": 1, "created_at": NOW})
        with platform.store.write() as conn:  # type: ignore[union-attr]
            conn.execute(insert(contacts_table), rows)
            if black:
                conn.execute(insert(blacklist), black)
    if platform.store is not None and platform.store.url.startswith("postgres"):
        with platform.store.write() as conn:
            conn.exec_driver_sql("ANALYZE contacts")


def list_phase(platform: Platform, who: Principal, count: int, rounds: int) -> None:
    """/contact/list's service call on a book of `count` contacts, each filter."""
    start = time.perf_counter()
    fill_book(platform, who.user_id, count)
    print(f"  wrote {count:,} contacts in {time.perf_counter() - start:.1f} s (bulk insert)")
    cases = {
        "all, first page of 100": (ContactFilter(), PageRequest(0, 100)),
        "all, page 100 of 1000": (ContactFilter(), PageRequest(100, 1000)),
        "blacklisted (1%)": (ContactFilter(ContactStatus.BLACK), PageRequest(0, 100)),
        "white (99%)": (ContactFilter(ContactStatus.WHITE), PageRequest(0, 100)),
        "İYS accepted (10%)": (ContactFilter(iys_state=2), PageRequest(0, 100)),
        "exit type MO (1%)": (ContactFilter(exit_type=int(ExitType.MO)), PageRequest(0, 100)),
    }
    for name, (filters, page) in cases.items():
        best = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            found = contacts.list_contacts(platform, who, filters, None, page)
            best.append(time.perf_counter() - t0)
        print(
            f"  {name:26s} total {found.total:>9,}  median {statistics.median(best) * 1000:7.1f} ms"
            f"  max {max(best) * 1000:7.1f} ms"
        )


def main() -> None:
    """Run both phases on the chosen database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    with bench_platform(args.database) as platform:
        who = bench_customer(platform, USER)
        print(f"database: {platform.database_name()}")
        print("100,000-recipient package:")
        send_phase(platform, who, args.rounds)
        if args.contacts:
            print(f"/contact/list on {args.contacts:,} contacts:")
            list_phase(platform, who, args.contacts, args.rounds)


if __name__ == "__main__":
    main()
