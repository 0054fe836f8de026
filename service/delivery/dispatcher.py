"""The dispatcher: claims due items lane by lane, hands them to the carrier, settles them.

Each lane runs in its own thread so an OTP never waits behind a bulk batch that is still
being handed over. Any number of dispatchers (threads, processes, hosts) may share one
database: claims never overlap.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from service.delivery.carriers import Carrier
from service.domain.packages import BULK_LANE, OTP_LANE
from service.services import delivery
from service.services.platform import Platform

log = logging.getLogger("finsms.dispatcher")
HOUSEKEEPING_SECONDS = 60.0


def _retry(step: Callable[[], object], attempts: int = 5, pause: float = 0.05) -> None:
    """Run a step that is safe to repeat, retrying transient database errors."""
    for attempt in range(attempts):
        try:
            step()
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            log.warning("retrying after a failed attempt", exc_info=True)
            time.sleep(pause * 2**attempt)


class Dispatcher:
    """Drives items from waiting to a final state through one carrier."""

    def __init__(
        self,
        platform: Platform,
        carrier: Carrier,
        *,
        batch: int | None = None,
        owner: str | None = None,
    ) -> None:
        self.platform = platform
        self.carrier = carrier
        self.batch = batch or platform.settings.claim_batch
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._maintenance_lock = threading.Lock()
        self._next_housekeeping = 0.0

    def send_lane(self, lane: int) -> int:
        """Claim and hand over one batch of a lane; how many items went."""
        claimed = delivery.claim(self.platform, self.owner, lane, self.batch)
        if not claimed:
            return 0
        results = self.carrier.submit(claimed)
        # The carrier has the items now: what it answered must be recorded, so retry (the
        # owner/state fence makes a repeat harmless) rather than strand them in "sending".
        _retry(lambda: delivery.record_submissions(self.platform, self.owner, results))
        return len(claimed)

    def settle(self) -> int:
        """Apply the carrier's delivery reports and time out what never got one."""
        with self._maintenance_lock:
            reports = self.carrier.poll_reports()
            try:
                applied = delivery.apply_reports(self.platform, reports)
            except Exception:
                self.carrier.requeue(reports)  # not lost: the next pass applies them
                raise
            if applied.early:  # their submissions are not recorded yet: next pass
                self.carrier.requeue(applied.early)
            if applied.unknown:
                log.warning("%d delivery reports for unknown references dropped", applied.unknown)
            done = applied.settled + delivery.expire(self.platform)
            if time.monotonic() >= self._next_housekeeping:
                self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                delivery.forget_old_fingerprints(self.platform)
            return done

    def run_once(self) -> int:
        """One pass over both lanes, OTP first, then reports: how much work was done."""
        return self.send_lane(OTP_LANE) + self.send_lane(BULK_LANE) + self.settle()

    def drain(self, max_passes: int = 10_000) -> None:
        """Run passes until nothing is left to do now (for tests and one-shot runs)."""
        for _ in range(max_passes):
            if not self.run_once():
                return

    def start(self) -> None:
        """Run in background threads: one per lane, the bulk one also settles reports."""
        for name, lane, settles in (("otp", OTP_LANE, False), ("bulk", BULK_LANE, True)):
            thread = threading.Thread(
                target=self._loop, args=(lane, settles), name=f"finsms-dispatch-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish and wait for them."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.carrier.close()

    def _loop(self, lane: int, settles: bool) -> None:
        settings = self.platform.settings
        while not self._stop.is_set():
            try:
                sent = self.send_lane(lane)
                settled = self.settle() if settles else 0
            except Exception:  # keep dispatching; the failed pass is retried
                log.exception("dispatch pass failed (lane %s)", lane)
                time.sleep(settings.poll_interval * 5)
                continue
            self._stop.wait(
                pause_after(sent, settled, self.batch, settings.poll_interval, settings.batch_wait)
            )


def pause_after(sent: int, settled: int, batch: int, idle: float, batch_wait: float) -> float:
    """Seconds to wait before the next pass: none while a backlog fills whole batches, a
    short batching window while items trickle in, the idle poll when there was nothing."""
    if sent >= batch:
        return 0.0
    if sent or settled:
        return batch_wait
    return idle
