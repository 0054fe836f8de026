"""What the services need of storage: a unit of work and its repositories, as protocols.

Two implementations ship: SQL (service.store.uow, on SQLite or PostgreSQL) and in memory
(service.store.memory, for unit tests of the services). A service opens a transaction
with `uow.read()`, `uow.write()` or `uow.write_job(job)` and works through the
transaction's repositories; it never sees a connection or a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from service.domain.apikeys import ApiKey, AuditEntry, NewAudit
from service.domain.carrier import DeliveryReceipt, HeldReceipt, Outcome, Submission
from service.domain.constants import CustomerType, PackageState, UserType
from service.domain.contacts import Contact, ContactFields, ContactFilter, Group, GroupFilter
from service.domain.imports import (
    ContactImport,
    ImportCounts,
    ImportOptions,
    ImportRow,
    ImportState,
)
from service.domain.iys import Consent, IysSettings, NewConsent
from service.domain.kvkk import KvkkLink, NewLink
from service.domain.links import Link
from service.domain.mo import MoFilter, MoMessage, MoNumber, NewMoMessage, OptOut
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
    Cancelled,
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
from service.domain.sending import GroupMember, Recipient
from service.domain.webhooks import Claimed, NewReport, OutboxRow, PushPackage, SettledItem

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
        first, expiring at `lease_until`; what each needs to be sent."""
        ...

    def validities(self, item_ids: Sequence[int]) -> dict[int, int]:
        """The validity (minutes) of each item's package."""
        ...

    def mark_sent(
        self, owner: str, sent: Sequence[tuple[int, str | None, str, datetime]], now: datetime
    ) -> set[int]:
        """(item id, carrier reference, link, expiry): accepted; only items `owner` still
        holds in "sending" move. The packages of the items moved (so for each mark_*)."""
        ...

    def mark_rejected(
        self, owner: str, rejected: Sequence[tuple[int, str | None]], now: datetime
    ) -> set[int]:
        """(item id, error): refused by the carrier; fenced like mark_sent."""
        ...

    def restamp(self, expiries: Mapping[int, datetime], now: datetime) -> None:
        """{item id: its own expiry}: items still "sending" whose expiry (their lease)
        has passed by `now` take these; others keep theirs."""
        ...

    def time_out_stranded(self, item_ids: Sequence[int], now: datetime) -> list[int]:
        """Time out these items if still "sending" with their expiry passed by `now`;
        the package id of each one timed out."""
        ...

    def leases_over(self, now: datetime, limit: int) -> list[tuple[int, datetime, int]]:
        """(item id, claimed at, validity minutes) of up to `limit` items still "sending"
        past their expiry (the claim stamps its lease as their first expiry)."""
        ...

    def mark_retry(
        self, owner: str, retries: Sequence[tuple[int, str | None]], due_at: datetime
    ) -> set[int]:
        """(item id, error): not sent, to retry; "sending" items `owner` holds go back
        to waiting, due at `due_at`."""
        ...

    def items_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, carrier reference): item id} of the items recorded with these."""
        ...

    def apply_outcomes(self, outcomes: Sequence[tuple[int, Outcome]]) -> set[int]:
        """(item id, outcome): sent items take the final state reported; final ones stay."""
        ...

    def any_expired(self, now: datetime) -> bool:
        """Whether any item is to be timed out."""
        ...

    def expire(self, now: datetime, limit: int) -> list[int]:
        """Time out items "sent" past their expiry; the package id of each."""
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


class WebhookRepo(Protocol):
    """The delivery-report webhook outbox and the users' signing secrets."""

    def pushable(self, package_ids: Sequence[int]) -> dict[int, PushPackage]:
        """The packages among these that carry a push URL, as their reports show them."""
        ...

    def settled_items(self, package_ids: Sequence[int]) -> list[SettledItem]:
        """Mark the final, unreported items of these packages reported; them, by id."""
        ...

    def enqueue(self, reports: Sequence[NewReport], now: datetime) -> None:
        """Write webhooks to the outbox, due now."""
        ...

    def any_due(self, now: datetime) -> bool:
        """Whether any webhook is due."""
        ...

    def claim(self, owner: str, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        """Take up to `limit` due webhooks, oldest due first, skipping rows others hold."""
        ...

    def claimed(self, outbox_ids: Sequence[int]) -> list[Claimed]:
        """These outbox rows (as claim returned them), those that exist."""
        ...

    def finish(
        self,
        owner: str,
        outbox_id: int,
        *,
        state: int,
        tried: int,
        next_at: datetime,
        error: str | None,
        sent_at: datetime | None,
    ) -> bool:
        """Record an attempt's outcome on a row `owner` still holds."""
        ...

    def defer_endpoint(self, endpoint: str, until: datetime) -> int:
        """Postpone the unclaimed pending webhooks to an endpoint due before `until`."""
        ...

    def secrets(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The signing secret of each of these users that has one."""
        ...

    def set_secret(self, user_id: int, secret: str, now: datetime, *, replace: bool) -> str:
        """Give a user a secret (replacing an old one only if `replace`); its secret now."""
        ...

    def listing(self, states: Sequence[int], user_id: int | None, limit: int) -> list[OutboxRow]:
        """The newest outbox rows in these states (of one user if given)."""
        ...

    def forget_finished(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` delivered or failed webhooks created before `before`;
        how many."""


class ReceiptRepo(Protocol):
    """The durable inbox of delivery receipts, and the parts of multipart items."""

    def add(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        """Record receipts (each names its link) as received now."""
        ...

    def any_due(self, now: datetime) -> bool:
        """Whether any receipt waits to be applied now."""
        ...

    def claim(self, now: datetime, limit: int) -> list[HeldReceipt]:
        """Up to `limit` receipts due now, oldest first, locked (others skip them)."""
        ...

    def delete(self, ids: Sequence[int]) -> None:
        """Forget receipts applied or dropped."""
        ...

    def postpone(self, ids: Sequence[int], until: datetime) -> None:
        """Try these receipts again at `until`."""
        ...

    def add_parts(self, parts: Sequence[tuple[str, str, int]]) -> None:
        """(link, part reference, item id) of items sent as several messages."""
        ...

    def parts_of_refs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """{(link, part reference): item id} of the known parts among these."""
        ...

    def record_parts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Each part takes the outcome of its first receipt."""
        ...

    def parts_of_items(self, item_ids: Sequence[int]) -> dict[int, list[Outcome | None]]:
        """{item id: each part's outcome, None while a part has no receipt}."""
        ...

    def forget_parts(self, item_ids: Sequence[int]) -> None:
        """Forget the parts of settled items."""
        ...

    def any_settled_parts(self) -> bool:
        """Whether parts of items settled without them (timed out) are left."""
        ...

    def forget_settled_parts(self) -> int:
        """Forget the parts of items settled without them; how many."""
        ...


class UserRepo(Protocol):
    """Users, their hierarchy and credentials."""

    def credential(self, username: str) -> Credential | None:
        """What authentication needs of a user, by name."""
        ...

    def by_name(self, username: str) -> User | None:
        """A user by name."""
        ...

    def by_id(self, user_id: int) -> User | None:
        """A user by id (for work the platform does on a user's behalf)."""
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

    def cancel_waiting(self, package_id: int, now: datetime) -> Cancelled:
        """Cancel the package's waiting items (marked refunded: the caller gives their
        price back); how many moved and what they cost."""
        ...

    def set_state(
        self, package_id: int, state: PackageState, now: datetime, error: str | None = None
    ) -> None:
        """Set a package's state (and the error that failed it)."""
        ...

    def series_due(self, until: datetime, limit: int) -> list[Package]:
        """Up to `limit` series whose next run is due by `until`, the most overdue first."""
        ...

    def advance_series(
        self, package_id: int, expected: datetime, next_at: datetime, next_no: int
    ) -> bool:
        """Move a series to its next run, if its next run is still `expected` (the gate
        that lets one worker create each run); False when another did, or it stopped."""
        ...

    def stop_series(self, package_id: int, now: datetime) -> bool:
        """Create no further runs of this series; False when it was not running."""
        ...

    def runs_of(self, package_id: int) -> list[int]:
        """The ids of a series' runs, in order."""
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

    def all_items(self, package_id: int) -> list[Item]:
        """Every item of a package, in order (one read, for a whole report)."""
        ...

    def add_groups(self, package_id: int, group_uuids: Sequence[str]) -> None:
        """Remember the contact groups a package was sent to."""
        ...

    def groups_of(self, package_id: int) -> list[str]:
        """The uuids of the contact groups a package was sent to."""
        ...

    def summary(self, scope: Scope, dates: DateRange) -> Summary:
        """Totals over the packages in scope sent within the dates."""
        ...

    def deliveries(
        self, scope: Scope, target: str, sender: str | None, dates: DateRange, page: PageRequest
    ) -> Page[Delivery]:
        """One page of what was sent to a number within the dates, newest first."""
        ...


class MoRepo(Protocol):
    """MO messages, the short numbers and opt-out keywords they are matched with, and the
    opt-outs they recorded."""

    def owners(self, numbers: Sequence[str]) -> dict[str, int]:
        """{short number: user id} of the numbers some user receives MO on."""
        ...

    def keywords(self, user_ids: Sequence[int]) -> dict[int, set[str]]:
        """The folded opt-out keywords of each user that has any."""
        ...

    def add_message(self, message: NewMoMessage) -> int | None:
        """Store an MO message; its id, or None when its (link, carrier_ref) is stored
        already (a redelivery: nothing changes)."""
        ...

    def listing(self, scope: Scope, filters: MoFilter, page: PageRequest) -> Page[MoMessage]:
        """One page of the MO messages of users in scope, newest first."""
        ...

    def add_number(self, user_id: int, number: str, now: datetime) -> bool:
        """Give a user a short number; False when some user has it already."""
        ...

    def remove_number(self, user_id: int, number: str) -> bool:
        """Take a short number from its user; False when the user does not have it."""
        ...

    def numbers(self, user_id: int) -> list[MoNumber]:
        """A user's short numbers, in order."""
        ...

    def add_keyword(self, user_id: int, keyword: str, now: datetime) -> bool:
        """Add a folded opt-out keyword; False when the user has it already."""
        ...

    def remove_keyword(self, user_id: int, keyword: str) -> bool:
        """Remove a folded opt-out keyword; False when the user does not have it."""
        ...

    def add_optout(self, user_id: int, number: str, exit_type: int, now: datetime) -> bool:
        """Record that a number opted out of a user's messages; False when it had."""
        ...

    def optouts(self, user_id: int) -> list[OptOut]:
        """The numbers that opted out of a user's messages, in order."""


class LinkRepo(Protocol):
    """Carrier links managed by operators."""

    def listing(self) -> list[Link]:
        """Every link, by priority then name."""
        ...

    def get(self, name: str) -> Link | None:
        """A link by name."""
        ...

    def add(self, link: Link) -> bool:
        """Insert a link; False when its name is taken."""
        ...

    def update(self, name: str, now: datetime, **values: Any) -> Link | None:
        """Set fields of a link by name; the link, or None when there is none."""
        ...

    def remove(self, name: str) -> bool:
        """Delete a link; False when there was none."""
        ...


class WorkerRepo(Protocol):
    """Heartbeats of the dispatcher processes."""

    def beat(self, worker_id: str, host: str, pid: int, now: datetime) -> None:
        """Record that a worker is alive now."""
        ...

    def live(self, since: datetime) -> int:
        """How many workers were seen since then."""
        ...

    def leave(self, worker_id: str) -> None:
        """Forget a worker that stops."""
        ...

    def forget_before(self, before: datetime) -> int:
        """Delete the rows of workers not seen since then; how many."""


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

    def recipients(self, user_id: int, group_ids: Sequence[int]) -> Iterator[GroupMember]:
        """The user's live contacts with a valid number linked to any of these groups,
        each once, in id order, streamed."""
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


class KvkkRepo(Protocol):
    """KVKK consent links and their answers."""

    def add(self, link: NewLink) -> bool:
        """Store a link; False when its token is taken (nothing written)."""
        ...

    def by_token(self, token: str) -> KvkkLink | None:
        """The link of a token, or None."""
        ...

    def answer(
        self,
        token: str,
        answer: str,
        at: datetime,
        client_address: str | None,
        user_agent: str | None,
    ) -> bool:
        """Record the answer of an unanswered link not expired at `at`; whether this call
        recorded it."""
        ...

    def record_consent(self, user_id: int, number: str, source: str, at: datetime) -> int:
        """Stamp the consent's source on the user's links to `number` answered at `at`;
        how many rows."""
        ...


class IysRepo(Protocol):
    """İYS settings per user and consents per user × recipient, with their
    synchronisation state; claims fenced by owner like the items queue."""

    def settings(self, user_ids: Sequence[int]) -> dict[int, IysSettings]:
        """The İYS settings of each of these users that has any."""
        ...

    def save_settings(
        self, user_id: int, iys_code: str | None, brand_code: str | None, now: datetime
    ) -> None:
        """Set a user's İYS and brand codes."""
        ...

    def consent(self, user_id: int, recipient: str) -> Consent | None:
        """A user's consent for a recipient (type MESAJ)."""
        ...

    def add_consent(self, new: NewConsent, now: datetime) -> bool:
        """Insert a consent waiting to be synchronised; False when there is one."""
        ...

    def change_consent(self, new: NewConsent, now: datetime) -> None:
        """Replace a consent's status and origin; it waits to be synchronised again, and
        a synchronisation in flight of its former status is fenced out."""
        ...

    def states(self, user_id: int, numbers: Sequence[str]) -> dict[str, int]:
        """{recipient: İYS state} of the user's consents among these numbers (one query)."""
        ...

    def approved(self, user_id: int, numbers: Sequence[str]) -> set[str]:
        """The numbers among these with an approved consent (ONAY, accepted; one query)."""
        ...

    def listing(self, user_id: int, limit: int) -> list[Consent]:
        """A user's newest consents, newest first."""
        ...

    def claim_pending(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Consent]:
        """Mark up to `limit` consents due for synchronisation PROCESSING for `owner`."""
        ...

    def finish_sync(
        self,
        owner: str,
        consent_id: int,
        state: int,
        error: str | None,
        attempts: int,
        next_sync_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record a synchronisation's outcome; False when `owner` lost the claim."""


class ApiKeyRepo(Protocol):
    """API keys of the FinSMS v1 facade and its audit log."""

    def add(
        self,
        user_id: int,
        key: str,
        secret_hash: str,
        label: str | None,
        allowed_ips: Sequence[str],
        now: datetime,
    ) -> int:
        """Store a new key; its id."""
        ...

    def by_key(self, key: str) -> ApiKey | None:
        """A key by its public identifier, revoked or not."""
        ...

    def of_user(self, user_id: int | None) -> list[ApiKey]:
        """The keys of a user (None: every user's), oldest first."""
        ...

    def revoke(self, key_id: int, now: datetime) -> bool:
        """Revoke a key that is not revoked yet; False when it already was."""
        ...

    def rotate(
        self, key_id: int, old_hash: str, new_hash: str, grace_until: datetime, now: datetime
    ) -> bool:
        """Replace the secret whose hash is `old_hash`, keeping it valid until `grace_until`."""
        ...

    def touch(self, uses: Sequence[tuple[int, datetime, str | None]]) -> None:
        """Record the last use (time, address) of keys."""
        ...

    def log(self, entries: Sequence[NewAudit]) -> None:
        """Append requests to the audit log."""
        ...

    def audit(
        self, key: str | None, user_id: int | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """The newest audit entries, of one key or of a user's keys, since a time."""


class ImportRepo(Protocol):
    """Contact imports (/contact/import) and the bulk write of their rows."""

    def add(self, user_id: int, options: ImportOptions, csv_data: str | None,
            owner: str | None, lease_until: datetime | None,
            now: datetime) -> ContactImport | None:  # fmt: skip
        """A new import, pending (running when given an owner); None when the user has an
        open import already."""
        ...

    def fail_abandoned(self, user_id: int, error: str, now: datetime) -> int:
        """Fail the user's CLI imports whose process died (running, no CSV, lease expired)."""
        ...

    def get(self, import_id: int) -> ContactImport | None:
        """An import by id."""
        ...

    def source(self, import_id: int) -> str | None:
        """The CSV of an import submitted over the API (None: a CLI import's file)."""
        ...

    def next_claimable(self, now: datetime) -> int | None:
        """The oldest import waiting, or running under an expired lease."""
        ...

    def claim(self, import_id: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take an import if it is still claimable (never two owners)."""
        ...

    def save_progress(self, import_id: int, owner: str, counts: ImportCounts,
                      records_done: int, until: datetime) -> bool:  # fmt: skip
        """Record progress and extend the lease; False when `owner` lost the import."""
        ...

    def finish(self, import_id: int, owner: str, state: ImportState, counts: ImportCounts,
               error: str | None, now: datetime) -> bool:  # fmt: skip
        """Close an import (done or failed), dropping its CSV; False when `owner` lost it."""
        ...

    def listing(self, user_id: int, limit: int) -> list[ContactImport]:
        """A user's latest imports, newest first."""
        ...

    def refresh_statistics(self) -> None:
        """Let the database's planner see the tables an import grew."""
        ...

    def write_chunk(self, user_id: int, rows: Sequence[ImportRow], options: ImportOptions,
                    group_ids: Sequence[int], now: datetime) -> tuple[int, int]:  # fmt: skip
        """Write one chunk of valid rows: (contacts created, contacts updated)."""
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
    def mo(self) -> MoRepo:
        """MO messages, short numbers, keywords and opt-outs."""
        ...

    @property
    def links(self) -> LinkRepo:
        """Carrier links."""
        ...

    @property
    def workers(self) -> WorkerRepo:
        """The dispatchers' heartbeats."""
        ...

    @property
    def webhooks(self) -> WebhookRepo:
        """The webhook outbox and signing secrets."""
        ...

    @property
    def receipts(self) -> ReceiptRepo:
        """The receipt inbox and parts of multipart items."""
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

    @property
    def kvkk(self) -> KvkkRepo:
        """KVKK consent links."""
        ...

    @property
    def iys(self) -> IysRepo:
        """İYS settings and consents."""
        ...

    @property
    def apikeys(self) -> ApiKeyRepo:
        """API keys and the facade's audit log."""
        ...

    @property
    def imports(self) -> ImportRepo:
        """Contact imports."""
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
