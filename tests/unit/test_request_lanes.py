"""Which application slot a request takes turns in: large bodies have a lane of their own."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from service.server import FinsmsWorker


@dataclass
class FakeRequest:
    """What the worker reads of a gunicorn request."""

    headers: list[tuple[str, str]] = field(default_factory=list)


def worker(large_bytes: int) -> FinsmsWorker:
    """A worker's lanes without a gunicorn around it."""
    w = FinsmsWorker.__new__(FinsmsWorker)
    w._app_slots = threading.BoundedSemaphore(1)
    w._large_slots = threading.BoundedSemaphore(1)
    w._large_bytes = large_bytes
    return w


def read(size: int) -> FakeRequest:
    """A request whose body a reader thread has read."""
    req = FakeRequest()
    req.finsms_body_size = size  # type: ignore[attr-defined]
    return req


@pytest.mark.parametrize(
    ("req", "large"),
    [
        (read(100), False),
        (read(1024), False),
        (read(1025), True),
        (FakeRequest([("CONTENT-LENGTH", "5000")]), True),  # readers off: as announced
        (FakeRequest([("CONTENT-LENGTH", "10")]), False),
        (FakeRequest(), False),  # no body
    ],
)
def test_a_body_over_the_threshold_takes_the_large_lane(req: FakeRequest, large: bool) -> None:
    w = worker(1024)
    assert (w.slots_for(req) is w._large_slots) is large


def test_without_a_threshold_every_request_shares_one_lane() -> None:
    w = worker(0)
    assert w.slots_for(read(10**8)) is w._app_slots
