"""The facade's words (states, networks, options) and its keys, sends and reports on the
in-memory unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from service.config import Settings, SettingsError
from service.domain import facade as words
from service.domain.apikeys import is_key
from service.domain.constants import (
    Encoding,
    ItemState,
    Operator,
    SenderState,
    SendingType,
    SmsType,
    UserType,
)
from service.domain.encoding import segment
from service.domain.errors import DomainError, Err
from service.domain.pricing import FACADE_PRICING
from service.domain.principal import visible_to
from service.domain.queries import PackageRef
from service.domain.sending import Recipient, SendRequest
from service.services import apikeys, credit, facade, senders, users
from service.services.apikeys import KeyVerifier, RateLimiter
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork

NOW = datetime(2026, 3, 2, 8, 0)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def platform(clock: FixedClock) -> Platform:
    settings = Settings(argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit")
    p = Platform(settings, uow=MemoryUnitOfWork(), clock=clock)
    users.create_user(p, "acme", "password", UserType.STANDARD)
    credit.mint(p, "acme", 100)
    senders.add_sender(p, "acme", "ZETA", SenderState.APPROVED)
    senders.add_sender(p, "acme", "ALFA", SenderState.APPROVED)
    senders.add_sender(p, "acme", "AAAWAIT", SenderState.WAITING)
    return p


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (ItemState.WAITING, "Rapor Bekliyor"),
        (ItemState.SENDING, "Rapor Bekliyor"),
        (ItemState.SENT, "Rapor Bekliyor"),
        (ItemState.DELIVERED, "İletildi"),
        (ItemState.UNDELIVERED, "İletilmedi"),
        (ItemState.REJECTED, "İletilmedi"),
        (ItemState.CANCELLED, "İletilmedi"),
        (ItemState.TIMED_OUT, "Zaman Aşımı"),
    ],
)
def test_every_item_state_has_its_report_word(state: ItemState, word: str) -> None:
    assert words.report_state(state) == word


@pytest.mark.parametrize(
    ("number", "operator", "network"),
    [
        ("905321234567", Operator.TURKCELL, "Turkcell"),
        ("905441234567", Operator.VODAFONE, "Vodafone"),
        ("905051234567", Operator.TURKTELEKOM, "TTMobile"),
        ("905101234567", Operator.NETGSM, "TTMobile"),
        ("905338123456", Operator.TURKCELL, "KKTCell"),
        ("905428123456", Operator.VODAFONE, "Telsim"),
        ("905991234567", None, "Şebeke Dışı"),
    ],
)
def test_networks_by_operator_and_cyprus_prefix(
    number: str, operator: Operator | None, network: str
) -> None:
    assert words.network(number, operator) == network


def test_codings_validity_start_date_and_sender() -> None:
    assert words.coding(None) == Encoding.DEFAULT
    assert words.coding("Turkish") == Encoding.TURKISH
    assert words.validity(None) == 1140 and words.validity("60") == 60
    assert words.start_date(None) is None
    assert words.start_date("2026-03-03T09:00:00Z") == datetime.fromisoformat(
        "2026-03-03T09:00:00+00:00"
    )
    assert words.sender("ACME") == "ACME" and words.sender("") is None
    for call in (
        lambda: words.coding("utf8"),
        lambda: words.coding(1),
        lambda: words.validity(True),
        lambda: words.validity(1441),
        lambda: words.start_date(20260303),
        lambda: words.sender("TWELVE_CHARS"),
        lambda: words.sender("A\x00"),
    ):
        with pytest.raises(DomainError) as caught:
            call()
        assert caught.value.err == Err.ERR_INVALID_PARAM


def test_facade_pricing_counts_characters_not_parts() -> None:
    for text, price in [("a" * 180, 1), ("a" * 181, 2), ("ğ" * 360, 2), ("😀" * 361, 3)]:
        assert FACADE_PRICING.price(text, segment(text, Encoding.DEFAULT)) == price


def _req(sender: str | None = None, text: str = "x") -> SendRequest:
    return SendRequest(
        SmsType.NORMAL, SendingType.SINGLE, False, sender, text, Encoding.DEFAULT, 1140,
        None, None, None, None, None, None, None, (Recipient("905321234567"),),
    )  # fmt: skip


def test_a_send_without_from_uses_the_first_approved_sender(platform: Platform) -> None:
    principal = platform.auth.principal_of("acme")
    package_id = facade.send(platform, principal, _req())
    with platform.uow.read() as tx:
        package = tx.packages.find(visible_to(principal), PackageRef("id", package_id))
    assert package is not None and package.sender == "ALFA" and package.source == "finsms"


def test_a_user_without_approved_sender_is_told_so(platform: Platform) -> None:
    users.create_user(platform, "bare", "password", UserType.STANDARD)
    with pytest.raises(DomainError) as caught:
        facade.send(platform, platform.auth.principal_of("bare"), _req())
    assert caught.value.err == Err.ERR_INVALID_SMS_SENDER


def test_keys_verify_rotate_with_grace_and_revoke(platform: Platform, clock: FixedClock) -> None:
    issued = apikeys.create_key(platform, "acme", "shop", ["10.0.0.0/8"])
    assert is_key(issued.key.key) and issued.key.allowed_ips == ("10.0.0.0/8",)
    verifier = KeyVerifier(platform)
    caller = verifier.verify(issued.key.key, issued.secret, "10.1.2.3")
    assert caller.principal.username == "acme" and caller.key_id == issued.key.id
    with pytest.raises(DomainError):
        verifier.verify(issued.key.key, issued.secret, "192.168.0.1")
    rotated = apikeys.rotate_key(platform, issued.key.key)
    assert rotated.key.previous_until == NOW + timedelta(hours=24)
    verifier.verify(issued.key.key, issued.secret, "10.1.2.3")
    verifier.verify(issued.key.key, rotated.secret, "10.1.2.3")
    clock.advance(hours=24)
    with pytest.raises(DomainError):
        verifier.verify(issued.key.key, issued.secret, "10.1.2.3")
    apikeys.revoke_key(platform, issued.key.key)
    with pytest.raises(DomainError) as caught:
        verifier.verify(issued.key.key, rotated.secret, "10.1.2.3")
    assert caught.value.err == Err.ERR_UNAUTHORIZED_REQUEST
    with pytest.raises(DomainError) as caught:
        apikeys.rotate_key(platform, issued.key.key)
    assert caught.value.err == Err.ERR_API_KEY_NOT_FOUND


def test_keys_of_others_and_unknown_keys_are_not_found(platform: Platform) -> None:
    users.create_user(platform, "other", "password", UserType.STANDARD)
    theirs = apikeys.create_key(platform, "other")
    mine = platform.auth.principal_of("acme")
    for key in (theirs.key.key, "fk_" + "0" * 32, "junk"):
        with pytest.raises(DomainError) as caught:
            apikeys.revoke_key(platform, key, mine.user_id)
        assert caught.value.err == Err.ERR_API_KEY_NOT_FOUND
    with pytest.raises(DomainError):
        apikeys.create_key(platform, "nobody")
    with pytest.raises(DomainError):
        apikeys.create_key(platform, "acme", allowed_ips=["10.0.0.1/8"])


def test_the_rate_limit_refuses_over_the_limit_with_retry_after(platform: Platform) -> None:
    limiter = RateLimiter(platform.limit_storage, "2/minute")
    limiter.hit("fk_a")
    limiter.hit("fk_a")
    with pytest.raises(DomainError) as caught:
        limiter.hit("fk_a")
    assert caught.value.err == Err.ERR_RATE_LIMITED and caught.value.err.status == 429
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 60
    limiter.hit("fk_b")  # per key


def test_a_rate_that_limits_cannot_read_stops_the_start() -> None:
    with pytest.raises(SettingsError, match="FINSMS_FACADE_RATE_LIMIT"):
        Settings(facade_rate_limit="lots")


def test_a_high_limit_is_taken_in_chunks_and_still_refuses_past_it(platform: Platform) -> None:
    limiter = RateLimiter(platform.limit_storage, "1000/hour")
    assert limiter.chunk == 10
    writes: list[int] = []
    real = limiter.limiter.hit

    def counting(item: Any, *identifiers: str, cost: int = 1) -> bool:
        writes.append(cost)
        return real(item, *identifiers, cost=cost)

    limiter.limiter.hit = counting  # type: ignore[method-assign]
    for _ in range(1000):
        limiter.hit("fk_a")
    assert len(writes) == 100  # one storage write per chunk of ten
    with pytest.raises(DomainError) as caught:
        limiter.hit("fk_a")
    assert caught.value.err == Err.ERR_RATE_LIMITED
    other = RateLimiter(platform.limit_storage, "1000/hour")  # another process: no chunk
    with pytest.raises(DomainError):
        other.hit("fk_a")
