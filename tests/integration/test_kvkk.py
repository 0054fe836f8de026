"""KVKK consent links on SQLite and PostgreSQL: the link is written with its package
(and not without it), priced as sent, answered once even when two answers race, and the
consent stamped by the default sink."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.domain.errors import DomainError, Err
from service.domain.kvkk import LinkState, NewLink
from service.services import kvkk
from service.services.clock import FixedClock
from service.store.schema import items, kvkk_links, packages
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import balance, call, count, principal

T0 = datetime(2026, 5, 4, 9, 0)
NUMBER = "905321234567"
BODY: dict[str, Any] = {
    "number": {"nr": NUMBER, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}},
    "sender": "ACME",
    "content": "Merhaba FIRST_NAME LAST_NAME, KVKK izin linki SHORT_LINK.",
}


@pytest.fixture
def acme(db: Database) -> SqlPlatform:
    platform = make_platform(db, FixedClock(T0), public_url="https://sms.example.com.tr")
    add_customer(platform, "acme", 10)
    return platform


def link_row(platform: SqlPlatform) -> Any:
    with platform.store.read() as conn:
        return conn.execute(select(kvkk_links)).mappings().one()


def test_create_kvkk_writes_package_item_and_link(acme: SqlPlatform) -> None:
    pkg_id = call(acme, principal(acme), "sms/create-kvkk", **BODY)["pkgID"]
    row = link_row(acme)
    assert (row["package_id"], row["number"], row["first_name"], row["last_name"]) == (
        pkg_id,
        NUMBER,
        "Ayşe",
        "Kaya",
    )
    assert row["expires_at"] == T0 + timedelta(days=30) and row["answered_at"] is None
    with acme.store.read() as conn:
        msg, parts = conn.execute(select(items.c.msg, items.c.parts)).one()
        content = conn.execute(select(packages.c.content)).scalar_one()
    assert msg == f"Merhaba Ayşe Kaya, KVKK izin linki https://sms.example.com.tr/k/{row['token']}."
    assert parts == 1 and content == BODY["content"]
    assert balance(acme) == 9


def test_refused_package_writes_no_link(acme: SqlPlatform) -> None:
    with pytest.raises(DomainError) as excinfo:
        call(acme, principal(acme), "sms/create-kvkk", **{**BODY, "sender": "OTHER"})
    assert excinfo.value.err is Err.ERR_INVALID_SMS_SENDER
    assert count(acme, kvkk_links) == 0 and count(acme, packages) == 0


def test_without_credit_nothing_is_written(db: Database) -> None:
    platform = make_platform(db, FixedClock(T0), public_url="https://sms.example.com.tr")
    add_customer(platform, "acme", 0)
    with pytest.raises(DomainError) as excinfo:
        call(platform, principal(platform), "sms/create-kvkk", **BODY)
    assert excinfo.value.err is Err.ERR_USER_CREDIT_REQUIRED
    assert count(platform, kvkk_links) == 0 and count(platform, packages) == 0


def test_a_taken_token_is_not_written_twice(acme: SqlPlatform) -> None:
    call(acme, principal(acme), "sms/create-kvkk", **BODY)
    token = link_row(acme)["token"]
    user_id = principal(acme).user_id
    pkg_id = link_row(acme)["package_id"]
    with acme.uow.write() as tx:
        assert tx.kvkk.add(NewLink(token, user_id, pkg_id, NUMBER, "A", "B", "X", T0, T0)) is False
    assert count(acme, kvkk_links) == 1


def test_answer_is_recorded_once_with_its_source(acme: SqlPlatform) -> None:
    call(acme, principal(acme), "sms/create-kvkk", **BODY)
    token = link_row(acme)["token"]
    assert isinstance(acme.clock, FixedClock)
    acme.clock.advance(hours=2)
    first = kvkk.answer(acme, token, True, "203.0.113.9", "Mozilla/5.0")
    acme.clock.advance(hours=1)
    second = kvkk.answer(acme, token, False, "198.51.100.1", "curl")
    assert first.state is second.state is LinkState.ANSWERED
    row = link_row(acme)
    assert (row["answer"], row["consent_source"], row["client_address"], row["user_agent"]) == (
        "approved",
        "HS_WEB",
        "203.0.113.9",
        "Mozilla/5.0",
    )
    assert row["answered_at"] == T0 + timedelta(hours=2)


def test_racing_answers_record_one(acme: SqlPlatform) -> None:
    call(acme, principal(acme), "sms/create-kvkk", **BODY)
    token = link_row(acme)["token"]
    barrier = threading.Barrier(4)
    seen: list[str | None] = []

    def answer(approved: bool) -> None:
        barrier.wait()
        seen.append(kvkk.answer(acme, token, approved, None, None).link.answer)

    threads = [threading.Thread(target=answer, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    row = link_row(acme)
    assert len(seen) == 4 and set(seen) == {row["answer"]}
    assert row["consent_source"] == "HS_WEB"


def test_expired_link_takes_no_answer(acme: SqlPlatform) -> None:
    call(acme, principal(acme), "sms/create-kvkk", **BODY)
    token = link_row(acme)["token"]
    assert isinstance(acme.clock, FixedClock)
    acme.clock.advance(days=30)
    assert kvkk.answer(acme, token, True, None, None).state is LinkState.EXPIRED
    assert link_row(acme)["answered_at"] is None
