"""What the services need of storage: a unit of work and its repositories, as protocols.

Two implementations ship: SQL (service.store.uow, on SQLite or PostgreSQL) and in memory
(service.store.memory, for unit tests of the services). A service opens a transaction
with `uow.read()`, `uow.write()` or `uow.write_job(job)` and works through the
transaction's repositories; it never sees a connection or a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from service.domain.carrier import DeliveryReceipt, Submission
from service.domain.constants import CustomerType, PackageState, UserType
from service.domain.contacts import Contact, ContactFields, ContactFilter, Group, GroupFilter
from service.domain.principal import Scope
from service.domain.queries import (
    DateRange,
    ItemFilter,
    PackageFilter,
    PackageRef,
    PageRequest,
    SenderFilter,
)
from service.domain.records import (
    Credential,
    Delivery,
    Item,
    LedgerEntry,
    NewItem,
    NewPackage,
    Package,
    PackageStats,
    Page,
    Reservation,
    Sender,
    Summary,
    User,
)
from service.domain.sending import Recipient

T = TypeVar("T")


class LedgerRepo(Protocol):
    """Balances and the append-only ledger of credit movements."""

    def balance(self, user_id: int) -> int | None:
        """A user's balance now; None for an unknown user."""
        ...

    def debit(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None = None,
        counterpart_id: int | None = None,
    ) -> int | None:
        """Take `amount` if the balance holds it (one conditional update); the new balance,
        or None when it does not (nothing changed)."""
        ...

    def credit(
        self,
        user_id: int,
        amount: int,
        now: datetime,
        reason: str,
        package_id: int | None = None,
        counterpart_id: int | None = None,
        note: str | None = None,
    ) -> int:
        """Add `amount` to the balance and record why; the new balance."""
        ...

    def entries(self, user_id: int, limit: int) -> list[LedgerEntry]:
        """The newest ledger entries of a user, newest first."""
        ...


