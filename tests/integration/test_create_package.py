"""Creating packages against a real database: credit, items, rules that need storage."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.domain.constants import ItemState, PackageState
from service.domain.errors import DomainError
from service.services.clock import FixedClock
from service.store.schema import items, packages
from tests.conftest import Database, SqlPlatform, add_customer, counted, make_platform
from tests.integration.helpers import (
    SMS,
    balance,
    call,
    count,
    ledger_sum,
    package_row,
    principal,
)


def err_of(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.err.name


def test_one_to_many_package_reserves_parts_times_recipients(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100)
    me = principal(platform)
    long_text = "x" * 161  # two GSM parts
    pkg = call(
        platform,
        me,
        "sms/create",
        **{**SMS, "content": long_text, "numbers": ["905321111111", 5421111112]},
    )
    assert balance(platform) == 100 - 2 * 2
    row = package_row(platform, pkg["pkgID"])
    assert (row["recipients"], row["parts"], row["credit"]) == (2, 4, 4)
    assert row["state"] == PackageState.QUEUEING
    assert ledger_sum(platform, me.user_id) == balance(platform)


def test_many_to_many_prices_each_text_on_its_own(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100)
    call(
        platform,
        principal(platform),
        "sms/create",
        **{
            **SMS,
            "sendingType": 2,
            "content": None,
            "numbers": [
                {"nr": "905321111111", "msg": "kısa"},
                {"nr": "905321111112", "msg": "y" * 200},
            ],
        },
    )
    assert balance(platform) == 100 - (1 + 2)


def test_insufficient_credit_writes_nothing(platform: SqlPlatform) -> None:
    add_customer(platform, balance=1)
    with pytest.raises(DomainError) as excinfo:
        call(
            platform,
            principal(platform),
            "sms/create",
            **{**SMS, "numbers": ["905321111111", "905321111112"]},
        )
    assert err_of(excinfo) == "ERR_USER_CREDIT_REQUIRED"
    assert count(platform, packages) == 0 and count(platform, items) == 0
    assert balance(platform) == 1


def test_unapproved_sender_is_refused(platform: SqlPlatform) -> None:
    add_customer(platform, balance=10)
    from service.services import senders

    senders.add_sender(platform, "acme", "WAITS")
    for sender in ("WAITS", "NOSUCH", None):
        with pytest.raises(DomainError) as excinfo:
            call(
                platform,
                principal(platform),
                "sms/create",
                **{**SMS, "sender": sender, "numbers": ["905321111111"]},
            )
        assert err_of(excinfo) == "ERR_INVALID_SMS_SENDER"
    assert count(platform, packages) == 0 and balance(platform) == 10


def test_another_users_sender_cannot_be_used(platform: SqlPlatform) -> None:
    add_customer(platform, "acme", 10, "ACME")
    add_customer(platform, "other", 10, "OTHER")
    with pytest.raises(DomainError) as excinfo:
        call(
            platform,
            principal(platform),
            "sms/create",
            **{**SMS, "sender": "OTHER", "numbers": ["905321111111"]},
        )
    assert err_of(excinfo) == "ERR_INVALID_SMS_SENDER"


def test_custom_id_is_unique_per_user_not_globally(platform: SqlPlatform) -> None:
    add_customer(platform, "acme", 10)
    add_customer(platform, "other", 10, "OTHER")
    body = {**SMS, "numbers": ["905321111111"], "customID": "order-1.a"}
    call(platform, principal(platform), "sms/create", **body)
    with pytest.raises(DomainError) as excinfo:
        call(platform, principal(platform), "sms/create", **{**body, "content": "another text"})
    assert err_of(excinfo) == "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION"
    call(platform, principal(platform, "other"), "sms/create", **{**body, "sender": "OTHER"})
    assert balance(platform) == 9


def test_same_sms_to_same_numbers_within_30_minutes_is_a_duplicate(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    me = principal(platform)
    body = {**SMS, "numbers": ["905321111111", "905321111112"]}
    call(platform, me, "sms/create", **body)
    reordered = {**body, "numbers": ["905321111112", "05321111111"]}
    with pytest.raises(DomainError) as excinfo:
        call(platform, me, "sms/create", **reordered)
    assert err_of(excinfo) == "ERR_SMS_PKG_DUPLICATION"
    call(platform, me, "sms/create", **{**body, "content": "different"})
    clock.advance(minutes=30)
    call(platform, me, "sms/create", **reordered)
    assert balance(platform) == 10 - 6


def test_duplicate_check_can_be_switched_off_per_user(platform: SqlPlatform) -> None:
    add_customer(platform, balance=10, duplicate_check=False)
    me = principal(platform)
    body = {**SMS, "numbers": ["905321111111"]}
    call(platform, me, "sms/create", **body)
    call(platform, me, "sms/create", **body)
    assert balance(platform) == 8


def test_unlimited_user_sends_without_spending(platform: SqlPlatform) -> None:
    add_customer(platform, balance=0, unlimited=True)
    pkg = call(platform, principal(platform), "sms/create", **{**SMS, "numbers": ["905321111111"]})
    assert balance(platform) == 0
    assert package_row(platform, pkg["pkgID"])["credit"] == 0


def test_scheduled_package_waits_with_due_items(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))  # 12:00 in Istanbul
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    pkg = call(
        platform,
        principal(platform),
        "sms/create",
        **{**SMS, "numbers": ["905321111111"], "sendingDate": "2026-01-05 14:30"},
    )
    row = package_row(platform, pkg["pkgID"])
    assert row["state"] == PackageState.WAITING and row["is_scheduled"]
    assert row["sending_date"] == datetime(2026, 1, 5, 11, 30)  # stored in UTC


def test_sending_date_in_the_past_is_refused(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    with pytest.raises(DomainError) as excinfo:
        call(
            platform,
            principal(platform),
            "sms/create",
            **{**SMS, "numbers": ["905321111111"], "sendingDate": "2026-01-05 11:59"},
        )
    assert err_of(excinfo) == "ERR_INVALID_SMS_SENDING_DATE"
    assert count(platform, packages) == 0


def test_split_sending_spreads_due_times_by_amount_and_interval(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=5000)
    numbers = [f"90532{n:07d}" for n in range(2500)]
    pkg = call(
        platform,
        principal(platform),
        "sms/create",
        **{
            **SMS,
            "numbers": numbers,
            "periodicSettings": {"periodType": 0, "amount": 1000, "interval": 15},
        },
    )
    from sqlalchemy import func, select

    with platform.store.read() as conn:
        due = conn.execute(
            select(items.c.due_at, func.count())
            .where(items.c.package_id == pkg["pkgID"])
            .group_by(items.c.due_at)
            .order_by(items.c.due_at)
        ).all()
    start = clock.now()
    assert [(d, n) for d, n in due] == [
        (start, 1000),
        (start + timedelta(minutes=15), 1000),
        (start + timedelta(minutes=30), 500),
    ]
    # Waiting items show when they are due, not the package's start (already past).
    last = call(
        platform,
        principal(platform),
        "sms/list-item",
        pkgID=pkg["pkgID"],
        pageIndex=2,
        pageSize=1000,
    )["list"]
    assert {row["sendingDate"] for row in last} == {
        platform.local.format(start + timedelta(minutes=30))
    }


def test_items_record_operator_parts_and_effective_encoding(platform: SqlPlatform) -> None:
    add_customer(platform, balance=10)
    pkg = call(
        platform,
        principal(platform),
        "sms/create",
        **{
            **SMS,
            "encoding": 0,
            "content": "emoji 😀 forces UCS-2",
            "numbers": ["905321111111", "905421111111", "905051111111", "905101111111"],
        },
    )
    from sqlalchemy import select

    with platform.store.read() as conn:
        rows = conn.execute(
            select(items.c.target, items.c.operator, items.c.encoding, items.c.state)
            .where(items.c.package_id == pkg["pkgID"])
            .order_by(items.c.target)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("905051111111", 2, 2, ItemState.WAITING),
        ("905101111111", 3, 2, ItemState.WAITING),
        ("905321111111", 0, 2, ItemState.WAITING),
        ("905421111111", 1, 2, ItemState.WAITING),
    ]


def test_message_longer_than_the_part_limit_is_refused(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100)
    with pytest.raises(DomainError) as excinfo:
        call(
            platform,
            principal(platform),
            "sms/create",
            **{**SMS, "content": "a" * (153 * 10 + 1), "numbers": ["905321111111"]},
        )
    assert err_of(excinfo) == "ERR_INVALID_PARAM" and excinfo.value.field == "content"
    assert balance(platform) == 100


def test_otp_goes_in_the_otp_lane_with_otp_validity(platform: SqlPlatform) -> None:
    add_customer(platform, balance=10)
    pkg = call(
        platform,
        principal(platform),
        "sms/create-otp",
        number="5321111111",
        sender="ACME",
        content="Kod: 1234",
    )
    row = package_row(platform, pkg["pkgID"])
    assert (row["lane"], row["sms_type"], row["validity"]) == (0, 0, 6)


def test_large_package_is_written_whole(platform: SqlPlatform) -> None:
    add_customer(platform, balance=30_000)
    numbers = [f"90532{n:07d}" for n in range(25_000)]
    pkg = call(platform, principal(platform), "sms/create", **{**SMS, "numbers": numbers})
    assert count(platform, items, items.c.package_id == pkg["pkgID"]) == 25_000
    assert balance(platform) == 5_000


def test_banning_a_sender_stops_it_within_the_revalidation_window(db: Database) -> None:
    import time

    from service.services import senders

    platform = make_platform(db, auth_revalidate_seconds=0.2)
    admin = make_platform(db)
    add_customer(platform, balance=10)
    call(platform, principal(platform), "sms/create", **{**SMS, "numbers": ["905321111111"]})
    senders.set_sender_status(admin, "acme", "ACME", 3)
    time.sleep(0.25)
    with pytest.raises(DomainError) as excinfo:
        call(platform, principal(platform), "sms/create", **{**SMS, "numbers": ["905321111112"]})
    assert excinfo.value.err.name == "ERR_INVALID_SMS_SENDER"


def test_database_errors_do_not_carry_message_texts(platform: SqlPlatform) -> None:
    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError

    add_customer(platform, balance=10)
    pkg = call(platform, principal(platform), "sms/create", **{**SMS, "numbers": ["905321111111"]})
    with platform.store.read() as conn:
        row = dict(
            conn.execute(select(packages).where(packages.c.id == pkg["pkgID"])).mappings().one()
        )
    row.pop("id")
    row["content"] = "Kodunuz 987654"  # same uuid: a unique-key violation
    with pytest.raises(IntegrityError) as excinfo, platform.store.write() as conn:
        conn.execute(insert(packages).values(**row))
    assert "987654" not in str(excinfo.value)


def test_a_cancelled_package_does_not_count_as_a_duplicate(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    me = principal(platform)
    body = {**SMS, "numbers": ["905321111111"], "sendingDate": "2026-01-05 18:00"}
    pkg = call(platform, me, "sms/create", **body)["pkgID"]
    call(platform, me, "sms/cancel", id=pkg)
    call(platform, me, "sms/create", **body)
    assert balance(platform) == 9


def test_the_same_reminder_scheduled_for_two_dates_is_not_a_duplicate(db: Database) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    me = principal(platform)
    body = {**SMS, "numbers": ["905321111111"]}
    call(platform, me, "sms/create", **body, sendingDate="2026-03-10 10:00")
    call(platform, me, "sms/create", **body, sendingDate="2026-03-17 10:00")
    with pytest.raises(DomainError) as excinfo:
        call(platform, me, "sms/create", **body, sendingDate="2026-03-17 10:00")
    assert err_of(excinfo) == "ERR_SMS_PKG_DUPLICATION"


def test_a_large_package_without_credit_is_refused_before_any_write(
    platform: SqlPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_customer(platform, balance=5)
    writes: list[int] = []
    real = platform.store.write
    monkeypatch.setattr(platform.store, "write", counted(writes, real))
    with pytest.raises(DomainError) as excinfo:
        call(
            platform,
            principal(platform),
            "sms/create",
            **{**SMS, "numbers": [f"90532{n:07d}" for n in range(1001)]},
        )
    assert err_of(excinfo) == "ERR_USER_CREDIT_REQUIRED" and writes == []


def test_a_refused_insert_with_a_custom_id_is_not_called_a_duplicate(
    platform: SqlPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a unique violation means "that customID is taken"; a NOT NULL or a foreign key
    # refusal is our fault and must surface as one, not as the client's.
    from sqlalchemy.exc import IntegrityError

    from service.store.repositories import packages as packages_repo

    add_customer(platform)
    monkeypatch.setattr("service.services.sms.rules.lane_of", lambda *a: None)
    with pytest.raises(IntegrityError):
        call(
            platform,
            principal(platform),
            "sms/create",
            **SMS,
            numbers=["905321111101"],
            customID="order-1",
        )
    monkeypatch.undo()
    call(
        platform,
        principal(platform),
        "sms/create",
        **SMS,
        numbers=["905321111101"],
        customID="order-1",
    )
    # As when a concurrent create took the customID after our check: the index refuses it.
    monkeypatch.setattr(packages_repo._CUSTOM_ID_TAKEN, "first", lambda conn, params: None)
    with pytest.raises(DomainError) as caught:
        call(
            platform,
            principal(platform),
            "sms/create",
            **SMS,
            numbers=["905321111102"],
            customID="order-1",
        )
    assert err_of(caught) == "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION"
