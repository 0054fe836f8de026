"""When the runs of a repeating package are due: month ends, leap years, missed runs."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.constants import PeriodType
from service.domain.schedules import MISSED_GRACE, next_due, occurrence

P = PeriodType
anchors = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
repeating = st.sampled_from([P.DAILY, P.WEEKLY, P.MONTHLY, P.YEARLY])


def test_daily_and_weekly_runs_keep_the_wall_time() -> None:
    anchor = datetime(2026, 3, 2, 9, 30)
    assert occurrence(anchor, P.DAILY, 3) == datetime(2026, 3, 5, 9, 30)
    assert occurrence(anchor, P.WEEKLY, 2) == datetime(2026, 3, 16, 9, 30)


def test_a_monthly_run_on_the_31st_falls_on_each_months_last_day_without_drifting() -> None:
    anchor = datetime(2026, 1, 31, 10, 0)
    runs = [occurrence(anchor, P.MONTHLY, n).date().isoformat() for n in range(5)]
    assert runs == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    assert occurrence(datetime(2028, 1, 30), P.MONTHLY, 1) == datetime(2028, 2, 29)


def test_a_yearly_run_on_29_february_falls_on_the_28th_and_returns_in_leap_years() -> None:
    anchor = datetime(2028, 2, 29, 8, 0)
    assert occurrence(anchor, P.YEARLY, 1) == datetime(2029, 2, 28, 8, 0)
    assert occurrence(anchor, P.YEARLY, 4) == datetime(2032, 2, 29, 8, 0)


def test_one_time_packages_do_not_repeat() -> None:
    with pytest.raises(ValueError):
        occurrence(datetime(2026, 1, 1), P.ONE_TIME, 1)


@given(anchors, repeating, st.integers(0, 500))
def test_runs_keep_the_anchors_time_and_grow(anchor: datetime, period: P, n: int) -> None:
    run, following = occurrence(anchor, period, n), occurrence(anchor, period, n + 1)
    assert run.time() == anchor.time()
    assert following > run
    if period in (P.MONTHLY, P.YEARLY):
        # The anchor's day, or the month's last day when it has none.
        last = calendar.monthrange(run.year, run.month)[1]
        assert run.day == min(anchor.day, last)


@given(anchors, repeating, st.integers(1, 50), st.integers(0, 2000))
def test_a_missed_run_is_skipped_to_the_first_within_the_grace(
    anchor: datetime, period: P, n: int, late_hours: int
) -> None:
    now = occurrence(anchor, period, n) + timedelta(hours=late_hours)
    number, due = next_due(anchor, period, n, now)
    assert number >= n and due == occurrence(anchor, period, number)
    assert due >= now - MISSED_GRACE
    if number > n:  # the one before it was missed: too old to send
        assert occurrence(anchor, period, number - 1) < now - MISSED_GRACE
    else:
        assert late_hours <= 1


def test_a_run_due_soon_or_just_late_is_created_as_it_is() -> None:
    anchor, day = datetime(2026, 3, 2, 9, 0), P.DAILY
    assert next_due(anchor, day, 4, datetime(2026, 3, 6, 8, 55)) == (4, datetime(2026, 3, 6, 9))
    assert next_due(anchor, day, 4, datetime(2026, 3, 6, 9, 40)) == (4, datetime(2026, 3, 6, 9))
    assert next_due(anchor, day, 4, datetime(2026, 3, 9, 12, 0)) == (8, datetime(2026, 3, 10, 9))
