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
seconds (FINSMS_SIMULATOR_REPORT_DELAY) after submission. `inject` makes a subscriber
write to us at once, as an operator's MO would.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Sequence
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
    ) -> None:
        self.clock = clock
        self.rules = rules or {}
        self.report_delay = report_delay
        self.name = name
        self._receipts: _Timed[DeliveryReceipt] = _Timed()
        self._inbound: _Timed[InboundMessage] = _Timed()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.submitted = 0
        self.events: LinkEvents | None = None

    def open(self, events: LinkEvents) -> None:
        """Nothing to connect: the simulator is up from the start."""
        self.events = events

    def available(self) -> bool:
        """Always: nothing can go down."""
        return True

    def outcome(self, number: str) -> str:
        """The outcome the rules choose for a number."""
        best = max((s for s in self.rules if s != "*" and number.endswith(s)), key=len, default="*")
        return self.rules.get(best, "delivered")

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Accept or reject each message; schedule its receipt (and a reply, by rule)."""
        at = self.clock.now() + timedelta(seconds=self.report_delay)
        results = []
        with self._lock:
            for item in batch:
                self.submitted += 1
                outcome = self.outcome(item.target)
                if outcome == "rejected":
                    results.append(SubmitResult(item.item_id, False, error="SIM_REJECTED"))
                    continue
                ref = f"sim-{next(self._seq)}-{item.item_id}"
                results.append(SubmitResult(item.item_id, True, carrier_ref=ref))
                if outcome != "silent":
                    self._receipts.put(at, _receipt(ref, outcome, at))
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

    def poll_receipts(self) -> list[DeliveryReceipt]:
        """Receipts whose time has come."""
        return self._receipts.take(self.clock.now())

    def requeue(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Put receipts back to be polled again."""
        for receipt in receipts:
            self._receipts.put(receipt.at, receipt)

    def inject(self, source: str, destination: str, text: str) -> InboundMessage:
        """A subscriber writes to `destination` now; the next inbound poll returns it."""
        now = self.clock.now()
        with self._lock:
            message = self._mo(source, destination, text, now)
        self._inbound.put(now, message)
        return message

    def poll_inbound(self) -> list[InboundMessage]:
        """Inbound messages whose time has come."""
        return self._inbound.take(self.clock.now())

    def close(self) -> None:
        """Nothing to release."""

    def _mo(self, source: str, destination: str, text: str, at: datetime) -> InboundMessage:
        return InboundMessage(source, destination, text, at, self.name, f"sim-mo-{next(self._seq)}")


def _receipt(ref: str, outcome: str, at: datetime) -> DeliveryReceipt:
    if outcome == "undelivered":
        return DeliveryReceipt(ref, ItemState.UNDELIVERED, at, "SIM_UNDELIVERED")
    return DeliveryReceipt(ref, ItemState.DELIVERED, at, None)
