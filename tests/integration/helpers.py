"""Helpers for service-level tests: call a Node API function as a user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from service.api.node.params import Params
from service.api.node.registry import BY_PATH
from service.services.platform import Principal
from service.store.schema import credit_ledger, items, package_counts, packages
from tests.conftest import SqlPlatform


def call(platform: SqlPlatform, principal: Principal, path: str, **fields: Any) -> Any:
    """Invoke the function at `path` with these fields; its data."""
    return BY_PATH[path](platform, principal, Params(fields))


def principal(platform: SqlPlatform, username: str = "acme") -> Principal:
    """The principal of a user."""
    return platform.auth.principal_of(username)


def count(platform: SqlPlatform, table: Any, *where: Any) -> int:
    """Rows of a table matching the conditions."""
    with platform.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def balance(platform: SqlPlatform, username: str = "acme") -> int:
    """A user's credit now."""
    return int(call(platform, principal(platform, username), "user/credit")["credit"])


def item_states(platform: SqlPlatform, package_id: int) -> dict[str, int]:
    """{target: state} of a package's items."""
    with platform.store.read() as conn:
        return dict(
            conn.execute(
                select(items.c.target, items.c.state).where(items.c.package_id == package_id)
            ).all()
        )


def package_row(platform: SqlPlatform, package_id: int) -> Any:
    """A package's row."""
    with platform.store.read() as conn:
        return conn.execute(select(packages).where(packages.c.id == package_id)).mappings().one()


def ledger_sum(platform: SqlPlatform, user_id: int) -> int:
    """The sum of a user's ledger entries (must equal the balance)."""
    with platform.store.read() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
                    credit_ledger.c.user_id == user_id
                )
            ).scalar_one()
        )


SMS = dict(type=1, sendingType=1, title="Kampanya", content="Merhaba", sender="ACME")


def create_package(platform: SqlPlatform, **fields: Any) -> int:
    """The id of a package acme creates over sms/create: the SMS body with `fields` changed."""
    pkg: int = call(platform, principal(platform), "sms/create", **{**SMS, **fields})["pkgID"]
    return pkg


def create_otp(platform: SqlPlatform, number: str, content: str = "Kod 1") -> int:
    """The id of the OTP package acme creates over sms/create-otp to `number`."""
    body = {"number": number, "sender": "ACME", "content": content}
    pkg: int = call(platform, principal(platform), "sms/create-otp", **body)["pkgID"]
    return pkg


def carrier_refs(platform: SqlPlatform, package_id: int) -> list[str]:
    """The carrier references of a package's items handed over, in item order."""
    with platform.store.read() as conn:
        return list(
            conn.execute(
                select(items.c.carrier_ref)
                .where(items.c.package_id == package_id, items.c.carrier_ref.is_not(None))
                .order_by(items.c.id)
            ).scalars()
        )


def counters(platform: SqlPlatform) -> dict[tuple[int, int], tuple[int, int]]:
    """The package counters: {(package id, item state): (items, parts)}, zeros left out."""
    with platform.store.read() as conn:
        rows = conn.execute(
            select(
                package_counts.c.package_id,
                package_counts.c.state,
                package_counts.c.item_count,
                package_counts.c.part_count,
            )
        )
        return {(p, s): (int(n), int(parts)) for p, s, n, parts in rows if n or parts}


def recount(platform: SqlPlatform) -> dict[tuple[int, int], tuple[int, int]]:
    """What the package counters must hold, counted from the items themselves."""
    with platform.store.read() as conn:
        rows = conn.execute(
            select(
                items.c.package_id, items.c.state, func.count(), func.sum(items.c.parts)
            ).group_by(items.c.package_id, items.c.state)
        )
        return {(p, s): (int(n), int(parts)) for p, s, n, parts in rows}
