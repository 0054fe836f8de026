"""Races the database must settle: one customID, one balance, many concurrent creates."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from service.domain.carrier import Outcome
from service.domain.constants import ItemState, PackageState
from service.domain.errors import DomainError
from service.domain.packages import BULK_LANE
from service.services import delivery
from service.store.schema import packages
from service.store.uow import SqlTransaction
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import (
    SMS,
    balance,
    call,
    count,
    ledger_sum,
    package_row,
    principal,
)

NOW = datetime(2026, 1, 1)


def _race(platform: SqlPlatform, bodies: list[dict[str, Any]], workers: int) -> list[object]:
    me = principal(platform)

    def attempt(body: dict[str, Any]) -> object:
        try:
            return call(platform, me, "sms/create", **body)["pkgID"]
        except DomainError as error:
            return error.err.name

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(attempt, bodies))


def test_fifty_concurrent_creates_with_one_custom_id_make_one_package(db: Database) -> None:
    platform = make_platform(db, pool_size=25)
    add_customer(platform, balance=1000, duplicate_check=False)
    bodies = [{**SMS, "numbers": [f"9053211{n:05d}"], "customID": "same-id"} for n in range(50)]
    results = _race(platform, bodies, 50)
    created = [r for r in results if isinstance(r, int)]
    assert len(created) == 1
    assert set(results) - set(created) == {"ERR_SMS_PKG_CUSTOM_ID_DUPLICATION"}
    assert count(platform, packages) == 1
    assert balance(platform) == 999
    assert ledger_sum(platform, principal(platform).user_id) == 999


def test_two_hundred_concurrent_creates_spend_exactly_the_balance(db: Database) -> None:
    platform = make_platform(db, pool_size=25)
    add_customer(platform, balance=100)
    bodies = [{**SMS, "numbers": [f"9053211{n:05d}"]} for n in range(200)]
    results = _race(platform, bodies, 50)
    accepted = [r for r in results if isinstance(r, int)]
    assert len(accepted) == 100
    assert set(results) - set(accepted) == {"ERR_USER_CREDIT_REQUIRED"}
    assert balance(platform) == 0
    assert count(platform, packages) == 100
    assert ledger_sum(platform, principal(platform).user_id) == 0


def test_concurrent_duplicates_are_refused_but_one(db: Database) -> None:
    platform = make_platform(db, pool_size=25)
    add_customer(platform, balance=1000)
    body = {**SMS, "numbers": ["905321111111", "905321111112"]}
    results = _race(platform, [body] * 20, 20)
    assert sum(isinstance(r, int) for r in results) == 1
    assert results.count("ERR_SMS_PKG_DUPLICATION") == 19
    assert balance(platform) == 998


def _overlap(
    platform: SqlPlatform, first: Callable[[Connection], None], second: Callable[[Connection], None]
) -> None:
    """Run `first` and `second` each in its own transaction, `second` starting while
    `first` still holds its transaction open: the interleaving that breaks
    read-then-write code on PostgreSQL."""
    first_in, release = threading.Event(), threading.Event()

    def run_first() -> None:
        with platform.store.write() as conn:
            first(conn)
            first_in.set()
            release.wait(10)

    def run_second() -> None:
        with platform.store.write() as conn:
            second(conn)

    one = threading.Thread(target=run_first)
    one.start()
    first_in.wait(10)
    two = threading.Thread(target=run_second)
    two.start()
    time.sleep(0.3)  # let the second transaction reach the rows the first one holds
    release.set()
    one.join(20)
    two.join(20)


def _two_recipients_in_state(platform: SqlPlatform, state: ItemState) -> int:
    add_customer(platform, balance=10)
    pkg = call(
        platform,
        principal(platform),
        "sms/create",
        **{**SMS, "numbers": ["905321111111", "905321111112"]},
    )["pkgID"]
    # Through the queue repository, as the dispatcher moves them (it keeps the counters).
    now = platform.clock.now() + timedelta(minutes=1)
    with platform.store.write() as conn:
        queue = SqlTransaction(conn).queue
        claimed = queue.claim("w", BULK_LANE, now, now + timedelta(minutes=5), 10)
        sent = [(c.item_id, _ref(c.target), "sim", now + timedelta(days=1)) for c in claimed]
        queue.mark_sent("w", sent, now)
        if state != ItemState.SENT:
            queue.apply_outcomes([(c.item_id, Outcome(state, now)) for c in claimed])
    return int(pkg)


def _ref(target: str) -> str:
    return f"ref-{target}"


def test_two_settlers_of_one_package_refund_it_once(pg_db: Database) -> None:
    platform = make_platform(pg_db)
    pkg = _two_recipients_in_state(platform, ItemState.UNDELIVERED)

    def settle(conn: Connection) -> None:
        delivery.settle(SqlTransaction(conn), [pkg], NOW)

    _overlap(platform, settle, settle)
    assert balance(platform) == 10
    assert ledger_sum(platform, principal(platform).user_id) == 10


def test_last_two_reports_applied_concurrently_complete_the_package(pg_db: Database) -> None:
    platform = make_platform(pg_db)
    pkg = _two_recipients_in_state(platform, ItemState.SENT)

    def deliver(target: str) -> Callable[[Connection], None]:
        def run(conn: Connection) -> None:
            queue = SqlTransaction(conn).queue
            (item_id,) = queue.items_of_refs([("sim", _ref(target))]).values()
            queue.apply_outcomes([(item_id, Outcome(ItemState.DELIVERED, NOW))])
            delivery.settle(SqlTransaction(conn), [pkg], NOW)

        return run

    _overlap(platform, deliver("905321111111"), deliver("905321111112"))
    assert package_row(platform, pkg)["state"] == PackageState.COMPLETED


def test_transfers_both_ways_between_two_users_never_deadlock(db: Database) -> None:
    from service.domain.constants import UserType
    from service.services import credit, users
    from tests.conftest import PASSWORD

    platform = make_platform(db, pool_size=10)
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    add_customer(platform, "acme", 0, parent="bayi")
    credit.mint(platform, "bayi", 1000)
    credit.transfer(platform, "bayi", "acme", 500)

    def move(amount: int) -> None:
        credit.transfer(platform, "bayi", "acme", amount)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(move, [1, -1] * 40))
    assert balance(platform, "acme") == 500
