"""A simulated İYS: deterministic answers by rule, for development, demos and tests.

FINSMS_IYS_SIMULATOR_RULES="99=rejected,98=error": a recipient ending with a suffix gets
that outcome (longest suffix wins): `rejected` İYS refuses the consent (state REJECTED,
error H174), `error` the call fails (retried later), `accepted` the default.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from service.domain.constants import IysState
from service.domain.iys import Brand, Consent, SyncResult

OUTCOMES = ("accepted", "rejected", "error")


class SimulatorError(RuntimeError):
    """The simulated İYS did not answer (rule `error`)."""


def parse_rules(text: str) -> dict[str, str]:
    """{suffix: outcome} of FINSMS_IYS_SIMULATOR_RULES; ValueError naming a bad rule."""
    rules: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        suffix, _, outcome = part.partition("=")
        if not suffix.strip().isdigit() or outcome.strip() not in OUTCOMES:
            raise ValueError(f"{part!r}: SUFFIX=accepted|rejected|error")
        rules[suffix.strip()] = outcome.strip()
    return rules


class SimulatedIys:
    """İYS in process: registers what it accepts, answers by the recipients' suffixes."""

    name = "simulator"

    def __init__(self, rules: str = "") -> None:
        self.rules = parse_rules(rules)
        self.registered: dict[tuple[str, str, str], str] = {}  # (brand, recipient, type)
        self.calls = 0
        self._lock = threading.Lock()

    def add_consents(self, brand: Brand, consents: Sequence[Consent]) -> list[SyncResult]:
        """Accept or reject each consent by rule; `error` fails the whole call."""
        with self._lock:
            self.calls += 1
            outcomes = [(c, self._outcome(c.recipient)) for c in consents]
            if any(o == "error" for _, o in outcomes):
                raise SimulatorError("simulated İYS unavailable")
            return [self._answer(brand, c, o) for c, o in outcomes]

    def consent_status(self, brand: Brand, recipient: str, type_: str) -> str | None:
        """The status registered for a recipient, None when none."""
        return self.registered.get((brand.brand_code, recipient, type_))

    def _answer(self, brand: Brand, c: Consent, outcome: str) -> SyncResult:
        if outcome == "rejected":
            return SyncResult(c.recipient, IysState.REJECTED, "H174: alıcı geçersiz")
        self.registered[(brand.brand_code, c.recipient, c.type)] = c.status
        return SyncResult(c.recipient, IysState.ACCEPTED, reference=f"sim-{c.id}")

    def _outcome(self, recipient: str) -> str:
        matches = [s for s in self.rules if recipient.endswith(s)]
        return self.rules[max(matches, key=len)] if matches else "accepted"
