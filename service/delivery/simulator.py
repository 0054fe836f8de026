"""The built-in simulator carrier: behaves like an operator, with outcomes chosen by rule.

Rules (FINSMS_SIMULATOR_RULES) are comma-separated `SUFFIX=OUTCOME` pairs: a recipient
whose number ends with SUFFIX gets OUTCOME, the longest matching suffix wins, `*` matches
every number. Outcomes: `delivered` (state 3), `undelivered` (4), `rejected` (-1, refused
at submission) and `silent` (accepted, never reported: times out to 5). With no rule every
message is delivered. Reports arrive `report_delay` seconds after submission.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Sequence
from datetime import timedelta

from service.domain.constants import ItemState
from service.services.clock import Clock
from service.services.delivery import Claimed, Report, Submission

OUTCOMES = ("delivered", "undelivered", "rejected", "silent")


def parse_rules(text: str) -> dict[str, str]:
    """{suffix: outcome} from "0001=rejected,0002=undelivered,*=delivered"."""
    rules: dict[str, str] = {}
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        suffix, sep, outcome = chunk.partition("=")
        suffix, outcome = suffix.strip(), outcome.strip().lower()
        if not sep or outcome not in OUTCOMES or not (suffix == "*" or suffix.isdigit()):
            raise ValueError(f"bad simulator rule {chunk!r}: want SUFFIX=" + "|".join(OUTCOMES))
        rules[suffix] = outcome
    return rules


class SimulatorCarrier:
    """An in-process operator with deterministic outcomes."""

    name = "simulator"

    def __init__(
        self, clock: Clock, rules: dict[str, str] | None = None, report_delay: float = 1.0
    ) -> None:
        self.clock = clock
        self.rules = rules or {}
        self.report_delay = report_delay
        self._pending: list[tuple[object, int, Report]] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.submitted = 0

    def outcome(self, number: str) -> str:
        """The outcome the rules choose for a number."""
        best = max((s for s in self.rules if s != "*" and number.endswith(s)), key=len, default="*")
        return self.rules.get(best, "delivered")

    def submit(self, batch: Sequence[Claimed]) -> list[Submission]:
        """Accept or reject each item; schedule its report."""
        now = self.clock.now()
        results = []
        with self._lock:
            for item in batch:
                self.submitted += 1
                outcome = self.outcome(item.target)
                if outcome == "rejected":
                    results.append(Submission(item.item_id, False, error="SIM_REJECTED"))
                    continue
                ref = f"sim-{next(self._seq)}-{item.item_id}"
                results.append(Submission(item.item_id, True, carrier_ref=ref))
                if outcome != "silent":
                    self._schedule(ref, outcome, now)
        return results

    def _schedule(self, ref: str, outcome: str, now: object) -> None:
        at = self.clock.now() + timedelta(seconds=self.report_delay)
        state = ItemState.DELIVERED if outcome == "delivered" else ItemState.UNDELIVERED
        error = None if state == ItemState.DELIVERED else "SIM_UNDELIVERED"
        heapq.heappush(self._pending, (at, next(self._seq), Report(ref, state, at, error)))

    def poll_reports(self) -> list[Report]:
        """Reports whose time has come."""
        now = self.clock.now()
        out = []
        with self._lock:
            while self._pending and self._pending[0][0] <= now:  # type: ignore[operator]
                out.append(heapq.heappop(self._pending)[2])
        return out

    def requeue(self, reports: Sequence[Report]) -> None:
        """Put reports back to be polled again."""
        with self._lock:
            for report in reports:
                heapq.heappush(self._pending, (report.at, next(self._seq), report))

    def close(self) -> None:
        """Nothing to release."""
