"""The contact book: contacts, groups and the blacklist of each user.

Rules kept here, once:
- a contact is unique per (user, number); creating an archived (deleted) contact's
  number again restores it with the new fields, keeping its uuid;
- the blacklist is per user and keyed by number (a number need not be a contact): the
  `blacklist` table is what sending reads; a contact's status mirrors it for the list
  filter, and `blacklist_numbers`/`whitelist_numbers` keep the two equal;
- deleting contacts or groups needs the caller's IP allow-list to be configured, and
  runs one at a time per user (SMS50);
- another user's contact or group is "not found" (the one visibility rule).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from service.domain.constants import ExitType, IysState
from service.domain.contacts import (
    Contact,
    ContactFields,
    ContactFilter,
    ContactInput,
    ContactStatus,
    Group,
    GroupFilter,
    GroupInput,
    check_count,
    check_title,
    status_of,
)
from service.domain.errors import DomainError, Err, invalid
from service.domain.ids import uuid7
from service.domain.principal import Principal, visible_to
from service.domain.queries import PageRequest
from service.domain.records import Page
from service.services.platform import Platform
from service.services.ports import Tx

T = TypeVar("T")

# A delete holding its lease longer than this is taken for crashed; its lease expires.
DELETE_LEASE = timedelta(minutes=10)
_DELETE_LOCK = "contact-delete"


# --- the blacklist, for set-blacklist, contacts and the MO opt-out ---------------------
def blacklist_numbers(
    tx: Tx, user_id: int, numbers: Sequence[str], exit_type: ExitType, now: datetime
) -> None:
    """Put normalised numbers on the user's blacklist, with how they exited; numbers
    that are not contacts become blacklisted contacts (the spec's set-blacklist and MO
    opt-out both add them). Runs in the caller's transaction."""
    numbers = list(dict.fromkeys(numbers))
    tx.blacklist.add(user_id, numbers, int(exit_type), now)
    tx.contacts.set_status(user_id, numbers, int(ContactStatus.BLACK), int(exit_type), now)
    _add_missing(tx, user_id, numbers, ContactStatus.BLACK, int(exit_type), now)


def whitelist_numbers(tx: Tx, user_id: int, numbers: Sequence[str], now: datetime) -> None:
    """Take numbers off the user's blacklist; numbers that are not contacts become
    contacts (set-blacklist with status false adds them too)."""
    numbers = list(dict.fromkeys(numbers))
    tx.blacklist.remove(user_id, numbers)
    tx.contacts.set_status(user_id, numbers, int(ContactStatus.WHITE), None, now)
    _add_missing(tx, user_id, numbers, ContactStatus.WHITE, None, now)


def _add_missing(
    tx: Tx,
    user_id: int,
    numbers: list[str],
    status: ContactStatus,
    exit_type: int | None,
    now: datetime,
) -> None:
    # Archived contacts count as known: their status moved with set_status.
    known = tx.contacts.ids_by_number(user_id, numbers, archived=True)
    for gsm in numbers:
        if gsm not in known:
            tx.contacts.add(uuid7(), user_id, _bare(gsm), int(status), exit_type, now)


def _bare(gsm: str) -> ContactFields:
    return ContactFields(gsm, None, None, {}, None, None, None, None, None)


def set_blacklist(
    platform: Platform,
    principal: Principal,
    status: bool,
    uuids: Sequence[str],
    gsms: Sequence[str],
) -> None:
    """/contact/set-blacklist: (un)blacklist contacts by uuid and numbers by gsm."""
    check_count(len(uuids) + len(gsms), "uuids")
    now = platform.clock.now()
    with platform.uow.write() as tx:
        found = _contacts_by_uuid(tx, principal, uuids)
        numbers = [c.gsm for c in found] + list(gsms)
        if status:
            blacklist_numbers(tx, principal.user_id, numbers, ExitType.WEB, now)
        else:
            whitelist_numbers(tx, principal.user_id, numbers, now)


def _contacts_by_uuid(tx: Tx, principal: Principal, uuids: Sequence[str]) -> list[Contact]:
    found = []
    for uuid in dict.fromkeys(uuids):
        contact = tx.contacts.find(visible_to(principal), uuid)
        if contact is None:
            raise DomainError(Err.ERR_CONTACT_NOT_FOUND, uuid, field="uuids")
        found.append(contact)
    return found


# --- contacts --------------------------------------------------------------------------
def create_contact(platform: Platform, principal: Principal, req: ContactInput) -> Contact:
    """/contact/create: a new contact (or an archived one restored); the contact."""
    if req.gsm is None:
        raise invalid("gsm", "zorunlu")
    now = platform.clock.now()
    with platform.uow.write() as tx:
        existing = tx.contacts.by_number(principal.user_id, req.gsm)
        if existing is not None and not existing.archived:
            raise DomainError(Err.ERR_CONTACT_ALREADY_EXISTS, field="gsm")
        fields = _fields(req, None)
        if existing is None:
            contact_id = tx.contacts.add(uuid7(), principal.user_id, fields, 1, None, now)
            if contact_id is None:  # created by a concurrent request meanwhile
                raise DomainError(Err.ERR_CONTACT_ALREADY_EXISTS, field="gsm")
        else:
            contact_id = existing.id
            tx.contacts.update(contact_id, fields, 1, None, now)
        _apply(tx, principal, contact_id, req, fields.gsm, now)
        found = tx.contacts.by_number(principal.user_id, fields.gsm)
    assert found is not None
    return found


