"""The contact services on the in-memory unit of work: contacts, groups, the blacklist,
the deletes' rules, the IP allow-list, and commercial packages skipping blacklisted
numbers."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from service.delivery.iys.simulator import SimulatedIys
from service.domain.allowlist import address_allowed, parse_network
from service.domain.constants import (
    ExitType,
    IysRecipientType,
    IysSource,
    IysState,
    SenderState,
    UserType,
)
from service.domain.contacts import (
    ContactFilter,
    ContactInput,
    ContactStatus,
    GroupInput,
    Iys,
    check_details,
)
from service.domain.errors import DomainError
from service.domain.iys import ConsentStatus
from service.domain.principal import Principal
from service.domain.queries import ItemFilter, PackageFilter, PackageRef, PageRequest
from service.services import allowlist, contacts, credit, iys, reports, senders, sms, users
from service.services.platform import Platform
from tests.factories import send_request
from tests.unit.memory_platform import service_platform

NOW = datetime(2026, 3, 2, 8, 0)
A, B, C = "905321111101", "905321111102", "905441111103"
PAGE = PageRequest(0, 100)


@pytest.fixture
def platform() -> Platform:
    return service_platform()


def customer(platform: Platform, name: str = "acme", allow: str | None = None) -> Principal:
    users.create_user(platform, name, "password", UserType.STANDARD)
    credit.mint(platform, name, 100)
    senders.add_sender(platform, name, "ACME", SenderState.APPROVED)
    if allow:
        allowlist.allow_ip(platform, name, allow)
    return platform.auth.authenticate(name, "password", "10.0.0.5")


def refused(code: str, call: object, *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.err.name == code, caught.value
    return caught.value


def listed(platform: Platform, who: Principal, **filters: int) -> list[str]:
    found = contacts.list_contacts(platform, who, ContactFilter(**filters), None, PAGE)  # type: ignore[arg-type]
    return [c.gsm for c in found.rows]


def test_create_returns_the_contact_with_its_groups_and_details(platform: Platform) -> None:
    who = customer(platform)
    group = contacts.create_group(platform, who, GroupInput("A Grubu"))
    made = contacts.create_contact(
        platform,
        who,
        ContactInput(A, "Zafer", "Altun", {"GSM_2": "905001234567"}, (group.uuid,)),
    )
    assert (made.first_name, made.details, [g.title for g in made.groups]) == (
        "Zafer",
        {"GSM_2": "905001234567"},
        ["A Grubu"],
    )
    assert made.status == ContactStatus.WHITE and not made.blacklisted


def test_the_same_number_twice_is_err_contact_already_exists(platform: Platform) -> None:
    who = customer(platform)
    contacts.create_contact(platform, who, ContactInput(A))
    refused("ERR_CONTACT_ALREADY_EXISTS", contacts.create_contact, platform, who, ContactInput(A))


def test_update_changes_given_fields_and_keeps_the_others(platform: Platform) -> None:
    who = customer(platform)
    made = contacts.create_contact(platform, who, ContactInput(A, "Zafer", "Altun"))
    contacts.update_contact(platform, who, made.uuid, ContactInput(None, last_name="Yılmaz"))
    (row,) = contacts.list_contacts(platform, who, ContactFilter(), None, PAGE).rows
    assert (row.gsm, row.first_name, row.last_name) == (A, "Zafer", "Yılmaz")


def test_update_to_a_number_of_another_contact_is_refused(platform: Platform) -> None:
    who = customer(platform)
    contacts.create_contact(platform, who, ContactInput(A))
    other = contacts.create_contact(platform, who, ContactInput(B))
    refused(
        "ERR_CONTACT_ALREADY_EXISTS",
        contacts.update_contact,
        platform,
        who,
        other.uuid,
        ContactInput(A),
    )


def test_detail_names_follow_the_spec(platform: Platform) -> None:
    assert check_details({"CITY_1": "Ankara", "GSM_3": "05321111111"}) == {
        "CITY_1": "Ankara",
        "GSM_3": "905321111111",
    }
    for bad in ({"ŞEHİR": "x"}, {"A-B": "x"}, {"GSM_2": "123"}, {"BIRTH_DATE": "dün"}):
        refused("ERR_INVALID_PARAM", check_details, bad)


def test_another_users_contact_and_group_are_not_found(platform: Platform) -> None:
    alice, bob = customer(platform, "alice"), customer(platform, "bob", allow="10.0.0.0/24")
    made = contacts.create_contact(platform, alice, ContactInput(A))
    group = contacts.create_group(platform, alice, GroupInput("Alice"))
    refused(
        "ERR_CONTACT_NOT_FOUND", contacts.update_contact, platform, bob, made.uuid, ContactInput(B)
    )
    refused(
        "ERR_CONTACT_NOT_FOUND",
        contacts.delete_contacts,
        platform,
        bob,
        [made.uuid],
        permanent=False,
        group_uuid=None,
    )
    refused(
        "ERR_PARENT_CONTACT_GROUP_NOT_FOUND",
        contacts.create_group,
        platform,
        bob,
        GroupInput("Alt", group.uuid),
    )
    assert listed(platform, bob) == [] and listed(platform, alice) == [A]


def test_delete_needs_an_allow_list(platform: Platform) -> None:
    who = customer(platform)
    made = contacts.create_contact(platform, who, ContactInput(A))
    refused(
        "ERR_USER_NOT_AUTHORIZED",
        contacts.delete_contacts,
        platform,
        who,
        [made.uuid],
        permanent=False,
        group_uuid=None,
    )
    refused(
        "ERR_USER_NOT_AUTHORIZED",
        contacts.delete_groups,
        platform,
        who,
        ["x"],
        include_contacts=False,
    )
    assert listed(platform, who) == [A]


def test_delete_archives_and_creating_again_restores(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    made = contacts.create_contact(platform, who, ContactInput(A, "Eski"))
    contacts.delete_contacts(platform, who, [made.uuid], permanent=False, group_uuid=None)
    assert listed(platform, who) == []
    back = contacts.create_contact(platform, who, ContactInput(A, "Yeni"))
    assert (back.uuid, back.first_name) == (made.uuid, "Yeni")


def test_permanent_delete_removes_archived_contacts_too(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    made = contacts.create_contact(platform, who, ContactInput(A))
    contacts.delete_contacts(platform, who, [made.uuid], permanent=False, group_uuid=None)
    contacts.delete_contacts(platform, who, [made.uuid], permanent=True, group_uuid=None)
    again = contacts.create_contact(platform, who, ContactInput(A))
    assert again.uuid != made.uuid


def test_delete_with_a_group_only_deletes_that_groups_contacts(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    group = contacts.create_group(platform, who, GroupInput("G"))
    inside = contacts.create_contact(platform, who, ContactInput(A, group_uuids=(group.uuid,)))
    outside = contacts.create_contact(platform, who, ContactInput(B))
    contacts.delete_contacts(
        platform, who, [inside.uuid, outside.uuid], permanent=False, group_uuid=group.uuid
    )
    assert listed(platform, who) == [B]


def test_set_blacklist_mixes_uuids_and_numbers_and_adds_non_contacts(platform: Platform) -> None:
    who = customer(platform)
    made = contacts.create_contact(platform, who, ContactInput(A))
    contacts.set_blacklist(platform, who, True, [made.uuid], [C])
    assert listed(platform, who, status=ContactStatus.BLACK) == [A, C]
    assert listed(platform, who, exit_type=int(ExitType.WEB)) == [A, C]
    contacts.set_blacklist(platform, who, False, [], [A])
    assert listed(platform, who, status=ContactStatus.WHITE) == [A]


def test_more_than_1000_items_is_err_request_param_limit(platform: Platform) -> None:
    who = customer(platform)
    numbers = [f"90532{i:07d}" for i in range(1001)]
    refused("ERR_REQUEST_PARAM_LIMIT", contacts.set_blacklist, platform, who, True, [], numbers)
    assert listed(platform, who) == []


def test_blacklist_numbers_keeps_numbers_that_are_not_contacts(platform: Platform) -> None:
    who = customer(platform)
    with platform.uow.write() as tx:
        contacts.blacklist_numbers(tx, who.user_id, [B], ExitType.MO, NOW)
    (row,) = contacts.list_contacts(platform, who, ContactFilter(), None, PAGE).rows
    assert (row.gsm, row.blacklisted, row.exit_type) == (B, True, ExitType.MO)


def test_sub_groups_and_their_rules(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    parent = contacts.create_group(platform, who, GroupInput("Ana"))
    child = contacts.create_group(platform, who, GroupInput("Alt", parent.uuid))
    assert child.parent is not None and child.parent.uuid == parent.uuid
    refused(
        "ERR_CONTACT_GROUP_ALREADY_EXISTS", contacts.create_group, platform, who, GroupInput("Ana")
    )
    contacts.create_contact(platform, who, ContactInput(A))
    contacts.update_group(platform, who, child.uuid, GroupInput(None, gsms=(A,)))
    refused(
        "ERR_PARENT_CONTACT_GROUP_NOT_EMPTY",
        contacts.create_group,
        platform,
        who,
        GroupInput("Torun", child.uuid),
    )
    refused(
        "ERR_INVALID_PARAM",
        contacts.update_group,
        platform,
        who,
        parent.uuid,
        GroupInput(None, child.uuid),
    )
    found = contacts.list_groups(platform, who, None, None, PAGE).rows
    assert {(g.title, g.is_parent, g.contact_count) for g in found} == {
        ("Ana", True, 0),
        ("Alt", False, 1),
    }
    contacts.delete_groups(platform, who, [parent.uuid], include_contacts=True)
    assert contacts.list_groups(platform, who, None, None, PAGE).total == 0
    assert listed(platform, who) == []  # A was in no other group: archived


def test_delete_group_keeps_contacts_in_other_groups(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    g1 = contacts.create_group(platform, who, GroupInput("G1"))
    g2 = contacts.create_group(platform, who, GroupInput("G2"))
    contacts.create_contact(platform, who, ContactInput(A, group_uuids=(g1.uuid, g2.uuid)))
    contacts.create_contact(platform, who, ContactInput(B, group_uuids=(g1.uuid,)))
    contacts.delete_groups(platform, who, [g1.uuid], include_contacts=True)
    assert listed(platform, who) == [A]


def test_a_second_delete_while_one_runs_is_err_multi_request(platform: Platform) -> None:
    who = customer(platform, allow="10.0.0.5")
    group = contacts.create_group(platform, who, GroupInput("G"))
    with platform.uow.write() as tx:
        assert tx.locks.acquire(who.user_id, "contact-delete", "other", NOW, NOW.replace(hour=9))
    refused(
        "ERR_MULTI_REQUEST_NOT_PERMITTED",
        contacts.delete_groups,
        platform,
        who,
        [group.uuid],
        include_contacts=False,
    )
    assert contacts.list_groups(platform, who, None, None, PAGE).total == 1


def test_allow_list_refuses_other_addresses(platform: Platform) -> None:
    customer(platform, allow="10.0.0.0/24")
    assert platform.auth.authenticate("acme", "password", "10.0.0.99").username == "acme"
    refused("ERR_USER_NOT_AUTHORIZED", platform.auth.authenticate, "acme", "password", "10.0.1.1")
    allowlist.deny_ip(platform, "acme", "10.0.0.0/24")
    assert platform.auth.authenticate("acme", "password", "10.0.1.1").username == "acme"


def test_allow_list_addresses_and_networks() -> None:
    allowed = (parse_network("10.0.0.0/24"), parse_network("2001:db8::1"))
    assert address_allowed("10.0.0.7", allowed) and address_allowed("::ffff:10.0.0.7", allowed)
    assert address_allowed("2001:db8::1", allowed)
    assert not address_allowed("10.0.1.7", allowed) and not address_allowed(None, allowed)
    assert address_allowed("192.0.2.1", ())
    refused("ERR_INVALID_PARAM", parse_network, "10.0.0.1/24")


def consenting(platform: Platform, *numbers: str) -> None:
    """acme's İYS settings, and approved (synced) consents of these numbers: what a
    commercial package needs before the blacklist is even looked at."""
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    for number in numbers:
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "w1")


def test_commercial_package_skips_blacklisted_numbers_uncharged(platform: Platform) -> None:
    who = customer(platform)
    consenting(platform, A, B, C)
    contacts.set_blacklist(platform, who, True, [], [B])
    pkg = sms.create_package(platform, who, send_request([A, B, C], commercial=True))
    found = reports.list_items(platform, who, PackageRef("id", pkg), ItemFilter(), PAGE)[1]
    assert [i.target for i in found.rows] == [A, C]
    assert credit.balance(platform, who) == 98
    package = reports.list_packages(platform, who, PackageFilter(), PAGE).rows[0].package
    assert (package.recipients, package.invalid_count) == (2, 1)


def test_non_commercial_package_reaches_blacklisted_numbers(platform: Platform) -> None:
    who = customer(platform)
    contacts.set_blacklist(platform, who, True, [], [B])
    pkg = sms.create_package(platform, who, send_request([A, B]))
    assert (
        reports.list_items(platform, who, PackageRef("id", pkg), ItemFilter(), PAGE)[1].total == 2
    )


def test_commercial_package_of_only_blacklisted_numbers_is_empty(platform: Platform) -> None:
    who = customer(platform)
    consenting(platform, A)
    contacts.set_blacklist(platform, who, True, [], [A])
    refused(
        "ERR_EMPTY_SMS_PACKAGE",
        sms.create_package,
        platform,
        who,
        send_request([A], commercial=True),
    )
    assert credit.balance(platform, who) == 100


def test_iys_waits_for_sync_on_creation_and_on_updates_that_ask_for_it(platform: Platform) -> None:
    who = customer(platform)
    asked = Iys(IysRecipientType.INDIVIDUAL, IysSource.HS_WEB, send=False)
    made = contacts.create_contact(platform, who, ContactInput(A, iys=asked))
    assert (made.iys_state, made.iys_source) == (IysState.WAITING_SYNC, IysSource.HS_WEB)
    with platform.uow.write() as tx:  # as the later İYS sync will: accepted
        tx.contacts.set_status(who.user_id, [A], 1, None, NOW)
        row = tx.contacts.by_number(who.user_id, A)
        assert row is not None
        fields = contacts._fields(ContactInput(None), row)
        tx.contacts.update(row.id, dataclasses.replace(fields, iys_state=2), 1, None, NOW)
    contacts.update_contact(platform, who, made.uuid, ContactInput(None, iys=asked))
    assert listed_iys(platform, who) == 2  # send: false changes the data, not the state
    again = Iys(IysRecipientType.MERCHANT, IysSource.HS_WEB, send=True)
    contacts.update_contact(platform, who, made.uuid, ContactInput(None, iys=again))
    assert listed_iys(platform, who) == IysState.WAITING_SYNC


def listed_iys(platform: Platform, who: Principal) -> int | None:
    (row,) = contacts.list_contacts(platform, who, ContactFilter(), None, PAGE).rows
    return row.iys_state
