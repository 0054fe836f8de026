"""Reproductions of defects found reviewing the merge of sched, mo, links, hooks, smpp,
durable and contacts (review branch). Each test names the defect it shows; a failing
test here is a defect still open, not a broken test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.domain.constants import PackageState
from service.services import schedules
from service.services.clock import FixedClock
from service.store.schema import packages
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, balance, call, package_row, principal

T0 = datetime(2026, 3, 2, 6, 0)  # 09:00 in Istanbul
DAILY = {"periodType": 1}


def _create(platform: SqlPlatform, **fields: Any) -> int:
    pkg: int = call(platform, principal(platform), "sms/create", **{**SMS, **fields})["pkgID"]
    return pkg


def _runs(platform: SqlPlatform, first: int) -> list[Any]:
    with platform.store.read() as conn:
        query = select(packages).where(packages.c.run_of == first).order_by(packages.c.run_no)
        return list(conn.execute(query).mappings())


def test_a_run_whose_numbers_all_opted_out_fails_alone_not_every_later_series(
    db: Database,
) -> None:
    """DEFECT (sched x contacts merge): schedules._write_run calls sms.write_package outside
    its `try`, and write_package now drops blacklisted numbers (drop_blacklisted) and raises
    ERR_EMPTY_SMS_PACKAGE when none is left. The error escapes create_due_runs: the run is
    never written, the series never advances (retried and failing every minute), the
    dispatcher's settle pass raises, and every series due after it gets no run."""
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100, duplicate_check=False)
    opted_out = _create(
        platform, numbers=["905321111101"], periodicSettings=DAILY, commercial=True
    )
    clock.current = datetime(2026, 3, 2, 6, 30)
    later = _create(platform, numbers=["905321111102"], periodicSettings=DAILY, commercial=True)
    call(platform, principal(platform), "contact/set-blacklist", status=True, gsms=["905321111101"])
    clock.current = datetime(2026, 3, 3, 6, 25)  # both runs 1 are due within RUN_LEAD
    created = schedules.create_due_runs(platform)  # raises DomainError today
    assert created == 2
    [failed] = _runs(platform, opted_out)
    assert failed["state"] == PackageState.CREATION_FAILED
    [sent] = _runs(platform, later)
    assert sent["state"] == PackageState.WAITING
    assert package_row(platform, opted_out)["next_run_no"] == 2
    assert balance(platform) == 100 - 2 - 1  # run 0 of each series, run 1 of the later one
