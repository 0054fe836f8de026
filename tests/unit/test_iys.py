"""İYS on the in-memory unit of work: settings, consents, the commercial rule at package
creation, MO opt-outs as refusals, the sync pass with the simulator, and the rules."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.config import Settings, SettingsError
from service.delivery.iys.simulator import SimulatedIys, SimulatorError, parse_rules
from service.domain import iys as rules
from service.domain.constants import (
    ExitType,
    IysSource,
    IysState,
    SenderState,
)
from service.domain.errors import DomainError, Err
from service.domain.iys import Brand, ConsentStatus
from service.domain.principal import Principal, visible_to
from service.domain.queries import PackageRef
from service.services import credit, iys, mo, senders, sms, users
from service.services.clock import FixedClock
from service.services.platform import Platform
from tests.factories import send_request
from tests.unit.memory_platform import service_platform

A, B, C = "905321111101", "905321111102", "905441111199"
NOW = datetime(2026, 3, 2, 8, 0)


@pytest.fixture
def platform() -> Platform:
    return service_platform()


def customer(platform: Platform, *, codes: bool = True) -> Principal:
    users.create_user(platform, "acme", "password", 3, None)
    credit.mint(platform, "acme", 100)
    senders.add_sender(platform, "acme", "ACME", SenderState.APPROVED)
    if codes:
        iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    return platform.auth.principal_of("acme")


def approve(platform: Platform, *numbers: str, status: ConsentStatus = ConsentStatus.ONAY) -> None:
    """Record consents and let the simulated İYS accept them."""
    for number in numbers:
        iys.add_consent(platform, "acme", number, status, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "w1")


def balance(platform: Platform) -> int:
    return credit.balance_of(platform, platform.auth.principal_of("acme").user_id)


def test_a_commercial_package_goes_only_to_approved_numbers_and_charges_only_them(
    platform: Platform,
) -> None:
    who = customer(platform)
    approve(platform, A)
    iys.add_consent(platform, "acme", B, ConsentStatus.ONAY, IysSource.HS_WEB)  # not synced
    package_id = sms.create_package(platform, who, send_request([A, B, C], commercial=True))
    with platform.uow.read() as tx:
        recipients = tx.packages.recipients(package_id)
        package = tx.packages.find(visible_to(who), PackageRef("id", package_id))
    assert [r.target for r in recipients] == [A]
    assert package is not None and package.invalid_count == 2 and package.credit == 1
    assert balance(platform) == 99


def test_a_refused_or_rejected_consent_does_not_count(platform: Platform) -> None:
    who = customer(platform)
    approve(platform, A, status=ConsentStatus.RET)
    iys.add_consent(platform, "acme", C, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys("99=rejected"), "w1")
    with pytest.raises(DomainError) as refused:
        sms.create_package(platform, who, send_request([A, C], commercial=True))
    assert refused.value.err is Err.ERR_EMPTY_SMS_PACKAGE
    assert balance(platform) == 100


def test_a_package_that_is_not_commercial_is_not_checked(platform: Platform) -> None:
    who = customer(platform, codes=False)
    sms.create_package(platform, who, send_request([A, B], commercial=None))
    sms.create_package(platform, who, send_request([A, C], commercial=False))
    assert balance(platform) == 96


@pytest.mark.parametrize(
    ("iys_code", "brand_code", "err"),
    [
        (None, None, Err.ERR_USER_IYS_SETTINGS_NOT_FOUND),
        (None, "5678", Err.ERR_USER_IYS_SETTINGS_NOT_FOUND),
        ("1234", None, Err.ERR_USER_BRAND_CODE_NOT_FOUND),
    ],
)
def test_commercial_without_settings_is_the_specs_error_and_writes_nothing(
    platform: Platform, iys_code: str | None, brand_code: str | None, err: Err
) -> None:
    who = customer(platform, codes=False)
    if iys_code or brand_code:
        iys.save_settings(platform, "acme", iys_code=iys_code, brand_code=brand_code)
    with pytest.raises(DomainError) as refused:
        sms.create_package(platform, who, send_request([A], commercial=True))
    assert refused.value.err is err
    assert balance(platform) == 100


def test_settings_keep_what_is_not_given_and_clear_what_is_blank(platform: Platform) -> None:
    customer(platform)
    iys.save_settings(platform, "acme", brand_code="999")
    saved = iys.show_settings(platform, "acme")
    assert saved is not None and (saved.iys_code, saved.brand_code) == ("1234", "999")
    iys.save_settings(platform, "acme", brand_code="")
    saved = iys.show_settings(platform, "acme")
    assert saved is not None and saved.brand_code is None
    with pytest.raises(DomainError) as bad:
        iys.save_settings(platform, "acme", iys_code="12a")
    assert bad.value.field == "iysCode"


def test_consent_states_give_each_numbers_iys_state(platform: Platform) -> None:
    who = customer(platform)
    approve(platform, A)
    iys.add_consent(platform, "acme", B, ConsentStatus.ONAY, IysSource.HS_WEB)
    with platform.uow.read() as tx:
        states = iys.consent_states(tx, who.user_id, [A, B, C])
        approved = iys.approved_numbers(tx, who.user_id, [A, B, C])
    assert states == {A: IysState.ACCEPTED, B: IysState.WAITING_SYNC}
    assert approved == {A}


def test_a_changed_consent_waits_again_and_an_unchanged_one_changes_nothing(
    platform: Platform,
) -> None:
    who = customer(platform)
    approve(platform, A)
    with platform.uow.write() as tx:
        same = iys.consent(who.user_id, A, ConsentStatus.ONAY, IysSource.HS_WEB, NOW)
        assert iys.record_consent(tx, same, NOW) is False
        refusal = iys.consent(who.user_id, A, ConsentStatus.RET, IysSource.HS_WEB, NOW)
        assert iys.record_consent(tx, refusal, NOW) is True
        assert iys.consent_states(tx, who.user_id, [A]) == {A: IysState.WAITING_SYNC}


def test_hs_karar_is_refused_as_a_first_consent(platform: Platform) -> None:
    who = customer(platform)
    with pytest.raises(DomainError) as refused, platform.uow.write() as tx:
        first = iys.consent(who.user_id, A, ConsentStatus.RET, IysSource.HS_KARAR, NOW)
        iys.record_consent(tx, first, NOW)
    assert refused.value.field == "src"


def test_an_mo_opt_out_is_refused_to_iys_with_exit_type_mo(platform: Platform) -> None:
    from service.domain.carrier import InboundMessage

    who = customer(platform)
    approve(platform, A)
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "IPTAL")
    mo.receive(platform, [InboundMessage(A, "2222", "IPTAL", NOW, "sim", "r1")])
    (found,) = [c for c in iys.consents(platform, "acme") if c.recipient == A]
    assert (found.status, found.source, found.exit_type, found.iys_state) == (
        "RET",
        int(IysSource.HS_MESAJ),
        int(ExitType.MO),
        int(IysState.WAITING_SYNC),
    )
    with platform.uow.read() as tx:
        assert iys.approved_numbers(tx, who.user_id, [A]) == set()


def test_sync_without_settings_keeps_the_consent_waiting_with_the_error(
    platform: Platform,
) -> None:
    customer(platform, codes=False)
    iys.add_consent(platform, "acme", A, ConsentStatus.ONAY, IysSource.HS_WEB)
    done = iys.sync_consents(platform, SimulatedIys(), "w1")
    (found,) = iys.consents(platform, "acme")
    assert done.retried == 1 and found.iys_state == IysState.WAITING_SYNC
    assert found.last_error == "ERR_USER_IYS_SETTINGS_NOT_FOUND" and found.attempts == 1
    assert found.next_sync_at == NOW + rules.RETRY_FIRST


def test_a_failed_call_is_retried_with_backoff_then_accepted(platform: Platform) -> None:
    customer(platform)
    clock = platform.clock
    assert isinstance(clock, FixedClock)
    iys.add_consent(platform, "acme", A, ConsentStatus.ONAY, IysSource.HS_WEB)
    failing = SimulatedIys("01=error")
    assert iys.sync_consents(platform, failing, "w1").retried == 1
    assert iys.sync_consents(platform, failing, "w1").claimed == 0  # not due yet
    clock.advance(seconds=rules.RETRY_FIRST.total_seconds())
    iys.sync_consents(platform, failing, "w1")
    (found,) = iys.consents(platform, "acme")
    assert found.attempts == 2 and found.next_sync_at == clock.now() + 2 * rules.RETRY_FIRST
    clock.advance(minutes=1)
    assert iys.sync_consents(platform, SimulatedIys(), "w1").accepted == 1


def test_a_consent_changed_during_its_sync_is_sent_again(platform: Platform) -> None:
    who = customer(platform)
    iys.add_consent(platform, "acme", A, ConsentStatus.ONAY, IysSource.HS_WEB)
    with platform.uow.write() as tx:
        (claimed,) = tx.iys.claim_pending("w1", NOW, NOW + rules.SYNC_LEASE, 10)
        refusal = iys.consent(who.user_id, A, ConsentStatus.RET, IysSource.HS_WEB, NOW)
        iys.record_consent(tx, refusal, NOW)
        assert not tx.iys.finish_sync("w1", claimed.id, int(IysState.ACCEPTED), None, 0, None, NOW)
        assert tx.iys.claim_pending("w2", NOW, NOW + rules.SYNC_LEASE, 10)[0].status == "RET"


def test_retry_backoff_doubles_up_to_an_hour() -> None:
    assert [rules.retry_after(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert rules.retry_after(50) == rules.RETRY_MAX


def test_brand_of_names_what_is_missing() -> None:
    settings = rules.IysSettings(1, "1", "2", NOW)
    assert rules.brand_of(settings) == Brand("1", "2")
    with pytest.raises(DomainError) as missing:
        rules.brand_of(rules.IysSettings(1, "1", None, NOW))
    assert missing.value.err is Err.ERR_USER_BRAND_CODE_NOT_FOUND


def test_the_simulator_answers_by_suffix_and_remembers_what_it_accepted(
    platform: Platform,
) -> None:
    customer(platform)
    iys.add_consent(platform, "acme", A, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.add_consent(platform, "acme", C, ConsentStatus.ONAY, IysSource.HS_WEB)
    simulator = SimulatedIys("99=rejected,199=error")
    brand = Brand("1234", "5678")
    consents = {c.recipient: c for c in iys.consents(platform, "acme")}
    (answer,) = simulator.add_consents(brand, [consents[A]])
    assert answer.state == IysState.ACCEPTED
    assert simulator.consent_status(brand, A, "MESAJ") == "ONAY"
    assert simulator.consent_status(brand, B, "MESAJ") is None
    with pytest.raises(SimulatorError):
        simulator.add_consents(brand, [consents[C]])  # "199" beats "99": longest suffix


def test_simulator_rules_and_client_names_are_checked() -> None:
    assert parse_rules(" 99=rejected , 98=error") == {"99": "rejected", "98": "error"}
    with pytest.raises(ValueError, match="x=rejected"):
        parse_rules("x=rejected")
    with pytest.raises(SettingsError, match="FINSMS_IYS_CLIENT"):
        Settings(iys_client="soap")
