"""İYS on SQLite and PostgreSQL: the consent store and its set-based lookups, the
commercial rule through /sms/create and /sms/list-item, periodic runs asking again, the
sync pass from the dispatcher's housekeeping, and workers that never send a consent twice."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from service.delivery.carriers.registry import make_dispatcher
from service.delivery.iys.simulator import SimulatedIys
from service.domain import iys as rules
from service.domain.constants import ExitType, IysSource, IysState
from service.domain.errors import DomainError, Err
from service.domain.iys import Brand, Consent, ConsentStatus, SyncResult
from service.services import iys, schedules
from service.services.clock import FixedClock
from service.store.schema import items, iys_consents
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, balance, call, count, package_row, principal

A, B, C = "905321111101", "905321111102", "905441111199"
T0 = datetime(2026, 5, 4, 9, 0)


def with_codes(platform: SqlPlatform, username: str = "acme") -> None:
    add_customer(platform, username, balance=100)
    iys.save_settings(platform, username, iys_code="1234", brand_code="5678")


def approve(platform: SqlPlatform, *numbers: str, username: str = "acme") -> None:
    for number in numbers:
        iys.add_consent(platform, username, number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys("99=rejected"), "w1")


def test_lookups_are_one_query_for_100000_numbers(platform: SqlPlatform) -> None:
    with_codes(platform)
    approve(platform, A, C)
    iys.add_consent(platform, "acme", B, ConsentStatus.ONAY, IysSource.HS_WEB)
    numbers = [f"90532{n:07d}" for n in range(100_000)] + [A, B, C]
    me = principal(platform).user_id
    with platform.uow.read() as tx:
        assert iys.approved_numbers(tx, me, numbers) == {A}
        states = iys.consent_states(tx, me, numbers)
    assert states == {A: IysState.ACCEPTED, B: IysState.WAITING_SYNC, C: IysState.REJECTED}


def test_consents_are_per_user(platform: SqlPlatform) -> None:
    with_codes(platform)
    with_codes(platform, "other")
    approve(platform, A)
    with platform.uow.read() as tx:
        assert iys.approved_numbers(tx, principal(platform, "other").user_id, [A]) == set()


def test_one_consent_per_user_recipient_and_type(platform: SqlPlatform) -> None:
    with_codes(platform)
    for status in (ConsentStatus.ONAY, ConsentStatus.RET, ConsentStatus.ONAY):
        iys.add_consent(platform, "acme", "05321111101", status, IysSource.HS_WEB)
    assert count(platform, iys_consents) == 1


def test_commercial_sms_create_sends_to_approved_numbers_only(platform: SqlPlatform) -> None:
    with_codes(platform)
    approve(platform, A, C)  # C is rejected by İYS
    me = principal(platform)
    body = {**SMS, "sendingType": 1, "numbers": [A, B, C, "123"], "commercial": True}
    pkg = call(platform, me, "sms/create", **body)["pkgID"]
    row = package_row(platform, pkg)
    assert (row["recipients"], row["invalid_count"], row["credit"]) == (1, 3, 1)
    assert balance(platform) == 99
    listed = call(platform, me, "sms/list-item", pkgID=pkg)["list"]
    assert [i["target"] for i in listed] == [A]
    stats = call(platform, me, "sms/list", ids=[pkg])["list"][0]["statistics"]
    assert (stats["rCount"], stats["invalid"]) == (1, 3)


@pytest.mark.parametrize(
    ("codes", "err"),
    [
        ({}, Err.ERR_USER_IYS_SETTINGS_NOT_FOUND),
        ({"iys_code": "1"}, Err.ERR_USER_BRAND_CODE_NOT_FOUND),
    ],
)
def test_commercial_without_settings_is_refused_and_writes_nothing(
    platform: SqlPlatform, codes: dict[str, str], err: Err
) -> None:
    add_customer(platform, balance=100)
    if codes:
        iys.save_settings(platform, "acme", **codes)
    with pytest.raises(DomainError) as refused:
        call(
            platform, principal(platform), "sms/create", **{**SMS, "numbers": [A], "commercial": 1}
        )
    assert refused.value.err is err
    assert (balance(platform), count(platform, items)) == (100, 0)


def test_a_commercial_periodic_run_asks_for_consent_again(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    with_codes(platform)
    approve(platform, A, B)
    body = {
        **SMS,
        "sendingType": 1,
        "numbers": [A, B],
        "commercial": True,
        "periodicSettings": {"periodType": 1},
    }
    first = call(platform, principal(platform), "sms/create", **body)["pkgID"]
    iys.add_consent(platform, "acme", B, ConsentStatus.RET, IysSource.HS_WEB)  # B refuses
    clock.advance(days=1)
    assert schedules.create_due_runs(platform) == 1
    with platform.store.read() as conn:
        run = (
            conn.execute(select(items.c.target).where(items.c.package_id != first)).scalars().all()
        )
    assert run == [A]


def test_the_dispatchers_housekeeping_syncs_waiting_consents(db: Database) -> None:
    platform = make_platform(db, iys_simulator_rules="99=rejected")
    with_codes(platform)
    for number in (A, C):
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    make_dispatcher(platform).settle()
    states = {c.recipient: c.iys_state for c in iys.consents(platform, "acme")}
    assert states == {A: IysState.ACCEPTED, C: IysState.REJECTED}


class SlowIys(SimulatedIys):
    """A simulated İYS that counts every consent it is sent and takes its time."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def add_consents(self, brand: Brand, consents: list[Consent]) -> list[SyncResult]:  # type: ignore[override]
        self.sent.extend(c.recipient for c in consents)
        threading.Event().wait(0.05)
        return super().add_consents(brand, consents)


