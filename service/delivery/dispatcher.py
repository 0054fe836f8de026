"""The dispatcher: claims due items lane by lane, hands them to carriers, settles them.

An adapter: the settlement service (service.services.delivery) decides what an item's
state and refund become; the dispatcher moves messages between it and the carrier links,
each claimed batch grouped by the route of its numbers' operators. Each link is opened
with a LinkEvents of its own: the receipts it hands over are committed to the durable
receipt inbox before the call returns (a killed worker loses none), and the settle pass
applies them from there; inbound (MO) messages go to the inbound handler the dispatcher
is given, which must record them durably before returning too.

Each lane runs in its own thread so an OTP never waits behind a bulk batch that is still
being handed over. The bulk lane may run several sender threads (FINSMS_BULK_SENDERS),
each claiming, submitting and recording on its own, so that one batch is on the wire
while another is claimed or recorded; only the first also settles. Any number of
dispatchers (threads, processes, hosts) may share one database: claims never overlap.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from service.delivery import imports as contact_imports
from service.delivery import iys as iys_sync
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.router import Router, held_results
from service.delivery.inbound import StoredInbound
from service.domain.carrier import DeliveryReceipt, InboundMessage, Submission, SubmitResult
from service.domain.packages import BULK_LANE, OTP_LANE
from service.services import delivery, schedules, webhooks, workers
from service.services.platform import Platform

log = logging.getLogger("finsms.dispatcher")
HOUSEKEEPING_SECONDS = 60.0
# How often the settle pass looks for items to time out. An item times out an hour or
# more after it was sent, so a few seconds late is nothing; looking on every pass (several
# a second) cost 14% of the dispatcher's time while a large package went out.
EXPIRY_EVERY = timedelta(seconds=5)
EXPIRE_LIMIT = 5000
InboundHandler = Callable[[Sequence[InboundMessage]], None]
# Receipt batches applied per settle pass at most (each RECEIPT_BATCH receipts).
RECEIPT_ROUNDS = 10
# Bulk sender threads on PostgreSQL when FINSMS_BULK_SENDERS is 0 (see README: measured
# with scripts/bench_dispatch_smpp.py). SQLite has one writer at a time: one sender.
BULK_SENDERS_POSTGRES = 2


@runtime_checkable
class LinkSource(Protocol):
    """Links that may change while the dispatcher runs (the registry's LinkSet)."""

    router: Router
    opener: Callable[[Carrier], None] | None  # called with every link built later

    def refresh(self, workers: int | None = None) -> bool:
        """Re-read the links, given how many workers share them; True if the router changed."""
        ...

    def close(self) -> None:
        """Close every link."""
        ...


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


class DurableLinkEvents:
    """A link's events: receipts committed to the receipt inbox, inbound messages handed
    to the inbound handler, before either call returns. Callable from any thread."""

    def __init__(self, platform: Platform, link: str, inbound: InboundHandler) -> None:
        self.platform = platform
        self.link = link
        self.handler = inbound

    def receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Record receipts (as this link's) in the inbox, committed; raise if not."""
        delivery.record_receipts(self.platform, self.link, receipts)

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Hand MO messages to the inbound handler."""
        if messages:
            self.handler(messages)


class Dispatcher:
    """Drives items from waiting to a final state through carrier links."""

    def __init__(
        self,
        platform: Platform,
        carriers: Carrier | Router | LinkSource,
        *,
        batch: int | None = None,
        owner: str | None = None,
        inbound: InboundHandler | None = None,
    ) -> None:
        self.platform = platform
        self.links: LinkSource | None = None
        if isinstance(carriers, Router):
            self.router = carriers
        elif isinstance(carriers, LinkSource):  # reloaded, shared with the other workers
            self.links = carriers
            self.router = carriers.router
        else:
            self.router = Router.single(carriers)
        # MO messages are stored (a handler that only logged lost them): see inbound.py.
        self.inbound = inbound or StoredInbound(platform)
        self.batch = batch or platform.settings.claim_batch
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._maintenance_lock = threading.Lock()
        self._next_housekeeping = 0.0
        self._next_reload = time.monotonic() + platform.settings.link_reload_seconds
        self.live_workers = 1
        self._open_lock = threading.Lock()
        self._opened = False
        self._next_expiry: datetime | None = None  # on the platform's clock; None: now

    def open(self) -> None:
        """Open every link with its durable events (once; the first pass does it)."""
        with self._open_lock:
            if self._opened:
                return
            for carrier in self.router.carriers:
                self._open_link(carrier)
            if self.links is not None:  # links a reload builds are opened the same way
                self.links.opener = self._open_link
            self._opened = True

    def _open_link(self, carrier: Carrier) -> None:
        carrier.open(DurableLinkEvents(self.platform, carrier.name, self.inbound))

    def send_lane(self, lane: int) -> int:
        """Claim and hand over one batch of a lane; how many items went."""
        self.open()
        claimed = delivery.claim(self.platform, self.owner, lane, self.batch)
        if not claimed:
            return 0
        groups, held = self.router.route(claimed)
        # No link of their route is up: back to waiting, due a little later.
        results: list[SubmitResult] = held_results(held)
        failed: Exception | None = None
        for carrier, group in groups:
            try:
                results.extend(_submit(carrier, group))
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
        """Let the links hand over their receipts and inbound messages, apply the receipt
        inbox, time out what never got one; once a minute, housekeeping."""
        self.open()
        with self._maintenance_lock:
            self._poll_links()
            done = self._apply_receipts() + self._expire_when_due()
            contact_imports.poke(self.platform, self.owner, self._stop)  # in its own thread
            if self.links is not None and time.monotonic() >= self._next_reload:
                self._next_reload = time.monotonic() + self.platform.settings.link_reload_seconds
                self.reload_links()
            if time.monotonic() >= self._next_housekeeping:
                self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                delivery.forget_old_fingerprints(self.platform)
                webhooks.forget_finished(self.platform)  # kept FINSMS_WEBHOOK_KEEP_DAYS
                delivery.forget_settled_parts(self.platform)
                # Refunds a policy holds back (facade: 48 hours) come due with no event
                # that would settle their package: a minute late is soon enough.
                delivery.refund_due_items(self.platform)
                schedules.create_due_runs(self.platform)  # created RUN_LEAD ahead: on time
                iys_sync.sync(self.platform)  # waiting consents to İYS, answers recorded
            return done

    def reload_links(self) -> None:
        """Beat this worker's heartbeat and take up links added, changed or removed (and
        each link's share of TPS and binds among the live workers)."""
        if self.links is None:
            return
        every = self.platform.settings.link_reload_seconds
        self.live_workers = workers.heartbeat(
            self.platform, self.owner, socket.gethostname(), os.getpid(), every
        )
        if self.links.refresh(self.live_workers):
            self.router = self.links.router
            log.info("carrier links reloaded: %s", ", ".join(self.router.links) or "none")

    def _expire_when_due(self) -> int:
        """Time out what is due, at most every EXPIRY_EVERY (at once again after a full
        chunk). On the platform's clock, so that a test's clock moves it too."""
        now = self.platform.clock.now()
        if self._next_expiry is not None and now < self._next_expiry:
            return 0
        expired = delivery.expire(self.platform, EXPIRE_LIMIT)
        self._next_expiry = now if expired >= EXPIRE_LIMIT else now + EXPIRY_EVERY
        return expired

    def _poll_links(self) -> None:
        failed: Exception | None = None
        for carrier in self.router.carriers:
            try:
                carrier.poll()
            except Exception as error:  # the other links still hand theirs over
                log.exception("carrier link %s failed to hand over its events", carrier.name)
                failed = failed or error
        if failed is not None:
            raise failed

    def _apply_receipts(self) -> int:
        settled = 0
        for _ in range(RECEIPT_ROUNDS):
            applied = delivery.apply_receipts(self.platform)
            settled += applied.settled
            if applied.dropped:
                log.warning("%d delivery reports for unknown references dropped", applied.dropped)
            if applied.settled + applied.waiting + applied.dropped < delivery.RECEIPT_BATCH:
                break
        return settled

    def run_once(self) -> int:
        """One pass over both lanes, OTP first, then reports: how much work was done."""
        return self.send_lane(OTP_LANE) + self.send_lane(BULK_LANE) + self.settle()

    def drain(self, max_passes: int = 10_000) -> None:
        """Run passes until nothing is left to do now (for tests and one-shot runs)."""
        for _ in range(max_passes):
            if not self.run_once():
                return

    def bulk_senders(self) -> int:
        """How many bulk lane threads start() runs (FINSMS_BULK_SENDERS, 0: by database)."""
        configured = self.platform.settings.bulk_senders
        if configured:
            return configured
        store = self.platform.store
        return 1 if store is None or store.is_sqlite else BULK_SENDERS_POSTGRES

    def start(self) -> None:
        """Run in background threads: one for the OTP lane, bulk_senders() for the bulk
        lane, the first of which also settles reports and does the housekeeping."""
        if self.links is not None:
            self.reload_links()  # counted among the live workers from the start
        lanes = [("otp", OTP_LANE, False), ("bulk", BULK_LANE, True)]
        lanes += [(f"bulk{n}", BULK_LANE, False) for n in range(2, self.bulk_senders() + 1)]
        for name, lane, settles in lanes:
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
        if self.links is None:
            for carrier in self.router.carriers:
                carrier.close()
            return
        self.links.close()
        try:  # the others take over this worker's share at once
            workers.leave(self.platform, self.owner)
        except Exception:
            log.warning("could not sign this worker off", exc_info=True)

    def _loop(self, lane: int, settles: bool) -> None:
        store = self.platform.store
        # The OTP lane's writes go ahead of the bulk lane's waiting for SQLite's lock.
        first = store.urgent() if lane == OTP_LANE and store is not None else nullcontext()
        with first:
            self._run_lane(lane, settles)

    def _run_lane(self, lane: int, settles: bool) -> None:
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
            if lane == BULK_LANE and not settles and pause:
                # An extra sender helps with a backlog only: while items trickle in, the
                # first sender batches them alone, as one sender did.
                pause = settings.poll_interval
            if lane == OTP_LANE and (sent == 1 or pause == settings.poll_interval):
                # An OTP created in this process rings; one created elsewhere waits for the
                # pause. After a pass that sent one OTP the next one need not wait out the
                # batching window (it was 15 ms of an idle OTP's 16 at the median); several
                # in a pass are a flood, which the window groups into fewer transactions.
                self.platform.otp_doorbell.wait(pause)
                self.platform.otp_doorbell.clear()
            else:
                self._stop.wait(pause)


def _submit(carrier: Carrier, group: Sequence[Submission]) -> list[SubmitResult]:
    """The link's answers, each naming the link; a link that is down is not handed
    anything: its items go back to waiting, to be tried again a little later."""
    if not carrier.available():
        return [
            SubmitResult(s.item_id, False, None, "LINK_DOWN", carrier.name, retry=True)
            for s in group
        ]
    return [r if r.link else replace(r, link=carrier.name) for r in carrier.submit(group)]


def pause_after(sent: int, settled: int, batch: int, idle: float, batch_wait: float) -> float:
    """Seconds to wait before the next pass: none while a backlog fills whole batches, a
    short batching window while items trickle in, the idle poll when there was nothing."""
    if sent >= batch:
        return 0.0
    if sent or settled:
        return batch_wait
    return idle
