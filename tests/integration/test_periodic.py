"""Periodic packages on SQLite and PostgreSQL: runs created by the dispatcher's
housekeeping and sent on time, once each however many workers race, and cancelled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain.constants import ItemState, PackageState
from service.services import schedules
from service.services.clock import FixedClock
from service.store.schema import packages
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import (
    balance,
    call,
    create_package,
    item_states,
    ledger_sum,
    package_row,
    principal,
)

T0 = datetime(2026, 3, 2, 6, 0)  # 09:00 in Istanbul
DAILY = {"periodType": 1}


def run_ids(platform: SqlPlatform, first: int) -> list[int]:
    with platform.store.read() as conn:
        query = select(packages.c.id).where(packages.c.run_of == first).order_by(packages.c.run_no)
        return list(conn.execute(query).scalars())


def test_the_dispatchers_housekeeping_creates_each_run_and_sends_it_on_time(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100)
    carrier = SimulatorCarrier(clock, report_delay=5)
    first = create_package(
        platform,
        numbers=["905321111101", "905321111102"],
        sendingDate="2026-03-02 12:00",
        periodicSettings=DAILY,
    )
    listed = call(platform, principal(platform), "sms/list", ids=[first])["list"][0]
    assert listed["nextRunDate"] == "2026-03-03T12:00:00"
    assert listed["periodicSettings"]["periodType"] == 1
    clock.current = datetime(2026, 3, 3, 8, 52)  # 8 minutes before run 1 (12:00 local)
    Dispatcher(platform, carrier, owner="w1").run_once()  # a fresh one does its housekeeping
    [run] = run_ids(platform, first)
    assert package_row(platform, run)["state"] == PackageState.WAITING
    assert balance(platform) == 96
    clock.current = datetime(2026, 3, 3, 9, 0)
    Dispatcher(platform, carrier, owner="w1").run_once()
    assert set(item_states(platform, run).values()) == {ItemState.SENT}
    shown = call(platform, principal(platform), "sms/list", ids=[run])["list"][0]
    assert (shown["runOf"], shown["runNo"], shown["sendingDate"]) == (
        first,
        1,
        "2026-03-03T12:00:00",
    )
    assert shown["nextRunDate"] is None


def test_workers_racing_create_each_run_exactly_once(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock, pool_size=20)
    add_customer(platform, balance=1000, duplicate_check=False)
    firsts = [
        create_package(platform, numbers=[f"9053211110{n:02d}"], periodicSettings=DAILY)
        for n in range(6)
    ]
    clock.current = datetime(2026, 3, 3, 5, 55)
    workers = [make_platform(db, clock=clock) for _ in range(6)]
    with ThreadPoolExecutor(len(workers)) as pool:
        created = list(pool.map(schedules.create_due_runs, workers))
    assert sum(created) == len(firsts)
    assert all(len(run_ids(platform, first)) == 1 for first in firsts)
    assert balance(platform) == 1000 - 2 * len(firsts)
    assert ledger_sum(platform, principal(platform).user_id) == balance(platform)


def test_a_second_copy_of_a_run_is_refused_by_the_database(db: Database) -> None:
    platform = make_platform(db, clock=FixedClock(T0))
    add_customer(platform)
    first = create_package(platform, numbers=["905321111101"], periodicSettings=DAILY)
    row = {k: v for k, v in package_row(platform, first).items() if k != "id"}
    with platform.store.write() as conn:
        conn.execute(insert(packages), {**row, "uuid": "run-1", "run_of": first, "run_no": 1})
    with pytest.raises(IntegrityError), platform.store.write() as conn:
        conn.execute(insert(packages), {**row, "uuid": "run-1b", "run_of": first, "run_no": 1})


def test_cancelling_a_running_series_stops_it_and_refunds_its_waiting_run(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100)
    first = create_package(platform, numbers=["905321111101"], periodicSettings=DAILY)
    Dispatcher(platform, SimulatorCarrier(clock), owner="w1").run_once()  # run 0 goes out
    clock.current = datetime(2026, 3, 3, 5, 55)
    assert schedules.create_due_runs(platform) == 1
    assert balance(platform) == 98
    assert call(platform, principal(platform), "sms/cancel", id=first) == {"status": 1}
    [run] = run_ids(platform, first)
    assert package_row(platform, run)["state"] == PackageState.CANCELLED
    assert package_row(platform, first)["next_run_at"] is None
    assert balance(platform) == 99
    clock.current = datetime(2026, 4, 3, 5, 55)
    assert schedules.create_due_runs(platform) == 0
    assert ledger_sum(platform, principal(platform).user_id) == 99
