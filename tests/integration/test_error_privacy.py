"""Database errors never carry row values (SMS texts, OTP codes, numbers) into messages
and logs. PostgreSQL puts the failing row in an error's DETAIL; SQLite names no values."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from service.app import create_app
from service.store.bulk import insert_rows
from service.store.prepared import Prepared
from service.store.schema import items, packages
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer
from tests.integration.helpers import principal

SECRET = "Dogrulama kodunuz 481516"
AT = datetime(2026, 11, 22, 9, 30)
_INSERT_PACKAGE = Prepared(insert(packages))


def _package_without_lane(user_id: int) -> dict[str, object]:
    # lane is NOT NULL: the row is refused, and PostgreSQL would quote it whole.
    return dict(
        uuid="u-1",
        user_id=user_id,
        sms_type=1,
        sending_type=1,
        title="t",
        content=SECRET,
        sender="ACME",
        encoding=0,
        validity=1440,
        state=2,
        lane=None,
        sending_date=AT,
        is_scheduled=False,
        recipients=1,
        parts=1,
        credit=1,
        created_at=AT,
        updated_at=AT,
    )


def _assert_hidden(error: BaseException) -> None:
    text = str(error) + "".join(str(a) for a in error.args)
    orig = getattr(error, "orig", None)
    if orig is not None:
        text += str(orig)
    assert "481516" not in text and "905329998877" not in text, text
    assert "not-null" in text or "null value" in text.lower() or "NOT NULL" in text, text


def test_a_core_statement_error_names_the_column_not_the_row(platform: SqlPlatform) -> None:
    add_customer(platform)
    with pytest.raises(IntegrityError) as caught, platform.store.write() as conn:
        conn.execute(insert(packages), _package_without_lane(principal(platform).user_id))
    _assert_hidden(caught.value)


def test_a_prepared_statement_error_names_the_column_not_the_row(platform: SqlPlatform) -> None:
    add_customer(platform)
    with pytest.raises(IntegrityError) as caught, platform.store.write() as conn:
        _INSERT_PACKAGE.execute(conn, _package_without_lane(principal(platform).user_id))
    _assert_hidden(caught.value)


@pytest.mark.parametrize("rows", [1, 3, 70], ids=["execute", "executemany", "copy"])
def test_a_bulk_insert_error_names_the_column_not_the_row(platform: SqlPlatform, rows: int) -> None:
    add_customer(platform)
    with platform.store.write() as conn:
        pkg = conn.execute(
            insert(packages).returning(packages.c.id),
            {**_package_without_lane(principal(platform).user_id), "lane": 1},
        ).scalar_one()
    columns = ("package_id", "target", "msg", "parts", "encoding", "state", "lane", "due_at")
    batch = [(pkg, "905329998877", SECRET, 1, 0, 0, 1, AT)] * (rows - 1) + [
        (pkg, "905329998877", SECRET, None, 0, 0, 1, AT)
    ]  # parts is NOT NULL
    with pytest.raises(DBAPIError) as caught, platform.store.write() as conn:
        insert_rows(conn, items, columns, batch)
    assert isinstance(caught.value, IntegrityError)
    _assert_hidden(caught.value)


def test_an_unexpected_database_error_is_logged_without_the_sms(
    db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import make_platform

    platform = make_platform(db)
    add_customer(platform)
    app = create_app(platform=platform)
    monkeypatch.setattr("service.services.sms.rules.lane_of", lambda *a: None)  # a bug: no lane
    caplog.set_level(logging.ERROR)
    with app.flask.test_client() as client:
        answer = client.post(
            "/sms/create-otp",
            auth=("acme", PASSWORD),
            json={"number": "905329998877", "sender": "ACME", "content": SECRET},
        )
    platform.store.dispose()
    assert answer.status_code == 500
    assert answer.get_json()["err"]["code"] == "ERR_INTERNAL_SERVER"
    logged = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info
    )
    assert "unhandled error" in logged
    assert "481516" not in logged and "905329998877" not in logged, logged
