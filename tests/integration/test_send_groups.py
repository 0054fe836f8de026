"""Packages to contact groups on SQLite and PostgreSQL: the groups' live contacts (sub-groups
included, archived ones not) resolved in one streamed query, their texts, the blacklist,
the groups a package remembers, and /sms/recreate with and without includeNewNumbers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from service.domain.constants import PackageState
from service.domain.contacts import ContactFields, ContactInput, GroupInput
from service.domain.errors import DomainError
from service.domain.ids import uuid7
from service.domain.principal import Principal
from service.services import allowlist, contacts, credit
from service.store.schema import items, package_groups
from tests.conftest import SqlPlatform, add_customer, consent
from tests.integration.helpers import call, principal

A, B, C, D = "905321111101", "905321111102", "905441111103", "905441111104"


@pytest.fixture
def who(platform: SqlPlatform) -> Principal:
    add_customer(platform, "acme", 1000)
    allowlist.allow_ip(platform, "acme", "127.0.0.1")
    return principal(platform)


def group(platform: SqlPlatform, who: Principal, title: str, parent: str | None = None) -> str:
    return contacts.create_group(platform, who, GroupInput(title, parent)).uuid


def person(platform: SqlPlatform, who: Principal, gsm: str, *groups: str, **kw: Any) -> str:
    return contacts.create_contact(platform, who, ContactInput(gsm, group_uuids=groups, **kw)).uuid


def create(platform: SqlPlatform, who: Principal, **fields: Any) -> int:
    body = {"type": 1, "sendingType": 1, "sender": "ACME", "title": "Kampanya"} | fields
    return int(call(platform, who, "sms/create", **body)["pkgID"])


def sent(platform: SqlPlatform, pkg: int) -> dict[str, str | None]:
    with platform.store.read() as conn:
        rows = conn.execute(select(items.c.target, items.c.msg).where(items.c.package_id == pkg))
        return {r.target: r.msg for r in rows}


def finish(platform: SqlPlatform, pkg: int) -> None:
    with platform.uow.write() as tx:
        tx.packages.set_state(pkg, PackageState.COMPLETED, platform.clock.now())


def test_group_package_reaches_live_contacts_of_the_group_and_its_sub_groups(
    platform: SqlPlatform, who: Principal
) -> None:
    top = group(platform, who, "Müşteriler")
    izmir, ankara = group(platform, who, "İzmir", top), group(platform, who, "Ankara", top)
    person(platform, who, A, izmir, first_name="Ali", details={"BORC": "12"})
    person(platform, who, B, izmir, ankara, first_name="Ayşe")  # in two sub-groups
    archived = person(platform, who, C, ankara, first_name="Cem")
    contacts.delete_contacts(platform, who, [archived], permanent=False, group_uuid=None)
    pkg = create(
        platform,
        who,
        groupUUIDs=[top],
        numbers=[D],
        content="Sayın FIRST_NAME, borcunuz BORC TL",
        customFields=["BORC"],
    )
    assert sent(platform, pkg) == {
        D: None,
        A: "Sayın Ali, borcunuz 12 TL",
        B: "Sayın Ayşe, borcunuz  TL",
    }
    assert credit.balance(platform, who) == 997
    with platform.store.read() as conn:
        remembered = conn.execute(select(package_groups.c.group_uuid)).scalars().all()
    assert remembered == [top]


def test_another_users_group_refuses_the_package_and_writes_nothing(
    platform: SqlPlatform, who: Principal
) -> None:
    add_customer(platform, "rakip")
    rival = principal(platform, "rakip")
    theirs = group(platform, rival, "Gizli")
    person(platform, rival, A, theirs)
    with pytest.raises(DomainError) as caught:
        create(platform, who, groupUUIDs=[theirs], numbers=[B], content="x")
    assert caught.value.err.name == "ERR_PARENT_CONTACT_GROUP_NOT_FOUND"
    assert credit.balance(platform, who) == 1000


def test_commercial_group_package_leaves_blacklisted_contacts_out(
    platform: SqlPlatform, who: Principal
) -> None:
    consent(platform, "acme", A, B)  # commercial: consented, so the blacklist decides
    g = group(platform, who, "Liste")
    person(platform, who, A, g)
    person(platform, who, B, g, blacklisted=True)
    pkg = create(platform, who, groupUUIDs=[g], content="Kampanya", commercial=True)
    assert sent(platform, pkg) == {A: None}
    assert credit.balance(platform, who) == 999


def test_recreate_includes_new_contacts_only_when_asked(
    platform: SqlPlatform, who: Principal
) -> None:
    g = group(platform, who, "Liste")
    person(platform, who, A, g, first_name="Ali")
    pkg = create(platform, who, groupUUIDs=[g], content="Selam FIRST_NAME")
    finish(platform, pkg)
    person(platform, who, B, g, first_name="Ayşe")
    same = call(platform, who, "sms/recreate", id=pkg, title="Aynısı", includeNewNumbers=False)
    assert sent(platform, same["pkgID"]) == {A: "Selam Ali"}
    more = call(platform, who, "sms/recreate", id=pkg, title="Yenilerle", includeNewNumbers=True)
    assert sent(platform, more["pkgID"]) == {A: "Selam Ali", B: "Selam Ayşe"}
    assert credit.balance(platform, who) == 1000 - 1 - 1 - 2


def test_group_contacts_are_read_in_one_statement(platform: SqlPlatform, who: Principal) -> None:
    g = group(platform, who, "Büyük")
    with platform.uow.write() as tx:
        group_id = contacts.find_group(tx, who, g).id
    numbers = [f"90532{i:07d}" for i in range(3000)]
    now = platform.clock.now()
    with platform.uow.write() as tx:
        ids = [
            tx.contacts.add(uuid7(), who.user_id, ContactFields(n, "Ad", None, {"K": "v"},
                            None, None, None, None, None), 1, None, now)
            for n in numbers
        ]  # fmt: skip
        tx.contacts.link(group_id, [i for i in ids if i is not None])
    statements: list[str] = []
    engine = platform.store.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with platform.uow.read() as tx:
            found = list(tx.groups.recipients(who.user_id, [group_id]))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [m.gsm for m in found] == numbers  # in id order
    assert found[0].first_name == "Ad" and found[0].details == {"K": "v"}
    assert len([s for s in statements if "contacts" in s]) == 1
