"""What crosses a carrier link, in both directions: the contract between the settlement
service and every carrier (service.delivery.carriers), so it lives with the domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.domain.constants import ItemState


@dataclass(frozen=True)
class Submission:
    """An outbound message handed to a carrier: a claimed item with what sending needs."""

    item_id: int
    package_id: int
    target: str
    text: str
    encoding: int
    parts: int
    operator: int | None
    sender: str
    validity: int
    xid: str | None
    # An OTP's trustDate (naive UTC): not to be sent if the number's SIM changed after it.
    trust_date: datetime | None = None


@dataclass(frozen=True)
class SubmitResult:
    """What the carrier said about one submission: accepted with a reference, rejected,
    or (retry) refused for now and certainly not sent: it goes back to waiting."""

    item_id: int
    accepted: bool
    carrier_ref: str | None = None  # the operator's message id (the first part's if several)
    error: str | None = None
    link: str = ""  # the link that answered: references are unique per link only
    part_refs: tuple[str, ...] = ()  # every part's message id when sent as >1 submit_sm
    retry: bool = False  # throttled, queue full: due again a little later, never failed


@dataclass(frozen=True)
class DeliveryReceipt:
    """A delivery report: the carrier's reference and the final state it reports."""

    carrier_ref: str
    state: ItemState  # DELIVERED, UNDELIVERED or REJECTED
    at: datetime  # the done date (naive UTC): the item's deliveryDate
    error: str | None = None
    link: str = ""


@dataclass(frozen=True)
class HeldReceipt:
    """A receipt recorded in the durable inbox, waiting to be applied."""

    id: int
    receipt: DeliveryReceipt
    received_at: datetime  # when the link handed it over: held at most REPORT_HOLD


# The states a receipt may report, from best to worst: a multipart item takes its worst
# part's.
RECEIPT_STATES = (ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED)


@dataclass(frozen=True)
class Outcome:
    """The final state a carrier reported for an item (or one part of it)."""

    state: ItemState
    at: datetime
    error: str | None = None


def combine_parts(parts: Sequence[Outcome]) -> Outcome:
    """A multipart item's outcome from its parts': delivered only if every part was, else
    the worst part's state and error; at the last part's done date."""
    worst = max(parts, key=lambda p: RECEIPT_STATES.index(p.state))
    return Outcome(worst.state, max(p.at for p in parts), worst.error)


@dataclass(frozen=True)
class InboundMessage:
    """A mobile-originated message (MO): a subscriber wrote to one of our numbers."""

    source: str  # the subscriber's number
    destination: str  # the short number or sender title written to
    text: str
    received_at: datetime  # naive UTC
    link: str  # the carrier link it came in on
    carrier_ref: str  # the carrier's own id of the message


# Gateway uuids are derived from link names: stable across restarts and processes.
_GATEWAY_NAMESPACE = uuid.UUID("6f1d7c0e-93b5-5b5e-9a43-1f0c2d7e4a10")


def split_links(text: str) -> list[tuple[str, str]]:
    """(link name, kind) of each entry of FINSMS_CARRIERS: `KIND` (a link named after its
    kind) or `LINK=KIND`, comma-separated; validated by the carrier registry."""
    links = []
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        name, sep, kind = (part.strip() for part in chunk.partition("="))
        links.append((name, kind if sep else name))
    return links


def gateway_uuid(link_name: str) -> str:
    """The public uuid of a carrier link: the same for the same name, everywhere."""
    return str(uuid.uuid5(_GATEWAY_NAMESPACE, link_name))


@dataclass(frozen=True)
class Gateway:
    """A sending gateway as a customer sees it: a carrier link and the senders the
    customer may send with on it."""

    uuid: str
    name: str
    senders: tuple[str, ...]