def update_contact(platform: Platform, principal: Principal, uuid: str, req: ContactInput) -> None:
    """/contact/update: change a contact's given fields (the others stay)."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        current = tx.contacts.find(visible_to(principal), uuid)
        if current is None:
            raise DomainError(Err.ERR_CONTACT_NOT_FOUND, field="uuid")
        fields = _fields(req, current)
        if not tx.contacts.update(current.id, fields, current.status, current.exit_type, now):
            raise DomainError(Err.ERR_CONTACT_ALREADY_EXISTS, field="gsm")
        if fields.gsm != current.gsm and req.blacklisted is None:
            # The blacklist is by number: the new number's own state is the contact's.
            listed = bool(tx.blacklist.blocked(current.user_id, [fields.gsm]))
            req = ContactInput(**{**req.__dict__, "blacklisted": listed})
        _apply(tx, principal, current.id, req, fields.gsm, now)


def _fields(req: ContactInput, current: Contact | None) -> ContactFields:
    """The columns to write: the request's values over the current ones."""

    def pick(new: T | None, old: T | None) -> T | None:
        return new if new is not None else old

    iys = req.iys
    # New contacts with İYS data wait for the sync (a later task); an update syncs again
    # only when iys.send is true, as the spec says.
    waiting = iys is not None and (current is None or iys.send)
    return ContactFields(
        gsm=req.gsm or (current.gsm if current else ""),
        first_name=pick(req.first_name, current.first_name if current else None),
        last_name=pick(req.last_name, current.last_name if current else None),
        details=req.details if req.details is not None else (current.details if current else {}),
        iys_state=int(IysState.WAITING_SYNC)
        if waiting
        else (current.iys_state if current else None),
        iys_type=int(iys.recipient_type) if iys else (current.iys_type if current else None),
        iys_source=int(iys.source) if iys else (current.iys_source if current else None),
        query_call=pick(req.query_call, current.query_call if current else None),
        query_email=pick(req.query_email, current.query_email if current else None),
    )


def _apply(
    tx: Tx, principal: Principal, contact_id: int, req: ContactInput, gsm: str, now: datetime
) -> None:
    """Group links and blacklist state of a contact just written."""
    if req.group_uuids is not None:
        groups = [find_group(tx, principal, g) for g in dict.fromkeys(req.group_uuids)]
        tx.contacts.set_groups(contact_id, [g.id for g in groups])
    if req.blacklisted is True:
        blacklist_numbers(tx, principal.user_id, [gsm], ExitType.WEB, now)
    elif req.blacklisted is False:
        whitelist_numbers(tx, principal.user_id, [gsm], now)
    elif not tx.blacklist.blocked(principal.user_id, [gsm]):
        tx.contacts.set_status(principal.user_id, [gsm], int(status_of(False)), None, now)
    else:  # a number blacklisted before it was a contact (an MO opt-out) stays so
        tx.contacts.set_status(principal.user_id, [gsm], int(status_of(True)), None, now)


def delete_contacts(
    platform: Platform,
    principal: Principal,
    uuids: Sequence[str],
    *,
    permanent: bool,
    group_uuid: str | None,
) -> None:
    """/contact/delete: to the archive (or for good), only those in `group_uuid` if given."""
    require_allowlist(principal)
    check_count(len(uuids), "uuids")
    now = platform.clock.now()

    def work(tx: Tx) -> None:
        found = tx.contacts.ids(visible_to(principal), uuids, archived=permanent)
        missing = next((u for u in uuids if u not in found), None)
        if missing is not None:
            raise DomainError(Err.ERR_CONTACT_NOT_FOUND, missing, field="uuids")
        ids = list(dict.fromkeys(found[u] for u in uuids))
        if group_uuid is not None:
            ids = tx.contacts.in_group(find_group(tx, principal, group_uuid).id, ids)
        if permanent:
            tx.contacts.purge(ids)
        else:
            tx.contacts.archive(ids, now)

    _one_at_a_time(platform, principal, work)


def list_contacts(
    platform: Platform,
    principal: Principal,
    filters: ContactFilter,
    group_uuid: str | None,
    page: PageRequest,
) -> Page[Contact]:
    """/contact/list: one page of the caller's live contacts, oldest first."""
    with platform.uow.read() as tx:
        if group_uuid is not None:
            group = find_group(tx, principal, group_uuid)
            filters = ContactFilter(filters.status, filters.iys_state, filters.exit_type, group.id)
        return tx.contacts.listing(visible_to(principal), filters, page)


# --- groups ----------------------------------------------------------------------------
def find_group(tx: Tx, principal: Principal, uuid: str) -> Group:
    """One of the caller's groups; another user's group is not found (SMS10)."""
    group = tx.groups.find(visible_to(principal), uuid)
    if group is None:
        raise DomainError(Err.ERR_PARENT_CONTACT_GROUP_NOT_FOUND, uuid)
    return group


