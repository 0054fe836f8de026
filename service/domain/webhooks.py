"""Delivery-report webhooks as rules: the push URL, its addresses, the payload, the
signature (Standard Webhooks) and the retry schedule. No I/O.

The payload is the one of shared/spec/clients.md: a package's summary and a batch of its
items that reached a final state. The outbox keeps it as a document with naive UTC dates
(`document`), rendered in the platform's time zone when sent (`render`), so every attempt
of one delivery carries the same body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from service.domain.errors import invalid

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

URL_MAX = 2000
# Items per webhook: a 100,000-recipient package settled at once (a cancel) makes a
# hundred requests of ~250 KB, not one of 25 MB that a receiver would refuse.
ITEMS_PER_REPORT = 1000
SECRET_PREFIX = "whsec_"
# Outbox states.
PENDING, DELIVERED, FAILED = 0, 1, -1
STATE_NAMES = {PENDING: "pending", DELIVERED: "delivered", FAILED: "failed"}
# Retry schedule: exponential from FIRST_DELAY, at most MAX_DELAY apart, for RETRY_WINDOW.
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)

# Ports no HTTP receiver listens on but other services do (after the Fetch standard's
# "bad port" list): a push URL must not make FinSMS talk to a mail or SSH server.
BAD_PORTS = frozenset(
    {0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95}
    | {101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161}
    | {179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563}
    | {587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 5060, 5061}
    | {6000, 6566, 6665, 6666, 6667, 6668, 6669, 6697, 10080}
)
_FIELD = "pushSettings.url"


@dataclass(frozen=True)
class Target:
    """Where a push URL points: scheme, host (lower case, no brackets) and port."""

    scheme: str
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        """host:port, the unit of per-endpoint limits and backoff."""
        return f"{self.host}:{self.port}"


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """Networks of FINSMS_WEBHOOK_ALLOW_NETWORKS ("127.0.0.0/8,10.0.0.0/8"); ValueError
    names the bad one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"not a network: {part!r}") from None
    return tuple(networks)


def address_allowed(address: IpAddress, allowed: Sequence[IpNetwork] = ()) -> bool:
    """Whether FinSMS may connect to this address: a public unicast one, or one inside a
    network the operator allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    if any(address in network for network in allowed):
        return True
    # is_global alone lets multicast through; the others are spelt out for clarity.
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def target_of(url: str) -> Target:
    """The scheme, host and port of a push URL; DomainError (ERR_INVALID_PARAM,
    pushSettings.url) for anything but a plain http(s) URL to a usable port."""
    if len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 for c in url):
        raise invalid(_FIELD, "geçersiz adres")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise invalid(_FIELD, "http(s) adresi olmalı")
    try:
        port = parts.port
    except ValueError:
        raise invalid(_FIELD, "geçersiz port") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise invalid(_FIELD, "sunucu adı yok")
    if parts.username is not None or parts.password is not None:
        raise invalid(_FIELD, "adreste kullanıcı bilgisi olamaz")
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port in BAD_PORTS:
        raise invalid(_FIELD, f"{port} portuna gönderilemez")
    return Target(scheme, host, port)


def check_push_url(url: str, allowed: Sequence[IpNetwork] = ()) -> str:
    """A push URL as given, if it may be used; a literal address (or `localhost`) must be
    allowed already. Names are resolved, and checked again, at each delivery."""
    target = target_of(url)
    literal = literal_address(target.host)
    if target.host == "localhost" or target.host.endswith(".localhost"):
        literal = ipaddress.ip_address("127.0.0.1")
    if literal is not None and not address_allowed(literal, allowed):
        raise invalid(_FIELD, "özel ya da yerel ağ adresine gönderilemez")
    return url


def literal_address(host: str) -> IpAddress | None:
    """The address a host names literally, or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --- signature (Standard Webhooks) ----------------------------------------------------


