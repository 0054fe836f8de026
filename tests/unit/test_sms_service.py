"""The package services on the in-memory unit of work: creation's steps, pricing by
source, credit, refusals that write nothing, cancel, and whose packages a caller reaches."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.domain.constants import SenderState, UserType
from service.domain.errors import DomainError
from service.domain.pricing import FACADE_PRICING
from service.domain.principal import Principal, visible_to
from service.domain.queries import ItemFilter, PackageFilter, PackageRef, PageRequest
from service.services import credit, reports, senders, sms, users
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork
from tests.factories import send_request
from tests.unit.memory_platform import service_platform

A, B, C = "905321111101", "905321111102", "905441111103"
NOW = datetime(2026, 3, 2, 8, 0)


@pytest.fixture
def platform() -> Platform:
    return service_platform()


def customer(
    platform: Platform,
    name: str = "acme",
    balance: int = 100,
    user_type: UserType = UserType.STANDARD,
    parent: str | None = None,
    unlimited: bool = False,
) -> Principal:
    """A user with credit and the approved sender ACME; its principal."""
    users.create_user(platform, name, "password", user_type, parent, unlimited=unlimited)
    if balance:
        credit.mint(platform, name, balance)
    senders.add_sender(platform, name, "ACME", SenderState.APPROVED)
    return platform.auth.principal_of(name)


def balance(platform: Platform, who: Principal) -> int:
    return credit.balance(platform, who)


def package_count(platform: Platform) -> int:
    uow = platform.uow
    assert isinstance(uow, MemoryUnitOfWork)
    return len(uow.db.packages)


def refused(code: str, call: object, *args: object, **kwargs: object) -> None:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.err.name == code


def test_a_package_reserves_parts_times_recipients_and_prices_each_item(platform: Platform) -> None:
    acme = customer(platform)
    long_text = "x" * 161  # two parts in the GSM alphabet
    package_id = sms.create_package(platform, acme, send_request([A, B], content=long_text))
    assert balance(platform, acme) == 100 - 2 * 2
    _, items = reports.list_items(
        platform, acme, PackageRef("id", package_id), ItemFilter(), PageRequest()
    )
    assert [(i.target, i.parts, i.credit) for i in items.rows] == [(A, 2, 2), (B, 2, 2)]


def test_a_repeated_recipient_is_sent_once_and_paid_once(platform: Platform) -> None:
    acme = customer(platform)
    sms.create_package(platform, acme, send_request([A, B, A]))
    assert balance(platform, acme) == 98


def test_facade_packages_cost_a_credit_per_180_characters(platform: Platform) -> None:
    acme = customer(platform)
    text = "ş" * 181  # Turkish letters count once each; 181 characters start a second credit
    sms.create_package(platform, acme, send_request([A], content=text), policy=FACADE_PRICING)
    assert balance(platform, acme) == 98


def test_without_enough_credit_nothing_is_written(platform: Platform) -> None:
    acme = customer(platform, balance=1)
    refused("ERR_USER_CREDIT_REQUIRED", sms.create_package, platform, acme, send_request([A, B]))
    assert package_count(platform) == 0 and balance(platform, acme) == 1


def test_an_unapproved_sender_is_refused(platform: Platform) -> None:
    acme = customer(platform)
    senders.add_sender(platform, "acme", "WAITS")
    refused(
        "ERR_INVALID_SMS_SENDER",
        sms.create_package,
        platform,
        acme,
        send_request([A], sender="WAITS"),
    )


def test_a_custom_id_is_unique_per_user(platform: Platform) -> None:
    acme = customer(platform)
    other = customer(platform, "other")
    sms.create_package(platform, acme, send_request([A], custom_id="order-1"))
    sms.create_package(platform, other, send_request([A], custom_id="order-1"))
    refused(
        "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION",
        sms.create_package,
        platform,
        acme,
        send_request([B], custom_id="order-1"),
    )


def test_the_same_sms_within_30_minutes_is_a_duplicate_until_the_window_passes(
    platform: Platform,
) -> None:
    acme = customer(platform)
    sms.create_package(platform, acme, send_request([A, B]))
    refused("ERR_SMS_PKG_DUPLICATION", sms.create_package, platform, acme, send_request([B, A]))
    assert isinstance(platform.clock, FixedClock)
    platform.clock.advance(minutes=30)
    sms.create_package(platform, acme, send_request([B, A]))


def test_an_unlimited_user_pays_nothing_but_items_show_their_price(platform: Platform) -> None:
    admin = customer(platform, balance=0, unlimited=True)
    package_id = sms.create_package(platform, admin, send_request([A]))
    assert balance(platform, admin) == 0
    _, items = reports.list_items(
        platform, admin, PackageRef("id", package_id), ItemFilter(), PageRequest()
    )
    assert [i.credit for i in items.rows] == [1]


def test_cancel_refunds_the_whole_package_and_releases_its_duplicate_slot(
    platform: Platform,
) -> None:
    acme = customer(platform)
    later = (NOW + timedelta(days=1)).replace(tzinfo=None)
    package_id = sms.create_package(platform, acme, send_request([A, B], sending_date=later))
    assert balance(platform, acme) == 98
    sms.cancel(platform, acme, PackageRef("id", package_id))
    assert balance(platform, acme) == 100
    sms.create_package(platform, acme, send_request([A, B], sending_date=later))


def test_another_users_package_is_not_found(platform: Platform) -> None:
    acme = customer(platform)
    other = customer(platform, "other")
    package_id = sms.create_package(platform, acme, send_request([A]))
    refused("ERR_SMS_PKG_NOT_FOUND", sms.cancel, platform, other, PackageRef("id", package_id))


def test_a_reseller_reaches_a_descendants_packages_only_when_it_names_them(
    platform: Platform,
) -> None:
    bayi = customer(platform, "bayi", user_type=UserType.RESELLER)
    alt = customer(platform, "altbayi", user_type=UserType.SUB_RESELLER, parent="bayi")
    musteri = customer(platform, "musteri", parent="altbayi")
    rakip = customer(platform, "rakip", user_type=UserType.RESELLER)
    komsu = customer(platform, "komsu", parent="bayi")
    sms.create_package(platform, musteri, send_request([A]))

    def listed(viewer: Principal, target: Principal | None = None) -> int:
        uuid = target.uuid if target else None
        found = reports.list_packages(
            platform, viewer, PackageFilter(), PageRequest(), user_uuid=uuid
        )
        return found.total

    # Without naming anyone, a reseller sees its own packages only.
    assert listed(bayi) == 0
    # Naming a descendant, at any depth, reaches its packages.
    assert listed(bayi, musteri) == 1 and listed(alt, musteri) == 1
    # A sibling, a parent, another reseller's customer, or a standard user looking down:
    # not found, as if the user did not exist.
    for viewer, target in ((komsu, musteri), (alt, bayi), (rakip, musteri), (musteri, alt)):
        refused("ERR_USER_NOT_FOUND", listed, viewer, target)


def test_a_periodic_package_is_listed_with_its_settings_and_recreated_as_one_package(
    platform: Platform,
) -> None:
    # A recreate sends the package again once: it does not start a second series.
    from service.domain.constants import PackageState, PeriodType
    from service.domain.packages import Periodic

    acme = customer(platform)
    periodic = Periodic(PeriodType.DAILY)
    package_id = sms.create_package(platform, acme, send_request([A], periodic=periodic))
    found = reports.list_packages(platform, acme, PackageFilter(), PageRequest())
    assert found.rows[0].package.periodic == periodic
    uow = platform.uow
    assert isinstance(uow, MemoryUnitOfWork)
    with uow.write() as tx:  # as if it had completed
        tx.packages.set_state(package_id, PackageState.COMPLETED, NOW)
    again = sms.recreate(platform, acme, PackageRef("id", package_id), "Yeniden")
    with uow.read() as tx:
        copy = tx.packages.find(visible_to(acme), PackageRef("id", again))
    assert copy is not None and copy.periodic is None and copy.next_run_at is None


def test_every_sender_of_a_user_is_listed_past_one_page(platform: Platform) -> None:
    customer(platform)  # has ACME
    for n in range(1004):
        senders.add_sender(platform, "acme", f"S{n:04d}", SenderState.APPROVED)
    titles = [s.title for s in senders.senders_of(platform, "acme")]
    assert len(titles) == 1005 and titles[0] == "ACME" and titles[-1] == "S1003"
