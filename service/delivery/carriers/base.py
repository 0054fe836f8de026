"""What a carrier is: takes submissions, later gives delivery receipts and inbound messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from service.domain.carrier import (
    DeliveryReceipt,
    InboundMessage,
    Submission,
    SubmitResult,
)


class LinkEvents(Protocol):
    """Where a link hands what the operator sends back; callable from any thread."""

    def receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Return only once they are durably recorded (committed); raise if not."""
        ...

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """The same for MO messages."""
        ...


class Carrier(Protocol):
    """A link to an operator (or the simulator): submit now, receipts and MOs later."""

    name: str  # the link's name, as routes and inbound messages name it

    def open(self, events: LinkEvents) -> None:
        """Connect/bind; from now on hand receipts and MO messages to `events`."""
        ...

    def available(self) -> bool:
        """False while the link is down (not bound): the router fails over to another link
        of the same operator."""
        ...

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Hand messages to the operator; one answer per message, in any order."""
        ...

    def poll_receipts(self) -> list[DeliveryReceipt]:
        """Delivery receipts that arrived since the last poll."""
        ...

    def requeue(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Take back receipts that could not be applied; the next poll returns them."""
        ...

    def poll_inbound(self) -> list[InboundMessage]:
        """Inbound (MO) messages that arrived since the last poll."""
        ...

    def close(self) -> None:
        """Release the link."""
        ...


@runtime_checkable
class SimSwapCheck(Protocol):
    """An optional capability of a link: asking the operator whether a number's SIM card
    changed since a time (an OTP's trustDate). A link that can, implements this."""

    def sim_changed_since(self, number: str, since: datetime) -> bool | None:
        """True if the SIM changed after `since` (naive UTC), False if not, None if the
        operator could not tell."""
        ...
