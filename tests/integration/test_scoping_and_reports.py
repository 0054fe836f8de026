"""Every lookup is the caller's own; listings filter, page and count as documented."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.domain.constants import UserType
from service.domain.errors import DomainError
from service.services.clock import FixedClock
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, call, principal


@pytest.fixture
def two_users(platform: SqlPlatform) -> tuple[SqlPlatform, int]:
    add_customer(platform, "acme", 100, "ACME")
    add_customer(platform, "rival", 100, "RIVAL")
    pkg = call(
        platform,
        principal(platform, "acme"),
        "sms/create",
        **{**SMS, "numbers": ["905321111111"], "customID": "acme-1"},
    )["pkgID"]
    return platform, pkg


@pytest.mark.parametrize(
    "path, fields",
    [
        ("sms/list-item", {"pkgID": "PKG"}),
        ("sms/list-item", {"customID": "acme-1"}),
        ("sms/cancel", {"id": "PKG"}),
        ("sms/recreate", {"id": "PKG", "title": "Kopya", "includeNewNumbers": False}),
    ],
)
def test_another_users_package_is_not_found(
    two_users: tuple[SqlPlatform, int], path: str, fields: dict[str, object]
) -> None:
    platform, pkg = two_users
    fields = {k: (pkg if v == "PKG" else v) for k, v in fields.items()}
    with pytest.raises(DomainError) as excinfo:
        call(platform, principal(platform, "rival"), path, **fields)
    assert excinfo.value.err.name == "ERR_SMS_PKG_NOT_FOUND"


def test_listings_show_only_the_callers_packages(two_users: tuple[SqlPlatform, int]) -> None:
    platform, pkg = two_users
    rival = principal(platform, "rival")
    assert call(platform, rival, "sms/list", ids=[pkg])["stats"]["totalRecord"] == 0
    assert call(platform, rival, "sms/summary")["rCount"] == 0
    assert call(platform, rival, "sms/inquiry-number", gsm="905321111111")["list"] == []
    mine = call(platform, principal(platform, "acme"), "sms/list", ids=[pkg])
    assert [p["id"] for p in mine["list"]] == [pkg]


def test_list_filters_by_custom_ids_keyword_sender_and_status(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100)
    me = principal(platform)
    a = call(
        platform,
        me,
        "sms/create",
        **{**SMS, "numbers": ["905321111111"], "content": "indirim %50", "customID": "a"},
    )["pkgID"]
    b = call(
        platform, me, "sms/create", **{**SMS, "numbers": ["905321111112"], "content": "hatırlatma"}
    )["pkgID"]
    call(platform, me, "sms/cancel", id=b)

    def ids(**filters: object) -> list[int]:
        return [p["id"] for p in call(platform, me, "sms/list", **filters)["list"]]

    assert ids() == [b, a]
    assert ids(customIDs=["a", "zz"]) == [a]
    assert ids(keyword="%50") == [a]
    assert ids(keyword="_") == []
    assert ids(sender="NOPE") == []
    assert ids(status=6) == [b]
    assert ids(status=1) == [a]
    with pytest.raises(DomainError):
        ids(status=9)


def test_paging_counts_all_and_returns_one_page(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100, duplicate_check=False)
    me = principal(platform)
    for n in range(25):
        call(platform, me, "sms/create", **{**SMS, "numbers": [f"9053211{n:05d}"]})
    page = call(platform, me, "sms/list", pageIndex=2, pageSize=10)
    assert page["stats"]["totalRecord"] == 25 and len(page["list"]) == 5
    for size in (9, 1001):
        with pytest.raises(DomainError) as excinfo:
            call(platform, me, "sms/list", pageSize=size)
        assert excinfo.value.field == "pageSize"


def test_summary_counts_parts_recipients_and_credit(platform: SqlPlatform) -> None:
    add_customer(platform, balance=100)
    me = principal(platform)
    call(
        platform,
        me,
        "sms/create",
        **{**SMS, "content": "z" * 200, "numbers": ["905321111111", "905321111112"]},
    )
    assert call(platform, me, "sms/summary") == {
        "total": 4,
        "delivered": 0,
        "undelivered": 0,
        "pending": 0,
        "rCount": 2,
        "credit": 4,
    }


def test_inquiry_number_refuses_more_than_three_months_and_reversed_ranges(db: Database) -> None:
    platform = make_platform(db, clock=FixedClock(datetime(2026, 6, 1, 9, 0)))
    add_customer(platform, balance=10)
    me = principal(platform)
    for start, finish in (
        ("2026-01-01 00:00", "2026-05-01 00:00"),
        ("2026-05-02 00:00", "2026-05-01 00:00"),
    ):
        with pytest.raises(DomainError) as excinfo:
            call(
                platform,
                me,
                "sms/inquiry-number",
                gsm="905321111111",
                startDate=start,
                finishDate=finish,
            )
        assert excinfo.value.err.name == "ERR_INVALID_DATE_RANGE"


def test_inquiry_number_finds_what_was_sent_in_the_last_month(db: Database) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    me = principal(platform)
    pkg = call(platform, me, "sms/create", **{**SMS, "numbers": ["05321111111"]})["pkgID"]
    found = call(platform, me, "sms/inquiry-number", gsm="905321111111")
    assert [(r["pkgID"], r["username"], r["sender"], r["msg"]) for r in found["list"]] == [
        (pkg, "acme", "ACME", "Merhaba")
    ]
    clock.advance(days=31)
    assert call(platform, me, "sms/inquiry-number", gsm="905321111111")["list"] == []


def test_list_sender_filters_by_keyword_and_status(platform: SqlPlatform) -> None:
    from service.services import senders

    add_customer(platform, balance=0, sender="ACME")
    senders.add_sender(platform, "acme", "ACME2")
    me = principal(platform)
    listed = call(platform, me, "sms/list-sender")
    assert [(s["title"], s["status"]) for s in listed["list"]] == [("ACME", 1), ("ACME2", 0)]
    assert call(platform, me, "sms/list-sender", status=1)["stats"]["totalRecord"] == 1
    assert call(platform, me, "sms/list-sender", keyword="2")["list"][0]["title"] == "ACME2"


def test_summary_leaves_out_cancelled_packages(db: Database) -> None:
    # A cancelled package was never sent, and its credit came back.
    platform = make_platform(db, clock=FixedClock(datetime(2026, 6, 1, 9, 0)))
    add_customer(platform, balance=100)
    me = principal(platform)
    call(platform, me, "sms/create", **{**SMS, "numbers": ["905321111111"]})
    later = call(
        platform,
        me,
        "sms/create",
        **{**SMS, "numbers": ["905321111112"], "sendingDate": "2026-06-02 10:00"},
    )["pkgID"]
    call(platform, me, "sms/cancel", id=later)
    assert call(platform, me, "sms/summary") == {
        "total": 1,
        "delivered": 0,
        "undelivered": 0,
        "pending": 0,
        "rCount": 1,
        "credit": 1,
    }


def test_inquiry_number_from_a_start_date_alone_searches_until_now(db: Database) -> None:
    clock = FixedClock(datetime(2026, 6, 1, 9, 0))
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=10)
    me = principal(platform)
    call(platform, me, "sms/create", **{**SMS, "numbers": ["05321111111"]})
    clock.advance(days=45)
    found = call(
        platform, me, "sms/inquiry-number", gsm="905321111111", startDate="2026-05-20 00:00"
    )
    assert found["stats"]["totalRecord"] == 1
    with pytest.raises(DomainError) as excinfo:  # from then until now is over 3 months
        call(platform, me, "sms/inquiry-number", gsm="905321111111", startDate="2026-01-01 00:00")
    assert excinfo.value.err.name == "ERR_INVALID_DATE_RANGE"


@pytest.mark.parametrize(
    "path, field",
    [("sms/list", "keyword"), ("sms/list-sender", "keyword"), ("sms/list-item", "target")],
)
def test_an_overlong_search_text_is_an_invalid_parameter(
    platform: SqlPlatform, path: str, field: str
) -> None:
    # SQLite refuses LIKE patterns over 50,000 bytes: that was a 500.
    add_customer(platform, balance=10)
    me = principal(platform)
    pkg = call(platform, me, "sms/create", **{**SMS, "numbers": ["05321111111"]})["pkgID"]
    with pytest.raises(DomainError) as excinfo:
        call(platform, me, path, pkgID=pkg, **{field: "9" * 50_000})
    assert (excinfo.value.err.name, excinfo.value.field) == ("ERR_INVALID_PARAM", field)
    call(platform, me, path, pkgID=pkg, **{field: "9" * 2000})


def test_a_reseller_reaches_a_descendants_packages_only_where_allowed(
    platform: SqlPlatform,
) -> None:
    from service.domain.queries import PackageFilter, PageRequest
    from service.services import reports, users

    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    users.create_user(platform, "altbayi", PASSWORD, UserType.SUB_RESELLER, "bayi")
    users.create_user(platform, "rakip", PASSWORD, UserType.RESELLER)
    musteri = add_customer(platform, "musteri", parent="altbayi")
    komsu = add_customer(platform, "komsu", parent="bayi", sender="KOMSU")
    call(platform, principal(platform, "musteri"), "sms/create", **SMS, numbers=["905321111101"])

    def listed(viewer: str, target: str | None = None) -> list[int]:
        uuid = {"musteri": musteri.uuid, "komsu": komsu.uuid}.get(target or "")
        found = reports.list_packages(
            platform, principal(platform, viewer), PackageFilter(), PageRequest(), user_uuid=uuid
        )
        return [r.package.user_id for r in found.rows]

    # Where a function allows it, the reseller names a descendant at any depth.
    assert listed("bayi", "musteri") == [musteri.id] == listed("altbayi", "musteri")
    # Its own listing never mixes in its customers' packages.
    assert listed("bayi") == []
    # A sibling, another reseller, or a customer looking sideways: not found.
    for viewer, target in (("komsu", "musteri"), ("rakip", "musteri"), ("musteri", "komsu")):
        with pytest.raises(DomainError) as caught:
            listed(viewer, target)
        assert caught.value.err.name == "ERR_USER_NOT_FOUND"
    # And over the Node API, which allows no reaching down, another user's package is
    # not found even for the reseller above it.
    with pytest.raises(DomainError) as caught:
        call(platform, principal(platform, "bayi"), "sms/list-item", pkgID=1)
    assert caught.value.err.name == "ERR_SMS_PKG_NOT_FOUND"