def test_workers_never_send_one_consent_twice(db: Database) -> None:
    platform = make_platform(db)
    with_codes(platform)
    with platform.uow.write() as tx:
        for n in range(300):
            new = iys.consent(
                principal(platform).user_id,
                f"90532{n:07d}",
                ConsentStatus.ONAY,
                IysSource.HS_WEB,
                T0,
            )
            iys.record_consent(tx, new, T0)
    client = SlowIys()
    workers = [
        threading.Thread(
            target=iys.sync_consents, args=(platform, client, f"w{i}"), kwargs={"batch": 50}
        )
        for i in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(client.sent) == sorted(set(client.sent)) and len(client.sent) == 300
    states = {c.iys_state for c in iys.consents(platform, "acme", limit=1000)}
    assert states == {IysState.ACCEPTED}


def test_a_claim_left_by_a_dead_worker_is_taken_after_its_lease(db: Database) -> None:
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    with_codes(platform)
    iys.add_consent(platform, "acme", A, ConsentStatus.ONAY, IysSource.HS_WEB)
    with platform.uow.write() as tx:
        assert len(tx.iys.claim_pending("dead", T0, T0 + rules.SYNC_LEASE, 10)) == 1
    assert iys.sync_consents(platform, SimulatedIys(), "w2").claimed == 0
    clock.advance(seconds=rules.SYNC_LEASE.total_seconds() + 1)
    assert iys.sync_consents(platform, SimulatedIys(), "w2").accepted == 1
    with platform.uow.write() as tx:  # the dead worker's late answer is fenced out
        (late,) = iys.consents(platform, "acme")
        assert not tx.iys.finish_sync("dead", late.id, -2, "late", 0, None, T0)
    assert iys.consents(platform, "acme")[0].iys_state == IysState.ACCEPTED


def test_an_mo_opt_out_is_an_iys_refusal(platform: SqlPlatform) -> None:
    from service.domain.carrier import InboundMessage
    from service.services import mo

    with_codes(platform)
    approve(platform, A)
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "IPTAL")
    mo.receive(platform, [InboundMessage(A, "2222", "IPTAL", T0, "sim", "r1")])
    (refusal,) = iys.consents(platform, "acme")
    assert (refusal.status, refusal.exit_type, refusal.iys_state) == ("RET", ExitType.MO, -1)
    assert (refusal.source, refusal.consent_date) == (IysSource.HS_MESAJ, T0)
    iys.sync_consents(platform, SimulatedIys(), "w1")  # the refusal reaches İYS
    assert iys.consents(platform, "acme")[0].iys_state == IysState.ACCEPTED


def test_a_commercial_periodic_run_reads_the_blacklist_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.store.repositories.contacts import SqlBlacklist

    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    with_codes(platform)
    approve(platform, A, B)
    body = {**SMS, "numbers": [A, B], "commercial": True, "periodicSettings": {"periodType": 1}}
    call(platform, principal(platform), "sms/create", **body)
    reads: list[int] = []
    real = SqlBlacklist.blocked

    def counted(self: SqlBlacklist, *args: Any) -> set[str]:
        reads.append(1)
        return real(self, *args)

    monkeypatch.setattr(SqlBlacklist, "blocked", counted)
    clock.advance(days=1)
    assert schedules.create_due_runs(platform) == 1
    assert reads == [1]  # the run's own check; writing the package does not ask again
