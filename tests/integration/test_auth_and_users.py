"""Passwords, the credential cache, throttling, the user hierarchy and credit transfers."""

from __future__ import annotations

import pytest

from service.domain.constants import UserType
from service.domain.errors import DomainError
from service.services import credit, users
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, counted, make_platform
from tests.integration.helpers import balance


def test_cached_credentials_skip_the_hash_and_a_new_password_invalidates_them(
    platform: SqlPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_customer(platform)
    verifications: list[int] = []
    real = platform.auth._verify
    monkeypatch.setattr(platform.auth, "_verify", counted(verifications, real))
    for _ in range(5):
        platform.authenticate("acme", PASSWORD)
    assert len(verifications) == 1
    users.set_password(platform, "acme", "brand-new-pass")
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate("acme", PASSWORD)
    assert excinfo.value.err.name == "ERR_UNAUTHORIZED_REQUEST"
    assert platform.authenticate("acme", "brand-new-pass").username == "acme"


def test_wrong_user_and_wrong_password_fail_alike(platform: SqlPlatform) -> None:
    add_customer(platform)
    errors = []
    for name, password in (("acme", "wrong"), ("nobody", PASSWORD), ("", ""), (None, None)):
        with pytest.raises(DomainError) as excinfo:
            platform.authenticate(name, password)
        errors.append(excinfo.value.as_wire())
    assert all(e == errors[0] for e in errors)


def test_repeated_failures_are_throttled_per_account_and_address(db: Database) -> None:
    platform = make_platform(db, auth_fail_limit=3)
    add_customer(platform)
    for _ in range(3):
        with pytest.raises(DomainError):
            platform.authenticate("acme", "wrong", "10.0.0.1")
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert excinfo.value.err.name == "ERR_TOO_MANY_REQUESTS"
    assert excinfo.value.retry_after and excinfo.value.retry_after > 0
    # Guessing from elsewhere does not lock the real client out.
    assert platform.authenticate("acme", PASSWORD, "10.0.0.2").username == "acme"


def test_an_address_spraying_many_accounts_is_throttled(db: Database) -> None:
    platform = make_platform(db, auth_fail_limit=2)
    add_customer(platform)
    for n in range(20):
        with pytest.raises(DomainError):
            platform.authenticate(f"user{n}", "wrong", "10.0.0.9")
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate("acme", PASSWORD, "10.0.0.9")
    assert excinfo.value.err.name == "ERR_TOO_MANY_REQUESTS"


# Text PostgreSQL cannot take (NUL) or UTF-8 cannot encode (a lone surrogate) reached the
# user lookup: PostgreSQL raised DataError, a 500; SQLite answered 401. Both: a wrong login.
UNSTORABLE = [("a\0b", "pw"), ("acme", "pw\0"), ("a\udcffb", "pw"), ("acme", "\ud800")]


@pytest.mark.parametrize(
    "username, password",
    UNSTORABLE,
    ids=["nul-user", "nul-pass", "surrogate-user", "surrogate-pass"],
)
def test_unstorable_credentials_are_a_counted_wrong_login(
    db: Database, username: str, password: str
) -> None:
    platform = make_platform(db, auth_fail_limit=2)
    add_customer(platform)
    for _ in range(2):
        with pytest.raises(DomainError) as excinfo:
            platform.authenticate(username, password, "10.0.0.1")
        assert excinfo.value.err.name == "ERR_UNAUTHORIZED_REQUEST"
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate(username, password, "10.0.0.1")
    assert excinfo.value.err.name == "ERR_TOO_MANY_REQUESTS"


def test_inactive_user_cannot_log_in(platform: SqlPlatform) -> None:
    add_customer(platform, active=False)
    with pytest.raises(DomainError):
        platform.authenticate("acme", PASSWORD)


def test_user_types_hang_only_under_allowed_parents(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    users.create_user(platform, "altbayi", PASSWORD, UserType.SUB_RESELLER, "bayi")
    users.create_user(platform, "musteri", PASSWORD, UserType.STANDARD, "altbayi")
    users.create_user(platform, "personel", PASSWORD, UserType.SUB_USER, "musteri")
    cases = [
        (UserType.SUB_USER, "bayi", "ERR_USER_NOT_AUTHORIZED"),
        (UserType.RESELLER, "bayi", "ERR_USER_NOT_AUTHORIZED"),
        (UserType.STANDARD, "ghost", "ERR_PARENT_USER_NOT_FOUND"),
    ]
    for user_type, parent, expected in cases:
        with pytest.raises(DomainError) as excinfo:
            users.create_user(platform, "x-user", PASSWORD, user_type, parent)
        assert excinfo.value.err.name == expected
    with pytest.raises(DomainError) as excinfo:
        users.create_user(platform, "musteri", PASSWORD, UserType.STANDARD, "bayi")
    assert excinfo.value.err.name == "ERR_USER_ALREADY_EXISTS"
    assert [u.username for u in users.list_users(platform, "altbayi")] == ["musteri"]


def test_a_refused_parent_is_answered_with_the_parent_types_allowed(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    with pytest.raises(DomainError) as excinfo:
        users.create_user(platform, "personel", PASSWORD, UserType.SUB_USER, "bayi")
    assert excinfo.value.err.name == "ERR_USER_NOT_AUTHORIZED"
    assert "SUB_USER (4)" in excinfo.value.message
    assert "STANDARD (3)" in excinfo.value.message


def test_a_sender_of_an_unknown_user_is_user_not_found(platform: SqlPlatform) -> None:
    from service.services import senders

    with pytest.raises(DomainError) as excinfo:
        senders.set_sender_status(platform, "ghost", "ACME", 1)
    assert excinfo.value.err.name == "ERR_USER_NOT_FOUND"
    with pytest.raises(DomainError) as excinfo:
        senders.add_sender(platform, "ghost", "ACME")
    assert excinfo.value.err.name == "ERR_USER_NOT_FOUND"


def test_credit_moves_down_the_tree_only_when_the_parent_has_it(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    add_customer(platform, "acme", 0, user_type=UserType.STANDARD, parent="bayi")
    credit.mint(platform, "bayi", 50)
    assert credit.transfer(platform, "bayi", "acme", 30).balances() == {"bayi": 20, "acme": 30}
    with pytest.raises(DomainError) as excinfo:
        credit.transfer(platform, "bayi", "acme", 21)
    assert excinfo.value.err.name == "ERR_PARENT_USER_CREDIT_REQUIRED"
    with pytest.raises(DomainError) as excinfo:
        credit.transfer(platform, "bayi", "acme", -31)
    assert excinfo.value.err.name == "ERR_USER_CREDIT_DECREASING_LIMITED"
    assert credit.transfer(platform, "bayi", "acme", -10).balances() == {"bayi": 30, "acme": 20}
    assert balance(platform, "acme") == 20


def test_credit_cannot_skip_a_level_of_the_tree(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    users.create_user(platform, "musteri", PASSWORD, UserType.STANDARD, "bayi")
    users.create_user(platform, "personel", PASSWORD, UserType.SUB_USER, "musteri")
    credit.mint(platform, "bayi", 50)
    with pytest.raises(DomainError) as excinfo:
        credit.transfer(platform, "bayi", "personel", 5)
    assert excinfo.value.err.name == "ERR_USER_NOT_AUTHORIZED"


def test_ledger_records_every_movement(platform: SqlPlatform) -> None:
    users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    add_customer(platform, "acme", 0, parent="bayi")
    credit.mint(platform, "bayi", 50, "opening")
    credit.transfer(platform, "bayi", "acme", 20)
    _, entries = credit.ledger(platform, "bayi")
    assert [(e.amount, e.balance_after, e.reason) for e in entries] == [
        (-20, 30, "transfer_out"),
        (50, 50, "topup"),
    ]


def test_a_transfer_names_the_other_side_in_both_ledger_entries(platform: SqlPlatform) -> None:
    bayi = users.create_user(platform, "bayi", PASSWORD, UserType.RESELLER)
    acme = add_customer(platform, "acme", 0, parent="bayi")
    credit.mint(platform, "bayi", 50)
    credit.transfer(platform, "bayi", "acme", 20)
    credit.transfer(platform, "bayi", "acme", -5)
    _, given = credit.ledger(platform, "bayi", 2)
    _, taken = credit.ledger(platform, "acme", 2)
    assert [(e.reason, e.counterpart_id) for e in given] == [
        ("transfer_in", acme.id),
        ("transfer_out", acme.id),
    ]
    assert [(e.reason, e.counterpart_id) for e in taken] == [
        ("transfer_out", bayi.id),
        ("transfer_in", bayi.id),
    ]


def test_password_changed_by_another_process_stops_working_after_the_revalidation_window(
    db: Database,
) -> None:
    import time

    serving = make_platform(db, auth_revalidate_seconds=0.2)
    admin = make_platform(db)
    add_customer(serving)
    serving.authenticate("acme", PASSWORD)
    users.set_password(admin, "acme", "changed-elsewhere")
    serving.authenticate("acme", PASSWORD)  # still inside the window
    time.sleep(0.25)
    with pytest.raises(DomainError):
        serving.authenticate("acme", PASSWORD)


def test_deactivating_a_user_in_this_process_locks_it_out_at_once(platform: SqlPlatform) -> None:
    add_customer(platform)
    platform.authenticate("acme", PASSWORD)
    users.set_options(platform, "acme", active=False)
    with pytest.raises(DomainError):
        platform.authenticate("acme", PASSWORD)
