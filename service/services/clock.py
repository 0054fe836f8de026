"""Time for the services: naive UTC now, and the API's local time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Wall-clock time in naive UTC (what the database stores)."""

    def now(self) -> datetime:
        """The current time, naive UTC."""
        return datetime.now(UTC).replace(tzinfo=None)


class FixedClock(Clock):
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        """The time the test set."""
        return self.current

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.current += timedelta(**delta)


class LocalTime:
    """Converts between the API's local wall time and stored naive UTC."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)

    def to_utc(self, local: datetime) -> datetime:
        """A naive local time (or an aware one) as naive UTC."""
        aware = local if local.tzinfo else local.replace(tzinfo=self.zone)
        return aware.astimezone(UTC).replace(tzinfo=None)

    def to_local(self, utc: datetime) -> datetime:
        """A naive UTC time as naive local time."""
        return utc.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)

    def format(self, utc: datetime | None, *, micro: bool = False) -> str | None:
        """The API's output form "yyyy-MM-ddTHH:mm:ss" (with microseconds if asked)."""
        if utc is None:
            return None
        local = self.to_local(utc)
        return local.isoformat(timespec="microseconds" if micro else "seconds")
