"""What crosses a carrier link, in both directions: the contract between the settlement
service and every carrier (service.delivery.carriers), so it lives with the domain."""

from __future__ import annotations

import uuid
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
    """What the carrier said about one submission: accepted with a reference, or rejected."""

    item_id: int
    accepted: bool
    carrier_ref: str | None = None  # the operator's message id (first part's if several)
    error: str | None = None
    link: str = ""  # the link that answered (refs are unique per link only)
    part_refs: tuple[str, ...] = ()  # every part's message id when the item went as >1 submit_sm
    # Not accepted and certainly not sent (throttled, queue full, no link up): the item goes
    # back to waiting, due a little later, never counted as failed.
    retry: bool = False


@dataclass(frozen=True)
class DeliveryReceipt:
    """A delivery report: the carrier's reference and the final state it reports."""

    carrier_ref: str
    state: ItemState  # DELIVERED (3), UNDELIVERED (4) or REJECTED (-1)
    at: datetime  # the done date (naive UTC) -> the item's deliveryDate
    error: str | None = None
    link: str = ""


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
