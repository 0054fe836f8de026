"""Packages to contact groups on the in-memory unit of work: who a group package reaches
(sub-groups, archived contacts, repeats, the blacklist), its per-contact texts, the
request's groupUUIDs/customFields, and recreate with and without includeNewNumbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from service.api.node.params import Params
from service.api.node.requests import parse
from service.domain.constants import PackageState, SenderState, UserType
from service.domain.contacts import ContactInput, GroupInput
from service.domain.errors import DomainError
from service.domain.principal import Principal
from service.domain.queries import ItemFilter, PackageRef, PageRequest
from service.domain.sending import GroupMember, Recipient, member_text
from service.services import allowlist, contacts, credit, reports, senders, sms, users
from service.services.platform import Platform
from tests.conftest import consent
from tests.factories import send_request
from tests.unit.memory_platform import service_platform

NOW = datetime(2026, 3, 2, 8, 0)
A, B, C, D = "905321111101", "905321111102", "905441111103", "905441111104"
PAGE = PageRequest(0, 1000)


@pytest.fixture
def platform() -> Platform:
    return service_platform()


def customer(platform: Platform, name: str = "acme") -> Principal:
    users.create_user(platform, name, "password", UserType.STANDARD)
    credit.mint(platform, name, 100)
    senders.add_sender(platform, name, "ACME", SenderState.APPROVED)
    allowlist.allow_ip(platform, name, "10.0.0.0/8")
    return platform.auth.authenticate(name, "password", "10.0.0.5")


def group(platform: Platform, who: Principal, title: str, parent: str | None = None) -> str:
    return contacts.create_group(platform, who, GroupInput(title, parent)).uuid


def person(platform: Platform, who: Principal, gsm: str, *groups: str, **kw: Any) -> str:
    made = contacts.create_contact(platform, who, ContactInput(gsm, group_uuids=groups, **kw))
    return made.uuid


def to_groups(*uuids: str, numbers: tuple[str, ...] = (), **fields: Any) -> Any:
    return send_request(numbers, group_uuids=uuids, **fields)


def sent(platform: Platform, who: Principal, pkg: int) -> dict[str, str | None]:
    found = reports.list_items(platform, who, PackageRef("id", pkg), ItemFilter(), PAGE)[1]
    return {i.target: i.msg for i in found.rows}


def refused(code: str, call: object, *args: object) -> None:
    with pytest.raises(DomainError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.err.name == code, caught.value


def finish(platform: Platform, pkg: int) -> None:
    with platform.uow.write() as tx:  # as if it had been sent and completed
        tx.packages.set_state(pkg, PackageState.COMPLETED, NOW)


# --- the texts ---------------------------------------------------------------------------


def test_member_text_fills_names_and_custom_fields() -> None:
    member = GroupMember(A, "Ali", "Veli", {"city": "İzmir"})
    text = member_text("Sayın FIRST_NAME LAST_NAME, CITY şubemiz", member, ())
    assert text == "Sayın Ali Veli, İzmir şubemiz"


def test_member_text_empties_a_known_or_declared_field_the_contact_lacks() -> None:
    member = GroupMember(A, "Ali", None, {})
    assert member_text("FIRST_NAME LAST_NAME/BORC TL", member, ("BORC",)) == "Ali / TL"


def test_member_text_leaves_an_undeclared_word_alone() -> None:
    member = GroupMember(A, "Ali", None, {})
    assert member_text("FIRST_NAME: BORC TL", member, ()) == "Ali: BORC TL"


def test_member_text_is_none_when_the_content_names_no_field() -> None:
    # The contact then shares the package's text: no per-item copy is stored.
    assert member_text("Kampanya başladı", GroupMember(A, "Ali", "Veli", {"X": "1"}), ()) is None


# --- the request -------------------------------------------------------------------------


def create(**fields: Any) -> Any:
    body: dict[str, Any] = {"type": 1, "sendingType": 1, "sender": "ACME", "content": "Merhaba"}
    return parse(Params(body | fields), otp=False)


def test_group_uuids_alone_make_a_request_without_numbers() -> None:
    req = create(groupUUIDs=["g-1", "g-2", "g-1"])
    assert (req.recipients, req.group_uuids) == ((), ("g-1", "g-2"))


def test_group_uuids_go_with_numbers() -> None:
    req = create(groupUUIDs="g-1", numbers=[A])
    assert (req.recipients, req.group_uuids) == ((Recipient(A),), ("g-1",))


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"sendingType": 0, "number": A, "groupUUIDs": ["g"]}, "groupUUIDs"),
        ({"groupUUIDs": [{"uuid": "g"}]}, "groupUUIDs"),
        ({"sendingType": 2, "content": None, "groupUUIDs": ["g"]}, "content"),
        ({"numbers": [A], "customFields": ["FIRST-NAME"]}, "customFields"),
        ({"numbers": [A], "customFields": [{"x": 1}]}, "customFields"),
    ],
)
def test_bad_group_or_field_lists_are_invalid(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as caught:
        create(**fields)
    assert (caught.value.err.name, caught.value.field) == ("ERR_INVALID_PARAM", field)


def test_declared_custom_field_missing_from_cfs_is_emptied() -> None:
    req = create(
        content="Sayın FIRST_NAME LAST_NAME",
        customFields=["FIRST_NAME", "LAST_NAME"],
        numbers=[{"nr": A, "cfs": {"FIRST_NAME": "Ali"}}, {"nr": B, "cfs": {"last_name": "Kaya"}}],
    )
    assert req.custom_fields == ("FIRST_NAME", "LAST_NAME")
    assert list(req.recipients) == [Recipient(A, "Sayın Ali "), Recipient(B, "Sayın  Kaya")]


def test_without_custom_fields_a_tag_cfs_lacks_stays() -> None:
    req = create(content="FIRST_NAME LAST_NAME", numbers=[{"nr": A, "cfs": {"FIRST_NAME": "Ali"}}])
    assert list(req.recipients) == [Recipient(A, "Ali LAST_NAME")]


# --- who a group package reaches ---------------------------------------------------------


def test_group_package_reaches_the_groups_and_sub_groups_live_contacts(
    platform: Platform,
) -> None:
    who = customer(platform)
    parent = group(platform, who, "Müşteriler")
    child = group(platform, who, "İzmir", parent)
    grandchild = group(platform, who, "Karşıyaka", child)
    other = group(platform, who, "Başka")
    person(platform, who, A, child)
    person(platform, who, B, grandchild)
    gone = person(platform, who, C, child)
    person(platform, who, D, other)
    contacts.delete_contacts(platform, who, [gone], permanent=False, group_uuid=None)
    pkg = sms.create_package(platform, who, to_groups(parent))
    assert sent(platform, who, pkg) == {A: None, B: None}
    assert credit.balance(platform, who) == 98


def test_a_number_in_several_groups_and_the_numbers_is_sent_once(platform: Platform) -> None:
    who = customer(platform)
    first, second = group(platform, who, "Bir"), group(platform, who, "İki")
    person(platform, who, A, first, second, first_name="Ali")
    person(platform, who, B, second, first_name="Ayşe")
    req = to_groups(first, second, numbers=(A,), content="Merhaba FIRST_NAME")
    pkg = sms.create_package(platform, who, req)
    # The number given explicitly keeps its own (the shared) text.
    assert sent(platform, who, pkg) == {A: None, B: "Merhaba Ayşe"}


def test_placeholders_are_filled_per_contact_and_priced_as_sent(platform: Platform) -> None:
    who = customer(platform)
    g = group(platform, who, "Borçlular")
    person(platform, who, A, g, first_name="Ali", details={"BORC": "12"})
    person(platform, who, B, g, first_name="X" * 100, details={"BORC": "9" * 60})
    req = to_groups(g, content="FIRST_NAME BORC TL", custom_fields=("BORC",))
    pkg = sms.create_package(platform, who, req)
    assert sent(platform, who, pkg) == {A: "Ali 12 TL", B: "X" * 100 + " " + "9" * 60 + " TL"}
    assert credit.balance(platform, who) == 100 - 1 - 2  # B's text is two parts


def test_another_users_group_is_not_found(platform: Platform) -> None:
    who, rival = customer(platform), customer(platform, "rakip")
    theirs = group(platform, rival, "Gizli")
    person(platform, rival, A, theirs)
    code = "ERR_PARENT_CONTACT_GROUP_NOT_FOUND"
    refused(code, sms.create_package, platform, who, to_groups(theirs, numbers=(B,)))
    assert credit.balance(platform, who) == 100


def test_a_group_without_live_contacts_is_an_empty_package(platform: Platform) -> None:
    who = customer(platform)
    empty = group(platform, who, "Boş")
    refused("ERR_EMPTY_SMS_PACKAGE", sms.create_package, platform, who, to_groups(empty))


def test_commercial_group_package_skips_blacklisted_contacts(platform: Platform) -> None:
    who = customer(platform)
    consent(platform, "acme", A, B, C)  # commercial: consented, so the blacklist decides
    g = group(platform, who, "Liste")
    person(platform, who, A, g)
    person(platform, who, B, g, blacklisted=True)
    contacts.set_blacklist(platform, who, True, [], [C])  # a bare contact, blacklisted
    contacts.update_group(platform, who, g, GroupInput(None, None, (C,)))
    pkg = sms.create_package(platform, who, to_groups(g, commercial=True))
    assert sent(platform, who, pkg) == {A: None}
    informational = sms.create_package(platform, who, to_groups(g, content="Bilgi"))
    assert set(sent(platform, who, informational)) == {A, B, C}


# --- recreate ----------------------------------------------------------------------------


def test_recreate_with_new_numbers_adds_contacts_joined_since(platform: Platform) -> None:
    who = customer(platform)
    g = group(platform, who, "Liste")
    first = group(platform, who, "Birinci", g)
    person(platform, who, A, first, first_name="Ali")
    pkg = sms.create_package(platform, who, to_groups(g, numbers=(C,), content="Selam FIRST_NAME"))
    finish(platform, pkg)
    person(platform, who, B, group(platform, who, "İkinci", g), first_name="Ayşe")
    again = sms.recreate(platform, who, PackageRef("id", pkg), "Yeniden", True)
    assert sent(platform, who, again) == {C: None, A: "Selam Ali", B: "Selam Ayşe"}
    finish(platform, again)
    person(platform, who, D, first, first_name="Deniz")
    # The copy remembers the groups too.
    third = sms.recreate(platform, who, PackageRef("id", again), "Üçüncü", True)
    assert set(sent(platform, who, third)) == {A, B, C, D}


def test_recreate_without_new_numbers_resends_to_the_original_numbers(
    platform: Platform,
) -> None:
    who = customer(platform)
    g = group(platform, who, "Liste")
    person(platform, who, A, g, first_name="Ali")
    pkg = sms.create_package(platform, who, to_groups(g, content="Selam FIRST_NAME"))
    finish(platform, pkg)
    person(platform, who, B, g)
    again = sms.recreate(platform, who, PackageRef("id", pkg), "Yeniden", False)
    assert sent(platform, who, again) == {A: "Selam Ali"}


def test_recreate_skips_a_group_deleted_since(platform: Platform) -> None:
    who = customer(platform)
    g = group(platform, who, "Liste")
    person(platform, who, A, g)
    pkg = sms.create_package(platform, who, to_groups(g))
    finish(platform, pkg)
    contacts.delete_groups(platform, who, [g], include_contacts=False)
    again = sms.recreate(platform, who, PackageRef("id", pkg), "Yeniden", True)
    assert set(sent(platform, who, again)) == {A}


def test_a_package_to_numbers_only_remembers_no_group(platform: Platform) -> None:
    who = customer(platform)
    pkg = sms.create_package(platform, who, send_request([A]))
    with platform.uow.read() as tx:
        assert tx.packages.groups_of(pkg) == []
