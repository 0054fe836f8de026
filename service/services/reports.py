"""Reading packages back: /sms/list, /sms/list-item, /sms/summary, /sms/inquiry-number.

Counts of delivered, undelivered and pending are in message parts, like `total`, so that
total = delivered + undelivered + pending + (parts not yet handed to an operator).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select

from service.domain.constants import (
    INQUIRY_DEFAULT_DAYS,
    INQUIRY_MAX_DAYS,
    ItemState,
    Operator,
    PackageState,
    ReportFilter,
)
from service.domain.errors import DomainError, Err, invalid
from service.domain.packages import REPORT_FILTER_STATES
from service.domain.params import Params, check_text, to_int
from service.domain.phone import normalize
from service.services.auth import Principal
from service.services.lookup import find_package, package_ref
from service.services.paging import Page, listing
from service.services.platform import Platform
from service.store.schema import items, packages, users

LIST_FILTER_MAX = 1000  # ids / customIDs per /sms/list request (SMS43 beyond)
UNDELIVERED_STATES = (int(ItemState.UNDELIVERED), int(ItemState.TIMED_OUT), int(ItemState.REJECTED))


def list_packages(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list: the caller's packages, newest first, with delivery statistics."""
    page = Page.of(params)
    query = select(packages).where(packages.c.user_id == principal.user_id)
    query = _filter_packages(platform, query, params)
    with platform.store.read() as conn:
        result = listing(conn, query, [packages.c.id.desc()], page, dict)
        stats = _statistics(conn, [row["id"] for row in result["list"]])
        result["list"] = [
            package_view(platform, row, stats.get(row["id"])) for row in result["list"]
        ]
    return result


def _filter_packages(platform: Platform, query: Any, params: Params) -> Any:
    ids = [_int(v, "ids") for v in _limited(params, "ids")]
    if ids:
        query = query.where(packages.c.id.in_(ids))
    custom_ids = [check_text(str(v), "customIDs") for v in _limited(params, "customIDs")]
    if custom_ids:
        query = query.where(packages.c.custom_id.in_(custom_ids))
    keyword = params.search("keyword")
    if keyword:
        # Case-insensitive on both databases (SQLite's LIKE is, PostgreSQL's is not).
        query = query.where(packages.c.content.icontains(keyword, autoescape=True))
    sender = params.str("sender")
    if sender:
        query = query.where(packages.c.sender == sender)
    query = _status_filter(query, params.int("status"))
    start, finish = _range(platform, params, required=False)
    if start:
        query = query.where(packages.c.sending_date >= start)
    if finish:
        query = query.where(packages.c.sending_date <= finish)
    return query


def _status_filter(query: Any, status: int | None) -> Any:
    if status is None or status == ReportFilter.ALL:
        return query
    try:
        wanted = ReportFilter(status)
    except ValueError:
        raise invalid("status", "0-7 arasında olmalı") from None
    if wanted == ReportFilter.PERIODIC:
        return query.where(packages.c.periodic.is_not(None))
    return query.where(packages.c.state.in_([int(s) for s in REPORT_FILTER_STATES[wanted]]))


def _statistics(conn: Connection, package_ids: list[int]) -> dict[int, dict[str, int]]:
    if not package_ids:
        return {}
    rows = conn.execute(
        select(
            items.c.package_id,
            func.sum(case((items.c.state == int(ItemState.DELIVERED), items.c.parts), else_=0)),
            func.sum(case((items.c.state.in_(UNDELIVERED_STATES), items.c.parts), else_=0)),
        )
        .where(items.c.package_id.in_(package_ids))
        .group_by(items.c.package_id)
    )
    return {pid: {"delivered": int(d or 0), "undelivered": int(u or 0)} for pid, d, u in rows}


