"""The built-in simulator carrier: behaves like an operator, with outcomes chosen by rule.

Rules (FINSMS_SIMULATOR_RULES) are comma-separated `SUFFIX=OUTCOME` pairs: a recipient
whose number ends with SUFFIX gets OUTCOME, the longest matching suffix wins, `*` matches
every number. Outcomes: `delivered` (state 3), `undelivered` (4), `rejected` (-1, refused
at submission) and `silent` (accepted, never reported: times out to 5); and `optout`:
delivered, and then the recipient answers "IPTAL" (an inbound MO message to the sender).
The simulator checks SIM changes (an OTP's trustDate): `simswap` numbers had their SIM
changed an hour before the check, `simunknown` numbers cannot be checked; both are
delivered when sent.
With no rule every message is delivered. Receipts, and replies, arrive `report_delay`
seconds (FINSMS_SIMULATOR_REPORT_DELAY) after submission, handed to the link's events
by poll(). `inject` makes a subscriber write to us at once, as an operator's MO would.

What it was handed dies with its process, as an operator's SMSC does not: pending
receipts are lost with a killed worker. FINSMS_SIMULATOR_JOURNAL names a file where each
submission is appended (one line per item: item id, link, outcome, process id) before the
simulator answers, so a test can see from outside what the carrier was handed, and how
often, across processes and crashes.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from service.delivery.carriers.base import LinkEvents
from service.domain.carrier import (
    DeliveryReceipt,
    InboundMessage,
    Submission,
    SubmitResult,
)
from service.domain.constants import ItemState
from service.services.clock import Clock

# Final outcomes of a submission.
OUTCOMES = ("delivered", "undelivered", "rejected", "silent")
# Outcomes in which the recipient, once delivered, replies with this text.
REPLIES = {"optout": "IPTAL"}
# Outcomes of the SIM-change check (trustDate), the message itself being delivered:
# `simswap`, the SIM changed SIM_SWAP_AGE before the check; `simunknown`, the operator
# cannot tell. Every other number's SIM never changed.
SIM_OUTCOMES = ("simswap", "simunknown")
SIM_SWAP_AGE = timedelta(hours=1)
T = TypeVar("T")


def parse_rules(text: str) -> dict[str, str]:
    """{suffix: outcome} from "0001=rejected,0002=undelivered,*=delivered"."""
    known = (*OUTCOMES, *REPLIES, *SIM_OUTCOMES)
    rules: dict[str, str] = {}
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        suffix, sep, outcome = chunk.partition("=")
        suffix, outcome = suffix.strip(), outcome.strip().lower()
        if not sep or outcome not in known or not (suffix == "*" or suffix.isdigit()):
            raise ValueError(f"bad simulator rule {chunk!r}: want SUFFIX=" + "|".join(known))
        rules[suffix] = outcome
    return rules


class _Timed(Generic[T]):
    """Things that become available at a time, oldest first; thread-safe."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, T]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def put(self, at: datetime, thing: T) -> None:
        with self._lock:
            heapq.heappush(self._heap, (at, next(self._seq), thing))

    def take(self, now: datetime) -> list[T]:
        out = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                out.append(heapq.heappop(self._heap)[2])
        return out


