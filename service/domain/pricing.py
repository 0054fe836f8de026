"""What a package costs and when its failed messages are refunded: one policy per source.

Create reserves the package's price, cancel gives all of it back, settlement gives back
each failed item's price once the policy says it is due. The three read the policy from
here, so a source's rule is written once.

- Node API packages: one credit per message part per recipient (parts by the encoding's
  segmentation); a failed item is refunded as soon as it settles.
- FinSMS facade packages: one credit per started 180 characters per recipient (characters
  are Unicode code points as the customer typed them); a failed item is refunded 48 hours
  after it was sent.
- Users marked unlimited pay nothing under either policy: nothing is reserved, so nothing
  is refunded, though each item still shows its price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain.encoding import Segmentation


class PackageSource(StrEnum):
    """The front door a package came through (stored with the package)."""

    NODE = "node"
    FACADE = "finsms"


FACADE_CHARS_PER_CREDIT = 180


@dataclass(frozen=True)
class PricingPolicy:
    """How one source prices a message and when a failed one is refunded."""

    source: PackageSource
    chars_per_credit: int | None  # None: priced by SMS parts
    refund_delay: timedelta

    def price(self, text: str, segmentation: Segmentation) -> int:
        """Credits one recipient of this text costs."""
        if self.chars_per_credit is None:
            return segmentation.parts
        return max(1, -(-len(text) // self.chars_per_credit))

    def refund_due(self, sent_at: datetime | None, now: datetime) -> bool:
        """Whether a failed item sent at `sent_at` (None: never sent) is refunded by now."""
        if not self.refund_delay or sent_at is None:
            return True
        return sent_at + self.refund_delay <= now

    def held_after(self, now: datetime) -> datetime | None:
        """Failed items sent after this are not refunded yet (refund_due as a cut-off a
        query can use); None when every failed item is refunded at once."""
        return now - self.refund_delay if self.refund_delay else None


# How far back (by the package's sending date) the refund sweep looks for held-back
# refunds: far past the 48 hours a refund waits, so a sweep that was down for weeks
# still finds them, and bounded, so it never reads a package's whole history.
REFUND_SWEEP_WINDOW = timedelta(days=30)

NODE_PRICING = PricingPolicy(PackageSource.NODE, None, timedelta(0))
FACADE_PRICING = PricingPolicy(PackageSource.FACADE, FACADE_CHARS_PER_CREDIT, timedelta(hours=48))
POLICIES = {p.source: p for p in (NODE_PRICING, FACADE_PRICING)}
# Policies whose failed items wait for their refund, and their sources (the refund sweep
# visits only these).
HOLDING_POLICIES = tuple(p for p in POLICIES.values() if p.refund_delay)
HELD_REFUND_SOURCES = tuple(sorted(str(p.source) for p in HOLDING_POLICIES))


def policy_for(source: str) -> PricingPolicy:
    """The pricing policy of a package source."""
    return POLICIES[PackageSource(source)]


def charged(price: int, unlimited: bool) -> int:
    """What the user actually pays for a package of this price."""
    return 0 if unlimited else price
