"""The Node API's views: the services' records as the `data` of its envelopes.

Every key real clients read is written, with null where there is no value
(shared/spec/clients.md: a missing key is a silent bug in PHP clients). Dates are the
platform's local time, "yyyy-MM-ddTHH:mm:ss".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from service.domain.carrier import Gateway
from service.domain.mo import MoMessage
from service.domain.records import Delivery, Item, Package, Page, Sender, Summary
from service.services.clock import LocalTime
from service.services.reports import PackageReport

T = TypeVar("T")


def listing(page: Page[T], render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """{stats: {totalRecord}, list: [...]} of one page."""
    return {"stats": {"totalRecord": page.total}, "list": [render(row) for row in page.rows]}


def package(local: LocalTime, report: PackageReport) -> dict[str, Any]:
    """A package as /sms/list shows it."""
    pkg, stats, fmt = report.package, report.stats, local.format
    return {
        "id": pkg.id,
        "customID": pkg.custom_id,
        "type": pkg.sms_type,
        "sendingType": pkg.sending_type,
        "uuid": pkg.uuid,
        "error": pkg.error,
        "state": pkg.state,
        "title": pkg.title,
        "content": pkg.content,
        "senders": [pkg.sender],
        "encoding": pkg.encoding,
        "validity": pkg.validity,
        "statistics": {
            "total": pkg.parts,
            "credit": pkg.credit,
            "rCount": pkg.recipients,
            "delivered": stats.delivered,
            "undelivered": stats.undelivered,
            "invalid": pkg.invalid_count,
        },
        "isScheduled": 1 if pkg.is_scheduled else 0,
        "sendingDate": fmt(pkg.sending_date),
        "processingDate": fmt(pkg.updated_at, micro=True),
        "periodicSettings": pkg.periodic.as_dict() if pkg.periodic else None,
        # Periodic series (ours, not the vendor's): when the next run is due (null once
        # cancelled), and on a run, the series' first package and the run's number.
        "nextRunDate": fmt(pkg.next_run_at),
        "runOf": pkg.run_of,
        "runNo": pkg.run_no,
        "pushSettings": {"url": pkg.push_url} if pkg.push_url else None,
        "commercial": pkg.commercial,
        "processInfo": {
            "create": {"date": fmt(pkg.created_at)},
            "update": {"date": fmt(pkg.updated_at)},
        },
    }


def item(local: LocalTime, pkg: Package, row: Item) -> dict[str, Any]:
    """A recipient as /sms/list-item shows it (id a string of digits)."""
    fmt = local.format
    return {
        "id": str(row.id),
        "msg": row.msg,
        "xid": row.xid,
        "error": row.error,
        "credit": row.credit,
        "state": row.state,
        "sender": pkg.sender,
        "target": row.target,
        "operator": row.operator,
        "setState": pkg.state,
        # Until it is sent, the time it is due (a split package's later chunks wait).
        "sendingDate": fmt(row.sending_date or row.due_at),
        "deliveryDate": fmt(row.delivery_date),
        "processingDate": fmt(row.processing_date, micro=True),
    }


def delivery(local: LocalTime, row: Delivery) -> dict[str, Any]:
    """A message to a number as /sms/inquiry-number shows it."""
    fmt = local.format
    return {
        "userUUID": row.user_uuid,
        "username": row.username,
        "sender": row.sender,
        "encoding": row.encoding,
        "validity": row.validity,
        "sendingDate": fmt(row.item.sending_date or row.package_sending_date),
        "pkgID": row.package_id,
        "pkgType": row.sms_type,
        "state": row.item.state,
        "msg": row.item.msg or row.content,
        "operator": row.item.operator,
        "deliveryDate": fmt(row.item.delivery_date),
    }


def summary(totals: Summary) -> dict[str, Any]:
    """/sms/summary's totals."""
    return {
        "total": totals.total,
        "delivered": totals.delivered,
        "undelivered": totals.undelivered,
        "pending": totals.pending,
        "rCount": totals.recipients,
        "credit": totals.credit,
    }


def sender(row: Sender) -> dict[str, Any]:
    """A sender as /sms/list-sender shows it."""
    return {"uuid": row.uuid, "status": row.status, "title": row.title}


def gateway(row: Gateway) -> dict[str, Any]:
    """A sending gateway as /sms/list-gateway shows it (its link name stays internal)."""
    return {"uuid": row.uuid, "senders": list(row.senders)}


def mo_request(local: LocalTime, row: MoMessage) -> dict[str, Any]:
    """An MO message as /mo/list-request shows it: gsm and shortNr as numbers when they
    are digits (the vendor's example), else as text (a sender title written to)."""
    fmt = local.format
    return {
        "uuid": row.uuid,
        "gsm": _number_or_text(row.source),
        "msg": row.text,
        "state": row.state,
        "keyword": row.keyword,
        "shortNr": _number_or_text(row.destination),
        "exitType": row.exit_type,
        "date": fmt(row.received_at),
        "userInfo": {"uuid": row.user_uuid, "username": row.username},
        "processInfo": {
            "create": {"date": fmt(row.received_at)},
            "update": {"date": fmt(row.created_at)},
        },
    }


def _number_or_text(value: str) -> int | str:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else value
