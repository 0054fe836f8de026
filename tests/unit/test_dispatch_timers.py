"""When the dispatcher looks for timeouts: on a timer of the platform's clock, not every pass."""

from __future__ import annotations

import pytest

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import EXPIRY_EVERY, Dispatcher
from service.services import delivery
from tests.conftest import counted
from tests.unit.memory_platform import MemoryPlatform


def test_timeouts_are_looked_for_once_per_interval_of_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform = MemoryPlatform()
    calls: list[int] = []
    monkeypatch.setattr(delivery, "expire", counted(calls, delivery.expire))
    dispatcher = Dispatcher(platform.as_platform, SimulatorCarrier(platform.clock), owner="w")
    for _ in range(3):
        dispatcher.settle()
    assert len(calls) == 1
    platform.clock.advance(seconds=EXPIRY_EVERY.total_seconds() - 1)
    dispatcher.settle()
    assert len(calls) == 1
    platform.clock.advance(seconds=1)
    dispatcher.settle()
    assert len(calls) == 2


def test_a_full_chunk_of_timeouts_is_followed_at_once_by_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform = MemoryPlatform()
    user = platform.add_user(10)
    pkg = platform.add_package(user, [f"90532000000{n}" for n in range(3)])
    dispatcher = Dispatcher(platform.as_platform, SimulatorCarrier(platform.clock, {"*": "silent"}))
    dispatcher.run_once()
    platform.clock.advance(minutes=1440 + 61)
    monkeypatch.setattr("service.delivery.dispatcher.EXPIRE_LIMIT", 2)
    assert dispatcher.settle() == 2
    assert dispatcher.settle() == 1  # no waiting for the timer: the chunk was full
    assert set(platform.states(pkg).values()) == {5}
