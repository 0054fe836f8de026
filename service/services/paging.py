"""Paging and listing shared by every list function: pageIndex/pageSize, totalRecord."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select

from service.domain.constants import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_SIZE_MIN
from service.domain.errors import invalid
from service.domain.params import Params

PAGE_INDEX_MAX = 10_000_000  # an offset beyond this is a client's bug, and overflows


@dataclass(frozen=True)
class Page:
    """One page of a listing."""

    index: int
    size: int

    @classmethod
    def of(cls, params: Params) -> Page:
        """pageIndex (from 0) and pageSize (10..1000) of a request, defaulted."""
        index = params.int("pageIndex", 0) or 0
        size = params.int("pageSize", PAGE_SIZE_DEFAULT) or PAGE_SIZE_DEFAULT
        if not 0 <= index <= PAGE_INDEX_MAX:
            raise invalid("pageIndex", f"0 ile {PAGE_INDEX_MAX} arasında olmalı")
        if not PAGE_SIZE_MIN <= size <= PAGE_SIZE_MAX:
            raise invalid("pageSize", f"{PAGE_SIZE_MIN} ile {PAGE_SIZE_MAX} arasında olmalı")
        return cls(index, size)


def listing(
    conn: Connection,
    query: Select[Any],
    order: Any,
    page: Page,
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """{stats: {totalRecord}, list: [...]} for one page of a query."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = conn.execute(query.order_by(*order).limit(page.size).offset(page.index * page.size))
    return {
        "stats": {"totalRecord": int(total.scalar_one())},
        "list": [render(r) for r in rows.mappings()],
    }