def create_group(platform: Platform, principal: Principal, req: GroupInput) -> Group:
    """/contact/create-group: a group, a sub-group with parentUUID; gsms linked to it."""
    title = check_title(req.title)
    check_count(len(req.gsms), "gsms")
    now = platform.clock.now()
    with platform.uow.write() as tx:
        parent_id = _parent(tx, principal, req.parent_uuid, None)
        uuid = uuid7()
        group_id = tx.groups.add(uuid, principal.user_id, title, parent_id, now)
        if group_id is None:
            raise DomainError(Err.ERR_CONTACT_GROUP_ALREADY_EXISTS, field="title")
        _link_numbers(tx, principal, group_id, req.gsms)
        return find_group(tx, principal, uuid)


def update_group(platform: Platform, principal: Principal, uuid: str, req: GroupInput) -> None:
    """/contact/update-group: rename, move (parentUUID) and link more gsms."""
    check_count(len(req.gsms), "gsms")
    with platform.uow.write() as tx:
        group = find_group(tx, principal, uuid)
        title = check_title(req.title) if req.title is not None else group.title
        parent_id = group.parent_id
        if req.parent_uuid is not None:
            parent_id = _parent(tx, principal, req.parent_uuid, group.id)
        if not tx.groups.update(group.id, title, parent_id):
            raise DomainError(Err.ERR_CONTACT_GROUP_ALREADY_EXISTS, field="title")
        _link_numbers(tx, principal, group.id, req.gsms)


def _parent(
    tx: Tx, principal: Principal, parent_uuid: str | None, moving: int | None
) -> int | None:
    """The id of the parent a group may go under: found, holding no contacts, and not
    the group itself or one of its sub-groups."""
    if parent_uuid is None:
        return None
    parent = find_group(tx, principal, parent_uuid)
    if moving is not None and parent.id in tx.groups.subtree([moving]):
        raise invalid("parentUUID", "grup kendisinin veya bir alt grubunun altına taşınamaz")
    if tx.groups.has_contacts(parent.id):
        raise DomainError(Err.ERR_PARENT_CONTACT_GROUP_NOT_EMPTY, field="parentUUID")
    return parent.id


def _link_numbers(tx: Tx, principal: Principal, group_id: int, gsms: Sequence[str]) -> None:
    """Link the caller's live contacts with these numbers (others are ignored: the spec
    links numbers already in the book)."""
    if gsms:
        found = tx.contacts.ids_by_number(principal.user_id, gsms)
        tx.contacts.link(group_id, list(found.values()))


def delete_groups(
    platform: Platform, principal: Principal, uuids: Sequence[str], *, include_contacts: bool
) -> None:
    """/contact/delete-group: groups and their sub-groups go, with their links; with
    `include_contacts`, their contacts left in no other group go to the archive."""
    require_allowlist(principal)
    check_count(len(uuids), "uuids")
    now = platform.clock.now()

    def work(tx: Tx) -> None:
        groups = [find_group(tx, principal, u) for u in dict.fromkeys(uuids)]
        ids = tx.groups.subtree([g.id for g in groups])
        contacts = tx.groups.members(ids) if include_contacts else []
        tx.groups.delete(ids)
        if contacts:
            tx.contacts.archive(tx.contacts.ungrouped(contacts), now)

    _one_at_a_time(platform, principal, work)


def list_groups(
    platform: Platform,
    principal: Principal,
    keyword: str | None,
    parent_uuid: str | None,
    page: PageRequest,
) -> Page[Group]:
    """/contact/list-group: one page of the caller's groups, by title."""
    with platform.uow.read() as tx:
        parent_id = find_group(tx, principal, parent_uuid).id if parent_uuid else None
        return tx.groups.listing(visible_to(principal), GroupFilter(keyword, parent_id), page)


# --- the rules of deletion -------------------------------------------------------------
def require_allowlist(principal: Principal) -> None:
    """Deleting contacts or groups needs an IP allow-list (the spec: "an IP restriction
    configured in the user's API settings")."""
    if not principal.allowed_ips:
        raise DomainError(
            Err.ERR_USER_NOT_AUTHORIZED, "Bu işlem için API ayarlarında IP kısıtı tanımlanmalı."
        )


def _one_at_a_time(platform: Platform, principal: Principal, work: Callable[[Tx], None]) -> None:
    """Run a delete under the user's lease: a second one meanwhile is SMS50."""
    token = str(uuidlib.uuid4())
    user_id = principal.user_id
    now = platform.clock.now()
    with platform.uow.write() as tx:  # committed at once: other workers must see it
        if not tx.locks.acquire(user_id, _DELETE_LOCK, token, now, now + DELETE_LEASE):
            raise DomainError(Err.ERR_MULTI_REQUEST_NOT_PERMITTED)
    try:
        with platform.uow.write() as tx:
            work(tx)
    finally:
        with platform.uow.write() as tx:
            tx.locks.release(user_id, _DELETE_LOCK, token)
