"""Heartbeats of the dispatcher processes: how many share the carrier links right now.

Each dispatcher (a `finsms worker`, or the one embedded in a `finsms serve` worker) writes
its row every few seconds; a worker not seen for LIVE_BEATS beats is taken for gone. A
link's TPS and binds are totals for the platform, divided among the live workers.
"""

from __future__ import annotations

from datetime import timedelta

from service.services.platform import Platform

LIVE_BEATS = 3  # a worker silent for this many beats is counted out
FORGET_BEATS = 60  # and its row deleted after this many


def heartbeat(platform: Platform, worker_id: str, host: str, pid: int, every: float) -> int:
    """Record that this worker is alive; how many workers are (itself included)."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        tx.workers.beat(worker_id, host, pid, now)
        tx.workers.forget_before(now - timedelta(seconds=every * FORGET_BEATS))
        return max(1, tx.workers.live(now - timedelta(seconds=every * LIVE_BEATS)))


def leave(platform: Platform, worker_id: str) -> None:
    """Forget a worker that stops, so the others take over its share at once."""
    with platform.uow.write() as tx:
        tx.workers.leave(worker_id)
