"""What a carrier link is: takes submissions, and hands what the operator sends back
(delivery receipts, inbound messages) to the LinkEvents it was opened with."""

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
        """Return only once they are durably recorded (committed); raise if not.

        An SMPP link answers deliver_sm_resp only after this returned (on an exception it
        answers a temporary error status, e.g. ESME_RX_T_APPN, so the SMSC redelivers)."""
        ...

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """The same for MO messages."""
        ...


class Carrier(Protocol):
    """A link to an operator (or the simulator): submit now, receipts and MOs later."""

    name: str  # the link's name, as routes, receipts and inbound messages name it

    def open(self, events: LinkEvents) -> None:
        """Connect/bind; from now on hand receipts and MO messages to `events`."""
        ...

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Hand messages over; one result per submission that got an answer. A submission
        with no result (timeout, link died mid-way) stays "sending" and is never sent
        again: its receipt settles it or it times out."""
        ...

    def poll(self) -> None:
        """Periodic hook, called by the dispatcher's settle pass (the simulator emits its
        due receipts and MO messages to `events` here; an SMPP link may do nothing)."""
        ...

    def available(self) -> bool:
        """False while the link is down (not bound): its items are not handed to it, the
        router fails over to another link of the same operator."""
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
