"""LinkEvents that keep what a carrier link hands over in lists, for carrier tests."""

from __future__ import annotations

from collections.abc import Sequence

from service.delivery.carriers.simulator import SimulatorCarrier
from service.domain.carrier import DeliveryReceipt, InboundMessage


class RecordingEvents:
    """A link's events that record receipts and MO messages; `refuse` makes them raise."""

    def __init__(self) -> None:
        self.got_receipts: list[DeliveryReceipt] = []
        self.got_inbound: list[InboundMessage] = []
        self.refuse = False

    def receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Keep them (or refuse)."""
        if self.refuse:
            raise RuntimeError("database unavailable")
        self.got_receipts.extend(receipts)

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Keep them (or refuse)."""
        if self.refuse:
            raise RuntimeError("database unavailable")
        self.got_inbound.extend(messages)


def opened(sim: SimulatorCarrier) -> SimulatorCarrier:
    """The simulator, opened with RecordingEvents."""
    sim.open(RecordingEvents())
    return sim


def events_of(sim: SimulatorCarrier) -> RecordingEvents:
    """The RecordingEvents a simulator was opened with."""
    assert isinstance(sim.events, RecordingEvents)
    return sim.events


def polled_receipts(sim: SimulatorCarrier) -> list[DeliveryReceipt]:
    """Poll the simulator; the receipts it handed over in that poll."""
    events = events_of(sim)
    sim.poll()
    got, events.got_receipts = events.got_receipts, []
    return got


def polled_inbound(sim: SimulatorCarrier) -> list[InboundMessage]:
    """Poll the simulator; the MO messages it handed over in that poll."""
    events = events_of(sim)
    sim.poll()
    got, events.got_inbound = events.got_inbound, []
    return got