class QueueRepo(Protocol):
    """The items table as the dispatcher's queue: every write fenced by the state it
    expects (and the claim's owner), so a repeat or a late worker changes nothing."""

    def any_due(self, lane: int, now: datetime) -> bool:
        """Whether any item of the lane is due."""
        ...

    def claim(
        self, owner: str, lane: int, now: datetime, lease_until: datetime, limit: int
    ) -> list[Submission]:
        """Mark up to `limit` due items of the lane "sending" for `owner`, oldest due
        first; what each needs to be sent."""
        ...

    def validities(self, item_ids: Sequence[int]) -> dict[int, int]:
        """The validity (minutes) of each item's package."""
        ...

    def mark_sent(
        self, owner: str, sent: Sequence[tuple[int, str | None, datetime]], now: datetime
    ) -> None:
        """(item id, carrier reference, expiry): accepted; only items `owner` still
        holds in "sending" move."""
        ...

    def mark_rejected(
        self, owner: str, rejected: Sequence[tuple[int, str | None]], now: datetime
    ) -> None:
        """(item id, error): refused by the carrier; fenced like mark_sent."""
        ...

    def packages_of(self, item_ids: Sequence[int]) -> set[int]:
        """The packages these items belong to."""
        ...

    def packages_of_refs(self, refs: Sequence[str]) -> dict[str, int]:
        """{carrier reference: package id} of the items recorded with these references."""
        ...

    def apply_receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Move sent items to the state their receipts report; final items stay."""
        ...

    def any_expired(self, now: datetime, stranded_before: datetime) -> bool:
        """Whether any item is to be timed out."""
        ...

    def expire(self, now: datetime, stranded_before: datetime, limit: int) -> list[int]:
        """Time out sent items past their expiry and items "sending" since before
        `stranded_before`; the package id of each one timed out."""
        ...

    def claim_refunds(
        self, package_ids: Sequence[int], held: Mapping[str, datetime]
    ) -> dict[int, int]:
        """Mark failed, unrefunded items of these packages refunded; credit owed per
        package. `held`: per package source, items sent after this are left for later."""
        ...

    def reservations(self, package_ids: Sequence[int]) -> list[Reservation]:
        """What each package reserved, and of whose balance."""
        ...

    def refunds_pending(self, sent_before: datetime, limit: int) -> list[int]:
        """Packages with failed items sent before this whose refund is not given yet."""
        ...

    def refresh_packages(self, package_ids: Iterable[int], now: datetime) -> None:
        """Derive each package's state from its items' states."""
        ...

    def any_old_fingerprint(self, now: datetime) -> bool:
        """Whether any duplicate-check entry's window has passed."""
        ...

    def forget_fingerprints(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` duplicate-check entries whose window has passed."""


class UserRepo(Protocol):
    """Users, their hierarchy and credentials."""

    def credential(self, username: str) -> Credential | None:
        """What authentication needs of a user, by name."""
        ...

    def by_name(self, username: str) -> User | None:
        """A user by name."""
        ...

    def visible(self, scope: Scope, uuid: str) -> User | None:
        """A user by uuid, if the scope reaches it."""
        ...

    def listing(self, parent: str | None = None) -> list[User]:
        """Every user, or the direct children of the user named `parent`, by id."""
        ...

    def lock(self, user_ids: list[int]) -> None:
        """Lock these users' balances in id order until the transaction ends."""
        ...

    def name_taken(self, username: str) -> bool:
        """Whether a user of that name exists."""
        ...

    def add(
        self,
        uuid: str,
        username: str,
        password_hash: str,
        user_type: UserType,
        customer_type: CustomerType,
        parent_id: int | None,
        unlimited: bool,
        now: datetime,
    ) -> bool:
        """Insert a user; False when the name was taken meanwhile."""
        ...

    def update(self, username: str, **values: Any) -> bool:
        """Set fields of a user by name; False for an unknown user."""
        ...


class SenderRepo(Protocol):
    """Alphanumeric senders."""

    def status(self, user_id: int, title: str) -> int | None:
        """The state of a user's sender title; None when it has no such title."""
        ...

    def listing(self, scope: Scope, filters: SenderFilter, page: PageRequest) -> Page[Sender]:
        """One page of the senders in scope, by title."""
        ...

    def add(self, uuid: str, user_id: int, title: str, status: int, now: datetime) -> bool:
        """Insert a sender; False when the user has that title already."""
        ...

    def set_status(self, user_id: int, title: str, status: int) -> Sender | None:
        """Change a sender's state; None when the user has no such title."""
        ...


class PackageRepo(Protocol):
    """Packages, their items and the duplicate check's fingerprints."""

    def custom_id_taken(self, user_id: int, custom_id: str) -> bool:
        """Whether one of the user's packages carries this customID."""
        ...

    def add(self, package: NewPackage) -> int | None:
        """Insert a package; its id, or None when its customID was taken meanwhile."""
        ...

    def claim_fingerprint(
        self, user_id: int, digest: str, package_id: int, now: datetime, until: datetime
    ) -> bool:
        """Take the duplicate check's slot; False when an earlier package holds it."""
        ...

    def add_items(self, package_id: int, new_items: list[NewItem]) -> None:
        """Insert a package's items."""
        ...

    def cancel_waiting(self, package_id: int, now: datetime) -> int:
        """Cancel the package's waiting items; how many moved."""
        ...

    def set_state(self, package_id: int, state: PackageState, now: datetime) -> None:
        """Set a package's state."""
        ...

    def forget_fingerprints(self, package_id: int) -> None:
        """Release the duplicate check's slots a package holds."""
        ...

    def find(self, scope: Scope, ref: PackageRef) -> Package | None:
        """A package in scope by id, uuid or customID."""
        ...

    def listing(self, scope: Scope, filters: PackageFilter, page: PageRequest) -> Page[Package]:
        """One page of the packages in scope, newest first."""
        ...

    def stats(self, package_ids: list[int]) -> dict[int, PackageStats]:
        """Delivered and undelivered parts of each package."""
        ...

    def items(self, package_id: int, filters: ItemFilter, page: PageRequest) -> Page[Item]:
        """One page of a package's items, in order."""
        ...

    def recipients(self, package_id: int) -> list[Recipient]:
        """The recipients of a package, in order."""
        ...

    def summary(self, scope: Scope, dates: DateRange) -> Summary:
        """Totals over the packages in scope sent within the dates."""
        ...

    def deliveries(
        self, scope: Scope, target: str, sender: str | None, dates: DateRange, page: PageRequest
    ) -> Page[Delivery]:
        """One page of what was sent to a number within the dates, newest first."""
        ...


class ContactRepo(Protocol):
    """Contacts of users' books (archived ones included where a method says so)."""

    def add(self, uuid: str, user_id: int, fields: ContactFields, status: int,
            exit_type: int | None, now: datetime) -> int | None:  # fmt: skip
        """Insert a contact; its id, or None when the user has that number already."""
        ...

    def by_number(self, user_id: int, gsm: str) -> Contact | None:
        """A user's contact by number, archived or not."""
        ...

    def find(self, scope: Scope, uuid: str) -> Contact | None:
        """A live contact in scope by uuid."""
        ...

    def ids(self, scope: Scope, uuids: Sequence[str], *, archived: bool) -> dict[str, int]:
        """{uuid: id} of the contacts in scope among `uuids` (with `archived`, archived
        ones too)."""
        ...

    def ids_by_number(
        self, user_id: int, gsms: Sequence[str], *, archived: bool = False
    ) -> dict[str, int]:
        """{number: id} of the user's live contacts among `gsms` (with `archived`,
        archived ones too)."""
        ...

    def update(self, contact_id: int, fields: ContactFields, status: int,
               exit_type: int | None, now: datetime) -> bool:  # fmt: skip
        """Write a contact's fields, restoring it from the archive; False when the new
        number belongs to another contact of the user."""
        ...

    def set_status(self, user_id: int, gsms: Sequence[str], status: int,
                   exit_type: int | None, now: datetime) -> None:  # fmt: skip
        """Set the status and exit type of the user's contacts with these numbers."""
        ...

    def set_groups(self, contact_id: int, group_ids: Sequence[int]) -> None:
        """Replace a contact's group links."""
        ...

    def link(self, group_id: int, contact_ids: Sequence[int]) -> None:
        """Link contacts to a group (links that exist stay)."""
        ...

    def in_group(self, group_id: int, contact_ids: Sequence[int]) -> list[int]:
        """The contacts among `contact_ids` linked to the group."""
        ...

    def ungrouped(self, contact_ids: Sequence[int]) -> list[int]:
        """The live contacts among `contact_ids` linked to no group."""
        ...

    def archive(self, contact_ids: Sequence[int], now: datetime) -> None:
        """Move contacts to the archive; their group links go."""
        ...

    def purge(self, contact_ids: Sequence[int]) -> None:
        """Delete contacts for good, with their group links."""
        ...

    def listing(self, scope: Scope, filters: ContactFilter, page: PageRequest) -> Page[Contact]:
        """One page of the live contacts in scope, oldest first, with their groups."""
        ...


class GroupRepo(Protocol):
    """Contact groups."""

    def add(
        self, uuid: str, user_id: int, title: str, parent_id: int | None, now: datetime
    ) -> int | None:
        """Insert a group; its id, or None when the user has that title already."""
        ...

    def find(self, scope: Scope, uuid: str) -> Group | None:
        """A group in scope by uuid."""
        ...

    def update(self, group_id: int, title: str, parent_id: int | None) -> bool:
        """Rename or move a group; False when the user has that title already."""
        ...

    def has_contacts(self, group_id: int) -> bool:
        """Whether any contact is linked to the group."""
        ...

    def subtree(self, group_ids: Sequence[int]) -> list[int]:
        """The groups and all their sub-groups, descendants first."""
        ...

    def members(self, group_ids: Sequence[int]) -> list[int]:
        """The contacts linked to any of these groups."""
        ...

    def delete(self, group_ids: Sequence[int]) -> None:
        """Delete groups (descendants given first) with their links."""
        ...

    def listing(self, scope: Scope, filters: GroupFilter, page: PageRequest) -> Page[Group]:
        """One page of the groups in scope, by title."""
        ...


class BlacklistRepo(Protocol):
    """Blacklisted numbers per user, contacts or not."""

    def blocked(self, user_id: int, gsms: Sequence[str]) -> set[str]:
        """The numbers among `gsms` on the user's blacklist: one set-based query."""
        ...

    def add(self, user_id: int, gsms: Sequence[str], exit_type: int | None, now: datetime) -> None:
        """Put numbers on the blacklist (those already there take the new exit type)."""
        ...

    def remove(self, user_id: int, gsms: Sequence[str]) -> None:
        """Take numbers off the blacklist."""
        ...


class AllowlistRepo(Protocol):
    """Users' IP allow-lists."""

    def networks(self, user_id: int) -> list[str]:
        """A user's allowed addresses and networks, sorted."""
        ...

    def add(self, user_id: int, network: str, now: datetime) -> bool:
        """Allow a network; False when it was allowed already."""
        ...

    def remove(self, user_id: int, network: str) -> bool:
        """Stop allowing a network; False when it was not allowed."""
        ...


class LockRepo(Protocol):
    """Leases of operations a user may run one at a time."""

    def acquire(self, user_id: int, name: str, token: str, now: datetime,
                until: datetime) -> bool:  # fmt: skip
        """Take the lease unless someone holds it beyond `now`."""
        ...

    def release(self, user_id: int, name: str, token: str) -> None:
        """Give the lease back if `token` still holds it."""
        ...


class Tx(Protocol):
    """One transaction and the repositories that work inside it."""

    @property
    def users(self) -> UserRepo:
        """Users and credentials."""
        ...

    @property
    def senders(self) -> SenderRepo:
        """Senders."""
        ...

    @property
    def packages(self) -> PackageRepo:
        """Packages and items."""
        ...

    @property
    def ledger(self) -> LedgerRepo:
        """Balances and ledger."""
        ...

    @property
    def queue(self) -> QueueRepo:
        """The dispatcher's queue of items."""
        ...

    @property
    def contacts(self) -> ContactRepo:
        """Contacts."""
        ...

    @property
    def groups(self) -> GroupRepo:
        """Contact groups."""
        ...

    @property
    def blacklist(self) -> BlacklistRepo:
        """Blacklisted numbers."""
        ...

    @property
    def allowlist(self) -> AllowlistRepo:
        """IP allow-lists."""
        ...

    @property
    def locks(self) -> LockRepo:
        """One-at-a-time leases."""
        ...


class UnitOfWork(Protocol):
    """Opens transactions."""

    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction."""
        ...

    def write(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, committed when the block ends without an error."""
        ...

    def write_job(self, job: Callable[[Tx], T]) -> T:
        """job(tx) in a write transaction that may be shared with concurrent jobs (group
        commit on SQLite); the job's error undoes only its own writes."""
        ...