class SimulatorCarrier:
    """An in-process operator with deterministic outcomes."""

    def __init__(
        self,
        clock: Clock,
        rules: dict[str, str] | None = None,
        report_delay: float = 1.0,
        name: str = "simulator",
        *,
        journal: str | None = None,
        split_parts: bool = False,
    ) -> None:
        self.clock = clock
        self.rules = rules or {}
        self.report_delay = report_delay
        self.name = name
        self.journal = journal
        # Send a message of several parts as one submission per part, each with its own
        # reference and receipt (an undelivered message: its last part), as SMSCs do.
        self.split_parts = split_parts
        self.events: LinkEvents | None = None
        self._receipts: _Timed[DeliveryReceipt] = _Timed()
        self._inbound: _Timed[InboundMessage] = _Timed()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.submitted = 0

    def outcome(self, number: str) -> str:
        """The outcome the rules choose for a number."""
        best = max((s for s in self.rules if s != "*" and number.endswith(s)), key=len, default="*")
        return self.rules.get(best, "delivered")

    def open(self, events: LinkEvents) -> None:
        """From now on, poll() hands receipts and MO messages to `events`."""
        self.events = events

    def available(self) -> bool:
        """The simulator is always up."""
        return True

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Accept or reject each message; schedule its receipt (and a reply, by rule)."""
        at = self.clock.now() + timedelta(seconds=self.report_delay)
        results = []
        with self._lock:
            outcomes = [self.outcome(item.target) for item in batch]
            self._write_journal(batch, outcomes)
            for item, outcome in zip(batch, outcomes, strict=True):
                self.submitted += 1
                if outcome == "rejected":
                    results.append(
                        SubmitResult(item.item_id, False, error="SIM_REJECTED", link=self.name)
                    )
                    continue
                results.append(self._accept(item, outcome, at))
                if outcome in REPLIES:
                    self._inbound.put(at, self._mo(item.target, item.sender, REPLIES[outcome], at))
        return results

    def sim_changed_since(self, number: str, since: datetime) -> bool | None:
        """The SIM-change check by rule: `simswap` numbers changed SIM_SWAP_AGE ago,
        `simunknown` ones cannot be told, the others never changed."""
        outcome = self.outcome(number)
        if outcome == "simunknown":
            return None
        return outcome == "simswap" and self.clock.now() - SIM_SWAP_AGE > since

    def _accept(self, item: Submission, outcome: str, at: datetime) -> SubmitResult:
        ref = f"sim-{next(self._seq)}-{item.item_id}"
        parts = item.parts if self.split_parts and item.parts > 1 else 1
        refs = tuple(f"{ref}.{n}" for n in range(1, parts + 1)) if parts > 1 else (ref,)
        if outcome != "silent":
            for n, part_ref in enumerate(refs, 1):
                # Only the last part fails: the item is as bad as its worst part.
                last = outcome if n == len(refs) else "delivered"
                self._receipts.put(at, _receipt(part_ref, last, at, self.name))
        part_refs = refs if parts > 1 else ()
        return SubmitResult(item.item_id, True, refs[0], link=self.name, part_refs=part_refs)

    def _write_journal(self, batch: Sequence[Submission], outcomes: Sequence[str]) -> None:
        """Append the batch to the journal in one write, before anything is answered."""
        if not self.journal or not batch:
            return
        pid = os.getpid()
        lines = "".join(
            f"{item.item_id}\t{self.name}\t{outcome}\t{pid}\n"
            for item, outcome in zip(batch, outcomes, strict=True)
        )
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode())  # O_APPEND: writers of other processes never mix
        finally:
            os.close(fd)

    def poll(self) -> None:
        """Hand the receipts and MO messages whose time has come to the link's events;
        those the events refuse (raise) are kept for the next poll, as an SMSC would."""
        now = self.clock.now()
        self._emit(self._receipts, now, lambda due: self._events().receipts(due))
        self._emit(self._inbound, now, lambda due: self._events().inbound(due))

    @staticmethod
    def _emit(queue: _Timed[T], now: datetime, hand: Callable[[list[T]], None]) -> None:
        due = queue.take(now)
        if not due:
            return
        try:
            hand(due)
        except BaseException:
            for thing in due:
                queue.put(now, thing)
            raise

    def _events(self) -> LinkEvents:
        if self.events is None:
            raise RuntimeError(f"carrier link {self.name} polled before it was opened")
        return self.events

    def inject(self, source: str, destination: str, text: str) -> InboundMessage:
        """A subscriber writes to `destination` now; the next poll hands it over."""
        now = self.clock.now()
        with self._lock:
            message = self._mo(source, destination, text, now)
        self._inbound.put(now, message)
        return message

    def close(self) -> None:
        """Nothing to release."""

    def _mo(self, source: str, destination: str, text: str, at: datetime) -> InboundMessage:
        return InboundMessage(source, destination, text, at, self.name, f"sim-mo-{next(self._seq)}")


def _receipt(ref: str, outcome: str, at: datetime, link: str) -> DeliveryReceipt:
    if outcome == "undelivered":
        return DeliveryReceipt(ref, ItemState.UNDELIVERED, at, "SIM_UNDELIVERED", link)
    return DeliveryReceipt(ref, ItemState.DELIVERED, at, None, link)
