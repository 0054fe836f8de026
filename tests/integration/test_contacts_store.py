"""The contact book's SQL repositories on SQLite and PostgreSQL: the blacklist read
set-based at package creation, list filters and paging, restore, groups, locks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from service.delivery.iys.simulator import SimulatedIys
from service.domain.constants import ExitType, IysSource
from service.domain.contacts import ContactFilter, ContactInput, ContactStatus, GroupInput
from service.domain.errors import DomainError
from service.domain.iys import ConsentStatus
from service.domain.queries import ItemFilter, PackageRef, PageRequest
from service.services import allowlist, contacts, credit, iys, reports, sms
from service.store.schema import blacklist
from service.store.schema import contacts as contacts_table
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, make_platform
from tests.factories import send_request

PAGE = PageRequest(0, 1000)
NOW = datetime(2026, 3, 2, 12, 0)


def test_blacklisted_numbers_leave_a_large_commercial_package(platform: SqlPlatform) -> None:
    add_customer(platform, "acme", 10_000)
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    numbers = [f"90532{i:07d}" for i in range(600)]
    blocked = numbers[::3]
    # A commercial package goes to consented numbers only (İYS): every one consented here.
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    with platform.uow.write() as tx:
        for number in numbers:
            iys.record_consent(
                tx, iys.consent(who.user_id, number, ConsentStatus.ONAY, IysSource.HS_WEB, NOW), NOW
            )
    while iys.sync_consents(platform, SimulatedIys(), "w1").claimed:
        pass
    contacts.set_blacklist(platform, who, True, [], blocked)
    pkg = sms.create_package(platform, who, send_request(numbers, commercial=True))
    _, items = reports.list_items(platform, who, PackageRef("id", pkg), ItemFilter(), PAGE)
    assert items.total == 400
    assert not set(blocked) & {i.target for i in items.rows}
    assert credit.balance(platform, who) == 10_000 - 400
    plain = sms.create_package(platform, who, send_request(numbers[:10]))
    assert (
        reports.list_items(platform, who, PackageRef("id", plain), ItemFilter(), PAGE)[1].total
        == 10
    )


def test_blacklist_read_is_one_statement(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    with platform.uow.write() as tx:
        contacts.blacklist_numbers(
            tx, who.user_id, ["905320000001"], ExitType.MO, datetime(2026, 1, 1)
        )
    with platform.uow.read() as tx:
        found = tx.blacklist.blocked(who.user_id, [f"90532{i:07d}" for i in range(50_000)])
    assert found == {"905320000001"}


def test_list_filters_paging_and_groups(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    group = contacts.create_group(platform, who, GroupInput("G"))
    for i in range(25):
        groups = (group.uuid,) if i % 5 == 0 else None
        contacts.create_contact(platform, who, ContactInput(f"9053211{i:05d}", group_uuids=groups))
    contacts.set_blacklist(platform, who, True, [], ["905321100001", "905329999999"])
    every = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(1, 10))
    assert every.total == 26 and every.rows[0].gsm == "905321100010"
    black = contacts.list_contacts(platform, who, ContactFilter(ContactStatus.BLACK), None, PAGE)
    assert [c.gsm for c in black.rows] == ["905321100001", "905329999999"]
    exits = ContactFilter(exit_type=int(ExitType.WEB))
    assert contacts.list_contacts(platform, who, exits, None, PAGE).total == 2
    grouped = contacts.list_contacts(platform, who, ContactFilter(), group.uuid, PAGE)
    assert grouped.total == 5 and all(c.groups[0].uuid == group.uuid for c in grouped.rows)
    (listed,) = contacts.list_groups(platform, who, "g", None, PAGE).rows
    assert listed.contact_count == 5


def test_archive_restore_and_permanent_delete(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    allowlist.allow_ip(platform, "acme", "127.0.0.1")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    made = contacts.create_contact(platform, who, ContactInput("905321111111", "A"))
    contacts.delete_contacts(platform, who, [made.uuid], permanent=False, group_uuid=None)
    assert contacts.list_contacts(platform, who, ContactFilter(), None, PAGE).total == 0
    back = contacts.create_contact(platform, who, ContactInput("905321111111", "B"))
    assert back.uuid == made.uuid and back.first_name == "B"
    contacts.delete_contacts(platform, who, [made.uuid], permanent=True, group_uuid=None)
    with platform.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(contacts_table)).scalar_one() == 0


def test_deleting_a_contact_keeps_its_number_blacklisted(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    allowlist.allow_ip(platform, "acme", "127.0.0.0/8")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    made = contacts.create_contact(platform, who, ContactInput("905321111111", blacklisted=True))
    contacts.delete_contacts(platform, who, [made.uuid], permanent=True, group_uuid=None)
    with platform.store.read() as conn:
        assert conn.execute(select(blacklist.c.gsm)).scalars().all() == ["905321111111"]


def test_lock_is_taken_over_after_its_lease(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    now = datetime(2026, 1, 1)
    with platform.uow.write() as tx:
        assert tx.locks.acquire(who.user_id, "x", "a", now, now + timedelta(minutes=1))
        assert not tx.locks.acquire(who.user_id, "x", "b", now, now + timedelta(minutes=1))
        later = now + timedelta(minutes=2)
        assert tx.locks.acquire(who.user_id, "x", "b", later, later + timedelta(minutes=1))
        tx.locks.release(who.user_id, "x", "a")  # not its holder any more: nothing happens
        assert not tx.locks.acquire(who.user_id, "x", "c", later, later)


def test_duplicate_titles_and_numbers_are_refused_by_the_database(platform: SqlPlatform) -> None:
    add_customer(platform, "acme")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    contacts.create_group(platform, who, GroupInput("G"))
    contacts.create_contact(platform, who, ContactInput("905321111111"))
    with pytest.raises(DomainError) as caught:
        contacts.create_group(platform, who, GroupInput("G"))
    assert caught.value.err.name == "ERR_CONTACT_GROUP_ALREADY_EXISTS"
    with platform.uow.write() as tx:
        fields = contacts._bare("905321111111")
        assert tx.contacts.add("u-2", who.user_id, fields, 1, None, datetime(2026, 1, 1)) is None


def test_group_listing_pages_members_in_id_order_with_the_other_filters(
    platform: SqlPlatform,
) -> None:
    add_customer(platform, "acme")
    allowlist.allow_ip(platform, "acme", "127.0.0.1")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    made = [
        contacts.create_contact(platform, who, ContactInput(f"9053211{i:05d}")) for i in range(50)
    ]
    members = made[::2]
    # Linked newest first: the listing's order must still be the contacts' own.
    contacts.create_group(
        platform, who, GroupInput("G", gsms=tuple(c.gsm for c in reversed(members)))
    )
    group = contacts.list_groups(platform, who, "G", None, PAGE).rows[0]
    contacts.set_blacklist(platform, who, True, [], [members[1].gsm, made[1].gsm])
    contacts.delete_contacts(platform, who, [members[2].uuid], permanent=False, group_uuid=None)
    white = [c.gsm for c in members if c not in (members[1], members[2])]
    first, second = (
        contacts.list_contacts(
            platform, who, ContactFilter(ContactStatus.WHITE), group.uuid, PageRequest(i, 10)
        )
        for i in (0, 1)
    )
    assert first.total == second.total == len(white) == 23
    assert [c.gsm for c in first.rows + second.rows] == white[:20]
    black = contacts.list_contacts(
        platform, who, ContactFilter(ContactStatus.BLACK), group.uuid, PAGE
    )
    assert (black.total, [c.gsm for c in black.rows]) == (1, [members[1].gsm])


def test_group_listing_on_sqlite_walks_the_group_not_the_whole_book(sqlite_db: Database) -> None:
    # SQLite has no statistics: given a join it walked every contact of the user and
    # probed its membership (200 ms on a million contacts, for a group of 100).
    platform = make_platform(sqlite_db)
    add_customer(platform, "acme")
    who = platform.authenticate("acme", PASSWORD, "127.0.0.1")
    contacts.create_contact(platform, who, ContactInput("905321100000"))
    group = contacts.create_group(platform, who, GroupInput("G", gsms=("905321100000",)))
    statements: list[tuple[str, Any]] = []
    event.listen(
        platform.store.engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, params, _ctx, _many: statements.append((sql, params)),
    )
    found = contacts.list_contacts(platform, who, ContactFilter(), group.uuid, PAGE)
    assert found.total == 1
    listing = [(s, p) for s, p in statements if "FROM contacts" in s]
    assert len(listing) == 2  # the count and the page
    with platform.store.read() as conn:
        steps = [
            row[3]
            for sql, params in listing
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
        ]
    assert "SEARCH contacts USING INDEX ix_contacts_user_live (user_id=?)" not in steps
    assert not any(step.startswith("SCAN contacts") for step in steps)
