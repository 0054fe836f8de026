"""Periodic packages on the in-memory platform with a fake clock: each run created once,
on time and charged, month ends in Istanbul time, unpaid runs, cancellation."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from service.config import Settings
from service.domain.constants import ItemState, PackageState, PeriodType
from service.domain.packages import Periodic
from service.domain.principal import Principal
from service.domain.queries import PackageRef
from service.domain.records import Item, Package
from service.services import credit, schedules, sms
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryDatabase, MemoryUnitOfWork
from service.store.memory.queue import count
from tests.factories import send_request
from tests.unit.test_sms_service import A, B, balance, customer, refused

T0 = datetime(2026, 3, 2, 6, 0)  # 09:00 in Istanbul (UTC+3 all year)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def platform(clock: FixedClock) -> Platform:
    settings = Settings(argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit")
    return Platform(settings, uow=MemoryUnitOfWork(), clock=clock)


def db(platform: Platform) -> MemoryDatabase:
    uow = platform.uow
    assert isinstance(uow, MemoryUnitOfWork)
    return uow.db


def series(platform: Platform, who: Principal, period: PeriodType, when: str, *numbers: str) -> int:
    """A repeating package scheduled at local time `when`; its id."""
    start = datetime.fromisoformat(when)
    req = send_request(numbers or (A,), periodic=Periodic(period), sending_date=start)
    return sms.create_package(platform, who, req)


def runs(platform: Platform, series_id: int) -> list[Package]:
    return sorted(
        (p for p in db(platform).packages.values() if p.run_of == series_id), key=lambda p: p.id
    )


def items_of(platform: Platform, package_id: int) -> list[Item]:
    return [i for i in db(platform).items.values() if i.package_id == package_id]


def test_a_daily_run_is_created_shortly_before_it_is_due_once_and_charged(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    first = series(platform, acme, PeriodType.DAILY, "2026-03-02 12:00", A, B)  # 09:00Z
    assert balance(platform, acme) == 98
    clock.current = datetime(2026, 3, 3, 8, 49)  # 11 minutes before run 1
    assert schedules.create_due_runs(platform) == 0
    clock.current = datetime(2026, 3, 3, 8, 51)
    assert schedules.create_due_runs(platform) == 1
    assert schedules.create_due_runs(platform) == 0  # never twice
    [run] = runs(platform, first)
    assert (run.run_no, run.sending_date, run.state) == (1, datetime(2026, 3, 3, 9), 1)
    assert run.is_scheduled and run.credit == 2 and run.periodic == Periodic(PeriodType.DAILY)
    assert {i.due_at for i in items_of(platform, run.id)} == {datetime(2026, 3, 3, 9)}
    assert balance(platform, acme) == 96
    assert db(platform).packages[first].next_run_at == datetime(2026, 3, 4, 9)


def test_a_worker_with_a_stale_view_of_the_series_creates_nothing(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    first = series(platform, acme, PeriodType.WEEKLY, "2026-03-02 12:00")
    stale = db(platform).packages[first]
    clock.current = datetime(2026, 3, 9, 8, 55)
    assert schedules.create_due_runs(platform) == 1
    # A second worker read the series before the first moved it: its update finds nothing.
    assert schedules._next_run(platform, stale, clock.current) == 0
    assert [r.run_no for r in runs(platform, first)] == [1]


def test_monthly_runs_on_the_31st_go_out_on_each_months_last_day_in_istanbul_time(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    clock.current = datetime(2026, 1, 30, 6, 0)
    first = series(platform, acme, PeriodType.MONTHLY, "2026-01-31 00:30")  # 30 Jan 21:30Z
    for _ in range(4):
        clock.current = db(platform).packages[first].next_run_at or clock.current
        schedules.create_due_runs(platform)
    dates = [platform.local.format(r.sending_date) for r in runs(platform, first)]
    assert dates == [
        "2026-02-28T00:30:00",
        "2026-03-31T00:30:00",
        "2026-04-30T00:30:00",
        "2026-05-31T00:30:00",
    ]


def test_a_run_that_cannot_be_paid_is_recorded_as_failed_and_the_series_goes_on(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform, balance=1)
    first = series(platform, acme, PeriodType.DAILY, "2026-03-02 12:00")
    assert balance(platform, acme) == 0
    clock.current = datetime(2026, 3, 3, 8, 55)
    assert schedules.create_due_runs(platform) == 1
    [unpaid] = runs(platform, first)
    assert unpaid.state == PackageState.CREATION_FAILED
    assert (unpaid.error, unpaid.credit) == ("ERR_USER_CREDIT_REQUIRED", 0)
    assert items_of(platform, unpaid.id) == [] and balance(platform, acme) == 0
    credit.mint(platform, "acme", 5)
    clock.advance(days=1)
    schedules.create_due_runs(platform)
    paid = runs(platform, first)[-1]
    assert (paid.run_no, paid.state, paid.credit) == (2, PackageState.WAITING, 1)
    assert balance(platform, acme) == 4


def test_runs_missed_while_no_worker_ran_are_skipped_not_sent_late(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    first = series(platform, acme, PeriodType.DAILY, "2026-03-02 12:00")
    clock.current = datetime(2026, 3, 6, 10, 0)  # runs 1-3 passed; run 4 an hour ago
    assert schedules.create_due_runs(platform) == 1
    [late] = runs(platform, first)
    assert (late.run_no, late.sending_date) == (4, datetime(2026, 3, 6, 9))
    assert late.state == PackageState.QUEUEING  # due already: the dispatcher sends it now


def test_cancelling_a_series_stops_it_and_cancels_its_waiting_run(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    first = series(platform, acme, PeriodType.DAILY, "2026-03-02 12:00", A, B)
    with platform.uow.write() as tx:  # run 0 went out
        for item in items_of(platform, first):  # and its counters, as the queue moves them
            db(platform).items[item.id] = dataclasses.replace(item, state=ItemState.DELIVERED)
            count(db(platform), first, item.state, -1, -item.parts)
            count(db(platform), first, int(ItemState.DELIVERED), 1, item.parts)
        tx.queue.refresh_packages([first], clock.current)
    clock.current = datetime(2026, 3, 3, 8, 55)
    schedules.create_due_runs(platform)
    assert balance(platform, acme) == 96
    sms.cancel(platform, acme, PackageRef("id", first))
    [run] = runs(platform, first)
    assert {i.state for i in items_of(platform, run.id)} == {ItemState.CANCELLED}
    assert run.id in db(platform).packages and db(platform).packages[run.id].state == -4
    assert db(platform).packages[first].state == PackageState.COMPLETED  # run 0 was sent
    assert db(platform).packages[first].next_run_at is None
    assert balance(platform, acme) == 98  # run 1 given back, run 0 paid
    clock.advance(days=30)
    assert schedules.create_due_runs(platform) == 0
    # Stopped and nothing waiting: nothing more to cancel.
    refused("ERR_SMS_PKG_NOT_CHANGEABLE", sms.cancel, platform, acme, PackageRef("id", first))


def test_cancelling_one_run_leaves_the_series_running(
    platform: Platform, clock: FixedClock
) -> None:
    acme = customer(platform)
    first = series(platform, acme, PeriodType.DAILY, "2026-03-02 12:00")
    clock.current = datetime(2026, 3, 3, 8, 55)
    schedules.create_due_runs(platform)
    [run] = runs(platform, first)
    sms.cancel(platform, acme, PackageRef("id", run.id))
    assert db(platform).packages[run.id].state == PackageState.CANCELLED
    assert db(platform).packages[first].next_run_at == datetime(2026, 3, 4, 9)
    clock.advance(days=1)
    assert schedules.create_due_runs(platform) == 1


def test_a_one_time_package_starts_no_series(platform: Platform, clock: FixedClock) -> None:
    acme = customer(platform)
    package_id = sms.create_package(platform, acme, send_request([A]))
    clock.advance(days=400)
    assert schedules.create_due_runs(platform) == 0
    assert db(platform).packages[package_id].next_run_at is None
