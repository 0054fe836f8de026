"""The dispatcher: claims due items lane by lane, hands them to carriers, settles them.

An adapter: the settlement service (service.services.delivery) decides what an item's
state and refund become; the dispatcher moves messages between it and the carrier links,
each claimed batch grouped by the route of its numbers' operators. Inbound (MO) messages
polled from the links go to an inbound handler it is given, so SMPP and webhooks can plug
in without touching settlement.

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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from service.delivery.carriers.base import Carrier
from service.delivery.carriers.router import Router
from service.domain.carrier import DeliveryReceipt, InboundMessage, SubmitResult
from service.domain.packages import BULK_LANE, OTP_LANE
from service.services import delivery
from service.services.platform import Platform

log = logging.getLogger("finsms.dispatcher")
HOUSEKEEPING_SECONDS = 60.0
# How often the settle pass looks for items to time out. An item times out an hour or
# more after it was sent, so a few seconds late is nothing; looking on every pass (several
# a second) cost 14% of the dispatcher's time while a large package went out.
EXPIRY_EVERY = timedelta(seconds=5)
EXPIRE_LIMIT = 5000
InboundHandler = Callable[[Sequence[InboundMessage]], None]


class LoggedInbound:
    """The default inbound handler: logs each MO message at INFO and counts them.

    Storing MO messages (and an opt-out list from them) is a later issue; a handler that
    stores them replaces this one, given to the Dispatcher.
    """

    def __init__(self) -> None:
        self.received = 0

    def __call__(self, messages: Sequence[InboundMessage]) -> None:
        """Log and count."""
        self.received += len(messages)
        for m in messages:
            # The text is the subscriber's and may be personal: its length, not the text.
            log.info(
                "inbound message %s on %s from %s to %s (%d characters)",
                m.carrier_ref,
                m.link,
                m.source,
                m.destination,
                len(m.text),
            )


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
    """Drives items from waiting to a final state through carrier links."""

    def __init__(
        self,
        platform: Platform,
        carriers: Carrier | Router,
        *,
        batch: int | None = None,
        owner: str | None = None,
        inbound: InboundHandler | None = None,
    ) -> None:
        self.platform = platform
        self.router = carriers if isinstance(carriers, Router) else Router.single(carriers)
        self.inbound = inbound or LoggedInbound()
        self.batch = batch or platform.settings.claim_batch
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._maintenance_lock = threading.Lock()
        self._next_housekeeping = 0.0
        self._next_expiry: datetime | None = None  # on the platform's clock; None: now

    def send_lane(self, lane: int) -> int:
        """Claim and hand over one batch of a lane; how many items went."""
        claimed = delivery.claim(self.platform, self.owner, lane, self.batch)
        if not claimed:
            return 0
        results: list[SubmitResult] = []
        failed: Exception | None = None
        for carrier, group in self.router.split(claimed):
            try:
                results.extend(carrier.submit(group))
            except Exception as error:  # the other links' answers must still be recorded
                log.exception("carrier link %s failed a submission", carrier.name)
                failed = failed or error
        # The carrier has the items now: what it answered must be recorded, so retry (the
        # owner/state fence makes a repeat harmless) rather than strand them in "sending".
        # Items of a link that failed stay "sending": perhaps handed over, never sent
        # again; their receipts settle them, or they time out and are refunded.
        if results:
            _retry(lambda: delivery.record_submissions(self.platform, self.owner, results))
        if failed is not None:
            raise failed
        return len(claimed)

    def settle(self) -> int:
        """Apply the carriers' receipts, time out what never got one, take inbound
        messages; once a minute, housekeeping."""
        with self._maintenance_lock:
            done = self._apply_receipts() + self._expire_when_due()
            done += self._take_inbound()
            if time.monotonic() >= self._next_housekeeping:
                self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                delivery.forget_old_fingerprints(self.platform)
                # Refunds a policy holds back (facade: 48 hours) come due with no event
                # that would settle their package: a minute late is soon enough.
                delivery.refund_due_items(self.platform)
            return done

    def _expire_when_due(self) -> int:
        """Time out what is due, at most every EXPIRY_EVERY (at once again after a full
        chunk). On the platform's clock, so that a test's clock moves it too."""
        now = self.platform.clock.now()
        if self._next_expiry is not None and now < self._next_expiry:
            return 0
        expired = delivery.expire(self.platform, EXPIRE_LIMIT)
        self._next_expiry = now if expired >= EXPIRE_LIMIT else now + EXPIRY_EVERY
        return expired

    def _apply_receipts(self) -> int:
        polled = [(carrier, carrier.poll_receipts()) for carrier in self.router.carriers]
        receipts = [r for _, batch in polled for r in batch]
        try:
            applied = delivery.apply_reports(self.platform, receipts)
        except Exception:
            for carrier, batch in polled:  # not lost: the next pass applies them
                if batch:
                    carrier.requeue(batch)
            raise
        if applied.early:  # their submissions are not recorded yet: next pass
            _requeue_to_their_links(polled, applied.early)
        if applied.unknown:
            log.warning("%d delivery reports for unknown references dropped", applied.unknown)
        return applied.settled

    def _take_inbound(self) -> int:
        taken = 0
        for carrier in self.router.carriers:
            messages = carrier.poll_inbound()
            if messages:
                self.inbound(messages)
                taken += len(messages)
        return taken

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
        self.platform.otp_doorbell.set()  # the OTP lane may be waiting on it
        for thread in self._threads:
            thread.join(timeout)
        for carrier in self.router.carriers:
            carrier.close()

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
            pause = pause_after(
                sent, settled, self.batch, settings.poll_interval, settings.batch_wait
            )
            if lane == OTP_LANE and pause == settings.poll_interval:
                # Idle: an OTP created in this process rings; one created elsewhere waits
                # for the poll. After a pass that sent, the batching window stays.
                self.platform.otp_doorbell.wait(pause)
                self.platform.otp_doorbell.clear()
            else:
                self._stop.wait(pause)


def _requeue_to_their_links(
    polled: Sequence[tuple[Carrier, Sequence[DeliveryReceipt]]], back: Sequence[DeliveryReceipt]
) -> None:
    """Hand receipts back to the links they were polled from."""
    wanted = {id(r) for r in back}  # the very objects polled: equal receipts may repeat
    for carrier, batch in polled:
        mine = [r for r in batch if id(r) in wanted]
        if mine:
            carrier.requeue(mine)


def pause_after(sent: int, settled: int, batch: int, idle: float, batch_wait: float) -> float:
    """Seconds to wait before the next pass: none while a backlog fills whole batches, a
    short batching window while items trickle in, the idle poll when there was nothing."""
    if sent >= batch:
        return 0.0
    if sent or settled:
        return batch_wait
    return idle
