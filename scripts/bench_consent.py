"""Benchmark: a 100,000-recipient commercial package (every number looked up in the İYS
consents) against the same package not commercial (no lookup), in process.

The user holds an approved, accepted consent for every number, so both packages have the
same 100,000 items and the difference is what a commercial package adds: the consent
filter (one set-based query over the consents and a set intersection) and the read of the
user's (empty) blacklist. Rounds interleave the two kinds; each package has
its own text, so the duplicate check passes. Reports the median times and their ratio.
Usage: python3.11 scripts/bench_consent.py [--recipients 100000] [--rounds 3]
       [--database URL]   (default: a SQLite file in a temporary folder)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as `python3.11 scripts/bench_consent.py`: the repository root holds the packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from scripts.bench_api import bench_database, run_sql
from service.config import Settings
from service.domain.constants import SenderState
from service.domain.principal import visible_to
from service.domain.queries import PackageRef
from service.services import credit, iys, senders, sms, users
from service.services.platform import Platform
from service.store.schema import iys_consents
from tests.factories import send_request


def prepare(platform: Platform, numbers: list[str]) -> None:
    """A user with credit, a sender, İYS codes and an accepted consent for every number."""
    users.create_user(platform, "bench", "bench-password", 3, None, unlimited=True)
    senders.add_sender(platform, "bench", "BENCH", SenderState.APPROVED)
    credit.mint(platform, "bench", 1)
    consent_all(platform, "bench", numbers)


def consent_all(platform: Platform, username: str, numbers: list[str]) -> None:
    """İYS codes for the user, and a consent İYS accepted for every number (bulk)."""
    iys.save_settings(platform, username, iys_code="1234", brand_code="5678")
    user_id = platform.auth.principal_of(username).user_id
    now = platform.clock.now()
    rows = [
        {
            "user_id": user_id,
            "recipient": n,
            "type": "MESAJ",
            "recipient_type": 0,
            "source": 7,
            "status": "ONAY",
            "consent_date": now,
            "iys_state": 2,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in numbers
    ]
    assert platform.store is not None
    with platform.store.write() as conn:  # fixture data: a bulk insert, not 100,000 calls
        conn.execute(insert(iys_consents), rows)


def main() -> None:
    """Run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="finsms-bench-consent-"))
    url, schema = bench_database(args.database, folder)  # PostgreSQL: a schema of its own
    try:
        run(url, args.recipients, args.rounds)
    finally:
        if schema:
            run_sql(args.database, f'DROP SCHEMA "{schema}" CASCADE')


def run(url: str, recipients: int, rounds: int) -> None:
    """Interleaved rounds of both kinds of package; the medians and their ratio."""
    platform = Platform(Settings.from_env(database_url=url, argon2_time_cost=1))
    platform.migrate()
    numbers = [f"90532{n:07d}" for n in range(recipients)]
    prepare(platform, numbers)
    who = platform.auth.principal_of("bench")
    times: dict[bool, list[float]] = {False: [], True: []}
    made = 0
    for round_no in range(rounds):
        for commercial in (False, True) if round_no % 2 == 0 else (True, False):
            made += 1
            start = time.perf_counter()
            package_id = sms.create_package(
                platform,
                who,
                send_request(
                    numbers,
                    sender="BENCH",
                    content=f"Kampanya {made}",
                    title="Bench",
                    commercial=commercial,
                ),
            )
            times[commercial].append(time.perf_counter() - start)
            with platform.uow.read() as tx:  # both kinds reach every number
                package = tx.packages.find(visible_to(who), PackageRef("id", package_id))
            assert package is not None and package.recipients == len(numbers)
            print(f"round {round_no}: commercial={commercial} {times[commercial][-1]:.3f} s")
    plain, checked = statistics.median(times[False]), statistics.median(times[True])
    print(f"{recipients} recipients on {platform.database_name()}")
    print(f"not commercial: median {plain:.3f} s; commercial: median {checked:.3f} s")
    print(f"ratio {checked / plain:.2f}")
    platform.close()


if __name__ == "__main__":
    main()
