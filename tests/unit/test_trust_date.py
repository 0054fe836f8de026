"""trustDate: an OTP is not sent to a number whose SIM changed after it; the rule, the
guard in front of a link, the simulator's check by rule, and the router's use of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from service.config import Settings, SettingsError
from service.delivery.carriers.base import SimSwapCheck
from service.delivery.carriers.router import Router
from service.delivery.carriers.simulator import SimulatorCarrier, parse_rules
from service.delivery.carriers.trust import TrustGuard
from service.domain import trust
from service.domain.carrier import Submission, SubmitResult
from service.services.clock import FixedClock

NOW = datetime(2026, 3, 2, 8, 0)
SWAPPED, UNKNOWN, PLAIN = "905321111166", "905321111177", "905321111101"


def otp(item_id: int, target: str, trust_date: datetime | None) -> Submission:
    return Submission(item_id, 1, target, "Kod: 1234", 0, 1, 0, "BANKA", 3, None, trust_date)


def simulator() -> SimulatorCarrier:
    rules = parse_rules("66=simswap,77=simunknown")
    return SimulatorCarrier(FixedClock(NOW), rules, report_delay=0)


class NoCheckLink:
    """A link that cannot check SIM changes: it records what it submits, and is a
    simulator for everything else a link does."""

    name = "plain"

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.inner = SimulatorCarrier(FixedClock(NOW))

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        self.sent += [s.item_id for s in batch]
        return [SubmitResult(s.item_id, True, f"ref-{s.item_id}") for s in batch]

    def __getattr__(self, attr: str) -> Any:
        if attr == "sim_changed_since":  # the one capability this link lacks
            raise AttributeError(attr)
        return getattr(self.inner, attr)


class BrokenCheckLink(NoCheckLink):
    def sim_changed_since(self, number: str, since: datetime) -> bool | None:
        raise TimeoutError("operator did not answer")


@pytest.mark.parametrize(
    ("changed", "send_unchecked", "error"),
    [
        (True, False, trust.SIM_CHANGED),
        (True, True, trust.SIM_CHANGED),
        (False, False, None),
        (None, False, trust.SIM_CHECK_UNAVAILABLE),
        (None, True, None),
    ],
)
def test_the_rule_refuses_a_changed_sim_and_by_default_an_unknown_one(
    changed: bool | None, send_unchecked: bool, error: str | None
) -> None:
    assert trust.refusal(changed, send_unchecked) == error


def test_the_simulator_reports_sim_changes_by_rule() -> None:
    sim = simulator()
    assert isinstance(sim, SimSwapCheck)
    assert sim.sim_changed_since(SWAPPED, NOW - timedelta(days=1)) is True
    assert sim.sim_changed_since(SWAPPED, NOW - timedelta(minutes=30)) is False  # after it
    assert sim.sim_changed_since(UNKNOWN, NOW - timedelta(days=1)) is None
    assert sim.sim_changed_since(PLAIN, NOW - timedelta(days=1)) is False


def test_the_guard_rejects_a_swapped_sim_and_sends_the_rest() -> None:
    sim = simulator()
    day_ago = NOW - timedelta(days=1)
    batch = [otp(1, SWAPPED, day_ago), otp(2, PLAIN, day_ago), otp(3, SWAPPED, None)]
    results = {r.item_id: r for r in TrustGuard(sim).submit(batch)}
    assert (results[1].accepted, results[1].error) == (False, trust.SIM_CHANGED)
    assert results[2].accepted and results[3].accepted  # no trustDate: no check
    assert sim.submitted == 2  # the refused one never reached the operator
    late = TrustGuard(sim).submit([otp(4, SWAPPED, NOW - timedelta(minutes=5))])
    assert late[0].accepted  # trusted after the change


def test_without_a_check_an_otp_with_a_trust_date_is_refused_unless_configured() -> None:
    link = NoCheckLink()
    assert not isinstance(link, SimSwapCheck)
    [refused] = TrustGuard(link).submit([otp(1, PLAIN, NOW)])
    assert (refused.accepted, refused.error) == (False, trust.SIM_CHECK_UNAVAILABLE)
    assert link.sent == []
    [sent] = TrustGuard(link, send_unchecked=True).submit([otp(2, PLAIN, NOW)])
    assert sent.accepted and link.sent == [2]


def test_a_check_that_fails_counts_as_unknown(caplog: pytest.LogCaptureFixture) -> None:
    link = BrokenCheckLink()
    [result] = TrustGuard(link).submit([otp(1, PLAIN, NOW)])
    assert result.error == trust.SIM_CHECK_UNAVAILABLE and link.sent == []
    assert "SIM-change check failed" in caplog.text


def test_the_guard_is_the_link_for_everything_but_submit() -> None:
    sim = simulator()
    guard = TrustGuard(sim)
    assert guard.name == sim.name and guard.available() is sim.available()


def test_the_router_guards_only_groups_with_a_trust_date() -> None:
    sim = simulator()
    router = Router({"simulator": sim})
    [(plain, _)] = router.split([otp(1, PLAIN, None)])
    assert plain is sim  # bulk traffic pays nothing
    [(guarded, _)] = router.split([otp(1, SWAPPED, NOW - timedelta(days=1))])
    assert isinstance(guarded, TrustGuard)
    assert guarded.submit([otp(1, SWAPPED, NOW - timedelta(days=1))])[0].accepted is False


def test_the_unchecked_policy_is_a_setting_with_two_values() -> None:
    assert Settings().trust_date_unchecked == "refuse"
    assert Settings(trust_date_unchecked="send").trust_date_unchecked == "send"
    with pytest.raises(SettingsError, match="FINSMS_TRUST_DATE_UNCHECKED"):
        Settings(trust_date_unchecked="maybe")


def test_the_router_built_from_settings_follows_the_unchecked_policy() -> None:
    from service.delivery.carriers.registry import build_router
    from tests.unit.memory_platform import MemoryPlatform

    lenient = MemoryPlatform(settings=Settings(trust_date_unchecked="send"))
    assert build_router(lenient.as_platform).send_unchecked is True
    assert build_router(MemoryPlatform().as_platform).send_unchecked is False