def package_view(platform: Platform, row: Any, stats: dict[str, int] | None) -> dict[str, Any]:
    """A package as /sms/list shows it: every key clients read, null where empty."""
    fmt = platform.local.format
    stats = stats or {"delivered": 0, "undelivered": 0}
    return {
        "id": int(row["id"]),
        "customID": row["custom_id"],
        "type": row["sms_type"],
        "sendingType": row["sending_type"],
        "uuid": row["uuid"],
        "error": row["error"],
        "state": row["state"],
        "title": row["title"],
        "content": row["content"],
        "senders": [row["sender"]],
        "encoding": row["encoding"],
        "validity": row["validity"],
        "statistics": {
            "total": int(row["parts"]),
            "credit": int(row["credit"]),
            "rCount": int(row["recipients"]),
            "delivered": stats["delivered"],
            "undelivered": stats["undelivered"],
            "invalid": int(row["invalid_count"]),
        },
        "isScheduled": 1 if row["is_scheduled"] else 0,
        "sendingDate": fmt(row["sending_date"]),
        "processingDate": fmt(row["updated_at"], micro=True),
        "periodicSettings": _periodic(row["periodic"]),
        "pushSettings": {"url": row["push_url"]} if row["push_url"] else None,
        "commercial": row["commercial"],
        "processInfo": {
            "create": {"date": fmt(row["created_at"])},
            "update": {"date": fmt(row["updated_at"])},
        },
    }


def _periodic(raw: str | None) -> dict[str, Any] | None:
    return json.loads(raw) if raw else None


def list_items(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list-item: the recipients of one of the caller's packages."""
    ref = package_ref(params, id_key="pkgID")
    page = Page.of(params)
    with platform.store.read() as conn:
        pkg = find_package(conn, principal.user_id, ref)
        query = _filter_items(select(items).where(items.c.package_id == pkg["id"]), params)
        return listing(conn, query, [items.c.id], page, lambda row: item_view(platform, pkg, row))


def _filter_items(query: Any, params: Params) -> Any:
    target = params.search("target")
    if target:
        query = query.where(items.c.target.contains(target, autoescape=True))
    operator = _member(Operator, params.int("operator"), "operator")
    if operator is not None:
        query = query.where(items.c.operator == operator)
    state = _member(ItemState, params.int("state"), "state")
    if state is not None:
        query = query.where(items.c.state == state)
    return query


def _member(kind: Any, value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if value not in {int(m) for m in kind}:
        raise invalid(field, "geçersiz değer")
    return value


def _limited(params: Params, field: str) -> list[Any]:
    values = params.list(field) or []
    if len(values) > LIST_FILTER_MAX:
        raise DomainError(
            Err.ERR_REQUEST_PARAM_LIMIT, f"{field}: en fazla {LIST_FILTER_MAX}", field=field
        )
    return values


def item_view(platform: Platform, pkg: Any, row: Any) -> dict[str, Any]:
    """A recipient as /sms/list-item shows it (id a string of digits)."""
    fmt = platform.local.format
    return {
        "id": str(row["id"]),
        "msg": row["msg"],
        "xid": row["xid"],
        "error": row["error"],
        "credit": int(row["credit"]),
        "state": row["state"],
        "sender": pkg["sender"],
        "target": row["target"],
        "operator": row["operator"],
        "setState": pkg["state"],
        # Until it is sent, the time it is due (a split package's later chunks wait).
        "sendingDate": fmt(row["sending_date"] or row["due_at"]),
        "deliveryDate": fmt(row["delivery_date"]),
        "processingDate": fmt(row["processing_date"], micro=True),
    }


def summary(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/summary: totals over the caller's packages in a date range (default: all)."""
    start, finish = _range(platform, params, required=False)
    # Statistics of what was sent: a cancelled package never was.
    window = [
        packages.c.user_id == principal.user_id,
        packages.c.state != int(PackageState.CANCELLED),
    ]
    if start:
        window.append(packages.c.sending_date >= start)
    if finish:
        window.append(packages.c.sending_date <= finish)

    def parts_in(*states: int) -> Any:
        return func.coalesce(func.sum(case((items.c.state.in_(states), items.c.parts), else_=0)), 0)

    with platform.store.read() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(items.c.parts), 0),
                parts_in(ItemState.DELIVERED),
                parts_in(*UNDELIVERED_STATES),
                parts_in(ItemState.SENT),
                func.count(items.c.id),
            )
            .select_from(packages.join(items, items.c.package_id == packages.c.id))
            .where(*window)
        ).one()
        reserved = conn.execute(
            select(func.coalesce(func.sum(packages.c.credit), 0)).where(*window)
        ).scalar_one()
    total, delivered, undelivered, pending, recipients = (int(v) for v in row)
    return {
        "total": total,
        "delivered": delivered,
        "undelivered": undelivered,
        "pending": pending,
        "rCount": recipients,
        "credit": int(reserved),
    }


