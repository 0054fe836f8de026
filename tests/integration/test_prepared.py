"""Prepared statements store what the Core path stores and fail the way it fails."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from service.store.bulk import insert_rows
from service.store.prepared import Prepared
from service.store.schema import credit_ledger, users
from tests.conftest import SqlPlatform, add_customer
from tests.integration.helpers import principal

_LEDGER = Prepared(insert(credit_ledger).returning(credit_ledger.c.id))
_ADD_USER = Prepared(insert(users))
_USER_BY_NAME = Prepared(
    select(users.c.id, users.c.username).where(users.c.username == bindparam("name"))
)


def _ledger_row(user_id: int, at: datetime) -> dict[str, object]:
    return {
        "user_id": user_id,
        "amount": -3,
        "balance_after": 7,
        "reason": "package",
        "created_at": at,
    }


def test_prepared_insert_is_read_back_by_core_with_the_same_values(platform: SqlPlatform) -> None:
    add_customer(platform)
    user_id = principal(platform).user_id
    at = datetime(2026, 11, 22, 9, 30)  # no microseconds: SQLite's text form must still match
    with platform.store.write() as conn:
        new_id = _LEDGER.scalar(conn, _ledger_row(user_id, at))
    with platform.store.read() as conn:
        row = conn.execute(select(credit_ledger).where(credit_ledger.c.id == new_id)).one()
        later = conn.execute(
            select(credit_ledger.c.id).where(
                credit_ledger.c.created_at >= at, credit_ledger.c.id == new_id
            )
        ).scalar()
    assert (row.amount, row.balance_after, row.reason, row.created_at) == (-3, 7, "package", at)
    assert later == new_id  # comparisons against the stored value work as on the Core path


def _stored_text(conn: Connection, ledger_id: int) -> str | None:
    text: str | None = conn.exec_driver_sql(
        f"SELECT CAST(created_at AS TEXT) FROM credit_ledger WHERE id = {int(ledger_id)}"
    ).scalar()
    return text


def test_prepared_and_bulk_inserts_store_datetimes_exactly_as_core_does(
    platform: SqlPlatform,
) -> None:
    add_customer(platform)
    user_id = principal(platform).user_id
    at = datetime(2026, 11, 22, 9, 30)
    with platform.store.write() as conn:
        core_id = conn.execute(
            insert(credit_ledger).returning(credit_ledger.c.id), _ledger_row(user_id, at)
        ).scalar_one()
        prepared_id = _LEDGER.scalar(conn, _ledger_row(user_id, at))
        insert_rows(
            conn,
            credit_ledger,
            ("user_id", "amount", "reason", "created_at"),
            [(user_id, 1, "bulk", at)],
        )
        bulk_id = conn.execute(
            select(credit_ledger.c.id).where(credit_ledger.c.reason == "bulk")
        ).scalar_one()
        texts = {_stored_text(conn, i) for i in (core_id, prepared_id, bulk_id)}
    assert len(texts) == 1, texts


@pytest.mark.parametrize("count", [1, 100])  # PostgreSQL: executemany, then COPY
def test_bulk_rows_read_back_as_written_whichever_way_they_went_in(
    platform: SqlPlatform, count: int
) -> None:
    add_customer(platform)
    user_id = principal(platform).user_id
    at = datetime(2026, 11, 22, 9, 30, 0, 250)
    rows = [(user_id, n, "bulk", f"not {n}", at) for n in range(count)]
    with platform.store.write() as conn:
        insert_rows(
            conn, credit_ledger, ("user_id", "amount", "reason", "note", "created_at"), rows
        )
    with platform.store.read() as conn:
        stored = conn.execute(
            select(
                credit_ledger.c.user_id,
                credit_ledger.c.amount,
                credit_ledger.c.reason,
                credit_ledger.c.note,
                credit_ledger.c.created_at,
            )
            .where(credit_ledger.c.reason == "bulk")
            .order_by(credit_ledger.c.amount)
        ).all()
    assert [tuple(r) for r in stored] == rows


def test_prepared_first_and_scalar_answer_none_when_nothing_matches(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    with platform.store.read() as conn:
        row = _USER_BY_NAME.first(conn, {"name": "acme"})
        assert row is not None and row[1] == "acme"
        assert _USER_BY_NAME.first(conn, {"name": "nobody"}) is None
        assert _USER_BY_NAME.scalar(conn, {"name": "nobody"}) is None


def test_prepared_constraint_violation_is_sqlalchemys_error_without_the_values(
    platform: SqlPlatform,
) -> None:
    add_customer(platform, "acme")
    secret = "pw-hash-482913"
    with pytest.raises(IntegrityError) as excinfo, platform.store.write() as conn:
        _ADD_USER.execute(
            conn,
            {
                "uuid": "u-1",
                "username": "acme",
                "password_hash": secret,
                "user_type": 3,
                "created_at": datetime(2026, 1, 1),
            },
        )
    assert secret not in str(excinfo.value)
    with platform.store.read() as conn:
        assert conn.execute(select(users.c.id).where(users.c.uuid == "u-1")).first() is None


def test_prepared_insert_takes_the_columns_each_call_gives_and_defaults_the_rest(
    platform: SqlPlatform,
) -> None:
    at = datetime(2026, 1, 1)
    user = {"username": "plain", "password_hash": "h", "user_type": 3, "created_at": at}
    with platform.store.write() as conn:
        _ADD_USER.execute(conn, {**user, "uuid": "u-plain"})
        _ADD_USER.execute(conn, {**user, "uuid": "u-rich", "username": "rich", "credit": 7})
    with platform.store.read() as conn:
        credits = dict(
            conn.execute(
                select(users.c.username, users.c.credit).where(
                    users.c.uuid.in_(["u-plain", "u-rich"])
                )
            ).all()
        )
    assert credits == {"plain": 0, "rich": 7}
