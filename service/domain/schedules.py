"""Periodic sending: when each run of a repeating package (periodType 1-4) is due.

Pure rules on naive local wall time (the API's time zone); the service converts to and
from stored UTC. The first package of a series is run 0, due at its sendingDate; run n is
n days, weeks, months or years after it. Runs count from that anchor, never from the run
before, so a day a month lacks (the 31st, 29 February) falls on the month's last day
without dragging later runs: 31 Jan, 28 Feb, 31 Mar, 30 Apr...

The spec gives types 1-4 no end (no count, no end date): a series repeats until it is
cancelled.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from service.domain.constants import PeriodType

# A run is created (its package written, its credit reserved) this long before it is due,
# so it goes out on time although the housekeeping that creates it runs once a minute.
RUN_LEAD = timedelta(minutes=10)
# A run whose time passed more than this long ago (the workers were down) is skipped, not
# sent late: a day's reminder sent three at once after an outage helps nobody.
MISSED_GRACE = timedelta(hours=1)
REPEATING = frozenset({PeriodType.DAILY, PeriodType.WEEKLY, PeriodType.MONTHLY, PeriodType.YEARLY})


def is_repeating(period: PeriodType | None) -> bool:
    """Whether packages of this period type repeat (types 1-4)."""
    return period in REPEATING


def occurrence(anchor: datetime, period: PeriodType, n: int) -> datetime:
    """Run n (n >= 0) of a series anchored at `anchor`: n periods later, same wall time;
    a day the target month lacks becomes its last day."""
    if n < 0:
        raise ValueError("runs count from 0")
    if period == PeriodType.DAILY:
        return anchor + timedelta(days=n)
    if period == PeriodType.WEEKLY:
        return anchor + timedelta(weeks=n)
    if period == PeriodType.MONTHLY:
        return _add_months(anchor, n)
    if period == PeriodType.YEARLY:
        return _add_months(anchor, 12 * n)
    raise ValueError(f"period type {int(period)} does not repeat")


def _add_months(when: datetime, months: int) -> datetime:
    years, month0 = divmod(when.month - 1 + months, 12)
    year, month = when.year + years, month0 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def next_due(anchor: datetime, period: PeriodType, n: int, now: datetime) -> tuple[int, datetime]:
    """The run to create now: run n, or, when its time passed more than MISSED_GRACE ago,
    the first later run still within that grace. (number, local due time)."""
    oldest = now - MISSED_GRACE
    due = occurrence(anchor, period, n)
    if due >= oldest:
        return n, due
    # Jump close with arithmetic (a daily series down for a year is 365 steps), then step.
    n = max(n, _estimate(anchor, period, oldest))
    while (due := occurrence(anchor, period, n)) < oldest:
        n += 1
    return n, due


def _estimate(anchor: datetime, period: PeriodType, when: datetime) -> int:
    """A run number at or below the first run not before `when`."""
    days = (when - anchor).days
    per = {PeriodType.DAILY: 1, PeriodType.WEEKLY: 7, PeriodType.MONTHLY: 31}
    if period in per:
        return max(0, days // per[period] - 1)
    return max(0, days // 366 - 1)
