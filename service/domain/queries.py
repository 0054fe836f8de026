"""What a reading use case asks for, protocol-neutral: paging, a package reference,
filters and date windows. Adapters build these from their wire; repositories answer them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from service.domain.constants import (
    INQUIRY_DEFAULT_DAYS,
    INQUIRY_MAX_DAYS,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    PAGE_SIZE_MIN,
    ReportFilter,
)
from service.domain.errors import DomainError, Err, invalid

PAGE_INDEX_MAX = 10_000_000  # an offset beyond this is a client's bug, and overflows
LIST_FILTER_MAX = 1000  # ids / customIDs in one filter (SMS43 beyond)


@dataclass(frozen=True)
class PageRequest:
    """One page of a listing: index from 0, size within the API's bounds."""

    index: int = 0
    size: int = PAGE_SIZE_DEFAULT

    def __post_init__(self) -> None:
        if not 0 <= self.index <= PAGE_INDEX_MAX:
            raise invalid("pageIndex", f"0 ile {PAGE_INDEX_MAX} arasında olmalı")
        if not PAGE_SIZE_MIN <= self.size <= PAGE_SIZE_MAX:
            raise invalid("pageSize", f"{PAGE_SIZE_MIN} ile {PAGE_SIZE_MAX} arasında olmalı")

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return self.index * self.size


@dataclass(frozen=True)
class PackageRef:
    """Which package a request names: by id, uuid or customID."""

    kind: Literal["id", "uuid", "custom_id"]
    value: int | str


@dataclass(frozen=True)
class DateRange:
    """A window of sending dates, naive UTC; either end open."""

    start: datetime | None = None
    finish: datetime | None = None

    def __post_init__(self) -> None:
        if self.start and self.finish and self.finish < self.start:
            raise DomainError(Err.ERR_INVALID_DATE_RANGE, "Bitiş başlangıçtan önce.")

    def inquiry_window(self, now: datetime) -> DateRange:
        """The window of a number inquiry: only a start, from then until now; only a
        finish, the month before it; nothing, the last month; at most three months."""
        finish = self.finish or now
        start = self.start or finish - timedelta(days=INQUIRY_DEFAULT_DAYS)
        window = DateRange(start, finish)
        if finish - start > timedelta(days=INQUIRY_MAX_DAYS):
            raise DomainError(Err.ERR_INVALID_DATE_RANGE, "En fazla 3 aylık aralık sorgulanabilir.")
        return window


@dataclass(frozen=True)
class PackageFilter:
    """Which packages a listing shows."""

    ids: tuple[int, ...] = ()
    custom_ids: tuple[str, ...] = ()
    keyword: str | None = None  # in the content, case-insensitive
    sender: str | None = None
    status: ReportFilter = ReportFilter.ALL
    dates: DateRange = field(default_factory=DateRange)

    def __post_init__(self) -> None:
        for name, values in (("ids", self.ids), ("customIDs", self.custom_ids)):
            if len(values) > LIST_FILTER_MAX:
                raise DomainError(
                    Err.ERR_REQUEST_PARAM_LIMIT, f"{name}: en fazla {LIST_FILTER_MAX}", field=name
                )


@dataclass(frozen=True)
class ItemFilter:
    """Which items of a package a listing shows."""

    target: str | None = None  # part of the number
    operator: int | None = None
    state: int | None = None


@dataclass(frozen=True)
class SenderFilter:
    """Which senders a listing shows."""

    keyword: str | None = None
    status: int | None = None