def new_secret(random_bytes: bytes) -> str:
    """A signing secret "whsec_<base64>" from fresh random bytes (24 or more)."""
    if len(random_bytes) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: "v1," and the base64 HMAC-SHA256, under the secret's
    bytes, of "<webhook-id>.<webhook-timestamp>.<body>"."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def message_id(outbox_id: int) -> str:
    """The webhook-id of an outbox row: the same on every attempt, so receivers can
    ignore a repeat."""
    return f"msg_finsms_{outbox_id}"


# --- retry schedule -------------------------------------------------------------------


def next_attempt(
    created_at: datetime,
    attempts: int,
    now: datetime,
    jitter: float,
    window: timedelta = RETRY_WINDOW,
) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None: give up (the window
    since the row was written has passed). Exponential with "equal jitter" (`jitter` in
    [0, 1)): half the delay fixed, half random, so receivers that came back are not hit
    by every sender at once; the last try falls on the window's end."""
    deadline = created_at + window
    if now >= deadline:
        return None
    delay = min(MAX_DELAY, FIRST_DELAY * (1 << min(max(attempts - 1, 0), 20)))
    jittered: timedelta = delay * (0.5 + jitter / 2)
    return min(now + jittered, deadline)


# --- payload --------------------------------------------------------------------------


@dataclass(frozen=True)
class PushPackage:
    """What a report says of its package (read after the package's state is refreshed)."""

    id: int
    uuid: str
    user_id: int
    user_uuid: str
    custom_id: str | None
    title: str | None
    state: int
    url: str
    parts: int
    credit: int
    recipients: int
    invalid_count: int


@dataclass(frozen=True)
class SettledItem:
    """An item that reached a final state, as a report shows it."""

    id: int
    package_id: int
    xid: str | None
    target: str
    state: int
    credit: int
    operator: int | None
    sending_date: datetime | None
    due_at: datetime
    delivery_date: datetime | None
    error: str | None


@dataclass(frozen=True)
class NewReport:
    """A webhook to write to the outbox."""

    user_id: int
    package_id: int
    url: str
    endpoint: str
    document: str


def documents(
    pkg: PushPackage, delivered: int, undelivered: int, settled: Sequence[SettledItem]
) -> list[str]:
    """The outbox documents of a package's newly settled items, ITEMS_PER_REPORT each."""
    head = {
        "pkgID": pkg.id,
        "customID": pkg.custom_id,
        "userID": pkg.user_uuid,
        "pkg": {
            "id": pkg.id,
            "uuid": pkg.uuid,
            "customID": pkg.custom_id,
            "state": pkg.state,
            "title": pkg.title,
            "statistics": {
                "total": pkg.parts,
                "credit": pkg.credit,
                "rCount": pkg.recipients,
                "delivered": delivered,
                "undelivered": undelivered,
                "invalid": pkg.invalid_count,
            },
        },
    }
    chunks = [settled[i : i + ITEMS_PER_REPORT] for i in range(0, len(settled), ITEMS_PER_REPORT)]
    return [
        json.dumps({**head, "items": [_item(pkg, i) for i in chunk]}, separators=(",", ":"))
        for chunk in chunks
    ]


def _item(pkg: PushPackage, item: SettledItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "xid": item.xid,
        "target": item.target,
        "state": item.state,
        "setState": pkg.state,
        "credit": item.credit,
        "operator": item.operator,
        "sendingDate": _utc(item.sending_date or item.due_at),
        "deliveryDate": _utc(item.delivery_date),
        "error": item.error,
    }


def _utc(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def render(document: str, local: Callable[[datetime], str | None]) -> bytes:
    """The request body of an outbox document: its dates in the API's local time (as
    /sms/list-item writes them)."""
    data = json.loads(document)
    for item in data["items"]:
        for key in ("sendingDate", "deliveryDate"):
            if item[key] is not None:
                item[key] = local(datetime.fromisoformat(item[key]))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Claimed:
    """An outbox row a sender took, to be attempted."""

    id: int
    user_id: int
    url: str
    endpoint: str
    document: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """A webhook ready to send: where, the signed headers' inputs and the body."""

    id: int
    url: str
    endpoint: str
    msg_id: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class OutboxRow:
    """An outbox row as the operator lists it."""

    id: int
    user_id: int
    package_id: int
    url: str
    state: int
    attempts: int
    next_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
