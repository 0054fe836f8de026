"""The platform's records as the services hand them around: typed, immutable, no wire form.

Repositories return these; adapters render them (the Node API's views, the CLI, the panel).
Times are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

from service.domain.constants import CustomerType, UserType
from service.domain.packages import Periodic
from service.domain.principal import Principal


@dataclass(frozen=True)
class User:
    """A user of the platform and its place in the hierarchy."""

    id: int
    uuid: str
    username: str
    user_type: UserType
    customer_type: CustomerType
    parent_id: int | None
    parent_name: str | None
    credit: int
    unlimited: bool
    active: bool
    duplicate_check: bool
    created_at: datetime

    @property
    def principal(self) -> Principal:
        """The user as a caller of the services."""
        return Principal(
            self.id, self.uuid, self.username, self.user_type, self.unlimited, self.duplicate_check
        )


@dataclass(frozen=True)
class Credential:
    """What authentication reads of a user: the principal it becomes, whether it may sign
    in, and its password hash."""

    principal: Principal
    active: bool
    password_hash: str


@dataclass(frozen=True)
class Sender:
    """An alphanumeric sender title of a user."""

    id: int
    uuid: str
    user_id: int
    title: str
    status: int
    created_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of credit: + in, - out, with the balance after it."""

    id: int
    user_id: int
    amount: int
    balance_after: int | None
    reason: str
    package_id: int | None
    counterpart_id: int | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class PackageStats:
    """Delivery counts of a package, in message parts."""

    delivered: int = 0
    undelivered: int = 0


@dataclass(frozen=True)
class Item:
    """One recipient of a package."""

    id: int
    package_id: int
    target: str
    msg: str | None
    xid: str | None
    operator: int | None
    parts: int
    credit: int  # its price under the package's pricing policy
    encoding: int
    state: int
    error: str | None
    lane: int
    due_at: datetime
    sending_date: datetime | None
    processing_date: datetime | None
    delivery_date: datetime | None
    # The dispatcher's bookkeeping: who claimed it until when, the carrier's reference,
    # when it times out without a report, and whether its refund was given.
    claim_owner: str | None = None
    lease_until: datetime | None = None
    carrier_ref: str | None = None
    carrier_link: str | None = None
    expires_at: datetime | None = None
    refunded: bool = False


@dataclass(frozen=True)
class Reservation:
    """What a package reserved of its user's balance at creation (0: an unlimited user)."""

    package_id: int
    user_id: int
    credit: int


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and how many records the whole listing holds."""

    total: int
    rows: list[T]


@dataclass(frozen=True)
class Summary:
    """Totals over packages: message parts by outcome, recipients and credit reserved."""

    total: int
    delivered: int
    undelivered: int
    pending: int
    recipients: int
    credit: int


@dataclass(frozen=True)
class Delivery:
    """One message to one number, with its package's facts (a number inquiry's row)."""

    item: Item
    package_id: int
    sms_type: int
    sender: str
    encoding: int
    validity: int
    content: str | None
    package_sending_date: datetime
    user_uuid: str
    username: str


class Cancelled(NamedTuple):
    """What cancelling a package's waiting items did: how many moved, and their price."""

    items: int
    credit: int


class NewItem(NamedTuple):
    """An item to write, in the order of the bulk insert's columns (a tuple: a large
    package has a hundred thousand of them)."""

    target: str
    msg: str | None
    xid: str | None
    operator: int | None
    parts: int
    credit: int
    encoding: int
    state: int
    lane: int
    due_at: datetime


@dataclass(frozen=True)
class NewPackage:
    """A package to write: every column of its row but the id."""

    uuid: str
    user_id: int
    custom_id: str | None
    sms_type: int
    sending_type: int
    title: str | None
    content: str | None
    sender: str
    encoding: int
    validity: int
    state: int
    lane: int
    sending_date: datetime
    is_scheduled: bool
    periodic: Periodic | None
    push_url: str | None
    commercial: bool | None
    trust_date: datetime | None
    recipients: int
    invalid_count: int
    parts: int
    credit: int
    source: str
    recreated_from: int | None
    created_at: datetime
    updated_at: datetime
    # Periodic sending (keyword-only, defaulted: most packages are no series). The first
    # package of a series: when its next run is due (None: stopped) and that run's number;
    # a run: the series' first package and its own number.
    next_run_at: datetime | None = field(default=None, kw_only=True)
    next_run_no: int | None = field(default=None, kw_only=True)
    run_of: int | None = field(default=None, kw_only=True)
    run_no: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Package(NewPackage):
    """An SMS package as stored: what was written, its id and the error that failed it.
    `credit` is what was charged at creation (0 for unlimited users)."""

    id: int
    error: str | None