def inquiry_number(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/inquiry-number: what was sent to one number (last month, at most 3 months)."""
    gsm = normalize(params.raw("gsm"))
    if gsm is None:
        raise invalid("gsm", "ülke kodu dahil geçerli bir GSM numarası olmalı")
    start, finish = _range(platform, params, required=True)
    page = Page.of(params)
    query = (
        select(
            items,
            packages.c.id.label("pkg_id"),
            packages.c.sender,
            packages.c.encoding,
            packages.c.validity,
            packages.c.sms_type,
            packages.c.content,
            packages.c.sending_date.label("pkg_date"),
            users.c.uuid.label("user_uuid"),
            users.c.username,
        )
        .select_from(
            items.join(packages, packages.c.id == items.c.package_id).join(
                users, users.c.id == packages.c.user_id
            )
        )
        .where(
            items.c.target == gsm,
            packages.c.user_id == principal.user_id,
            packages.c.sending_date >= start,
            packages.c.sending_date <= finish,
        )
    )
    sender = params.str("sender")
    if sender:
        query = query.where(packages.c.sender == sender)
    with platform.store.read() as conn:
        return listing(
            conn, query, [items.c.id.desc()], page, lambda row: _inquiry_view(platform, row)
        )


def _inquiry_view(platform: Platform, row: Any) -> dict[str, Any]:
    fmt = platform.local.format
    return {
        "userUUID": row["user_uuid"],
        "username": row["username"],
        "sender": row["sender"],
        "encoding": row["encoding"],
        "validity": row["validity"],
        "sendingDate": fmt(row["sending_date"] or row["pkg_date"]),
        "pkgID": int(row["pkg_id"]),
        "pkgType": row["sms_type"],
        "state": row["state"],
        "msg": row["msg"] or row["content"],
        "operator": row["operator"],
        "deliveryDate": fmt(row["delivery_date"]),
    }


def _range(
    platform: Platform, params: Params, required: bool
) -> tuple[datetime | None, datetime | None]:
    """startDate/finishDate as UTC; with `required`, the inquiry window rules apply."""
    start_local, finish_local = params.date("startDate"), params.date("finishDate")
    start = platform.local.to_utc(start_local) if start_local else None
    finish = platform.local.to_utc(finish_local) if finish_local else None
    if required:
        # Only a start: from then until now. Only a finish: the month before it.
        finish = finish or platform.clock.now()
        start = start or finish - timedelta(days=INQUIRY_DEFAULT_DAYS)
    if start and finish and finish < start:
        raise DomainError(Err.ERR_INVALID_DATE_RANGE, "Bitiş başlangıçtan önce.")
    if required and start and finish and finish - start > timedelta(days=INQUIRY_MAX_DAYS):
        raise DomainError(Err.ERR_INVALID_DATE_RANGE, "En fazla 3 aylık aralık sorgulanabilir.")
    return start, finish


def _int(value: Any, field: str) -> int:
    result = to_int(value, field)
    assert result is not None
    return result
