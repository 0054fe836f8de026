"""Contacts, groups, the blacklist, IP allow-lists and user locks, in memory.

Their tables live in `MemoryDatabase.extra` (one dict each), so the database's copy on
a refused write puts them back like the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.contacts import (
    Contact,
    ContactFields,
    ContactFilter,
    ContactStatus,
    Group,
    GroupFilter,
    GroupRef,
)
from service.domain.principal import Scope
from service.domain.queries import PageRequest
from service.domain.records import Page
from service.domain.sending import GroupMember
from service.store.memory.accounts import in_scope

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


def _table(db: MemoryDatabase, name: str) -> dict[Any, Any]:
    table: dict[Any, Any] = db.extra.setdefault(name, {})
    return table


@dataclasses.dataclass(frozen=True)
class _Row:
    """A stored group: what a Group shows is derived from these."""

    id: int
    uuid: str
    user_id: int
    title: str
    parent_id: int | None


class MemoryContacts:
    """The in-memory twin of SqlContacts; contacts kept without their groups."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.rows: dict[int, Contact] = _table(db, "contacts")
        self.members: dict[tuple[int, int], bool] = _table(db, "members")  # (group, contact)

    def add(
        self,
        uuid: str,
        user_id: int,
        fields: ContactFields,
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> int | None:
        """Insert a contact; None when the user has that number already."""
        if self.by_number(user_id, fields.gsm) is not None:
            return None
        contact_id = self.db.next_id("contacts")
        self.rows[contact_id] = Contact(
            contact_id, uuid, user_id, **_fields(fields), status=status,
            exit_type=exit_type, created_at=now,
        )  # fmt: skip
        return contact_id

    def by_number(self, user_id: int, gsm: str) -> Contact | None:
        """A user's contact by number, archived or not."""
        found = next((c for c in self.rows.values() if (c.user_id, c.gsm) == (user_id, gsm)), None)
        return None if found is None else self._grouped(found)

    def find(self, scope: Scope, uuid: str) -> Contact | None:
        """A live contact in scope by uuid."""
        found = next((c for c in self.rows.values() if c.uuid == uuid), None)
        if found is None or found.archived or not in_scope(self.db, found.user_id, scope):
            return None
        return self._grouped(found)

    def ids(self, scope: Scope, uuids: Sequence[str], *, archived: bool) -> dict[str, int]:
        """{uuid: id} of the contacts in scope among `uuids`."""
        wanted = set(uuids)
        return {
            c.uuid: c.id
            for c in self.rows.values()
            if c.uuid in wanted
            and (archived or not c.archived)
            and in_scope(self.db, c.user_id, scope)
        }

    def ids_by_number(
        self, user_id: int, gsms: Sequence[str], *, archived: bool = False
    ) -> dict[str, int]:
        """{number: id} of the user's live (with `archived`, all) contacts among `gsms`."""
        wanted = set(gsms)
        return {
            c.gsm: c.id
            for c in self.rows.values()
            if c.user_id == user_id and c.gsm in wanted and (archived or not c.archived)
        }

    def update(
        self,
        contact_id: int,
        fields: ContactFields,
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> bool:
        """Write a contact's fields, restoring it; False when the number is taken."""
        current = self.rows[contact_id]
        other = self.by_number(current.user_id, fields.gsm)
        if other is not None and other.id != contact_id:
            return False
        self.rows[contact_id] = dataclasses.replace(
            current, **_fields(fields), status=status, exit_type=exit_type, archived=False
        )
        return True

    def set_status(
        self,
        user_id: int,
        gsms: Sequence[str],
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> None:
        """Set the status and exit type of the user's contacts with these numbers."""
        wanted = set(gsms)
        for c in list(self.rows.values()):
            if c.user_id == user_id and c.gsm in wanted and c.status != ContactStatus.INVALID:
                self.rows[c.id] = dataclasses.replace(c, status=status, exit_type=exit_type)

    def set_groups(self, contact_id: int, group_ids: Sequence[int]) -> None:
        """Replace a contact's group links."""
        for key in [k for k in self.members if k[1] == contact_id]:
            del self.members[key]
        for group_id in group_ids:
            self.members[(group_id, contact_id)] = True

    def link(self, group_id: int, contact_ids: Sequence[int]) -> None:
        """Link contacts to a group."""
        for contact_id in contact_ids:
            self.members[(group_id, contact_id)] = True

    def in_group(self, group_id: int, contact_ids: Sequence[int]) -> list[int]:
        """The contacts among `contact_ids` linked to the group."""
        return [c for c in contact_ids if (group_id, c) in self.members]

    def ungrouped(self, contact_ids: Sequence[int]) -> list[int]:
        """The live contacts among `contact_ids` linked to no group."""
        linked = {c for _, c in self.members}
        return [
            c
            for c in contact_ids
            if c not in linked and c in self.rows and not self.rows[c].archived
        ]

    def archive(self, contact_ids: Sequence[int], now: datetime) -> None:
        """Move contacts to the archive; their group links go."""
        for contact_id in contact_ids:
            self.set_groups(contact_id, ())
            self.rows[contact_id] = dataclasses.replace(self.rows[contact_id], archived=True)

    def purge(self, contact_ids: Sequence[int]) -> None:
        """Delete contacts for good, with their group links."""
        for contact_id in contact_ids:
            self.set_groups(contact_id, ())
            self.rows.pop(contact_id, None)

    def listing(self, scope: Scope, filters: ContactFilter, page: PageRequest) -> Page[Contact]:
        """One page of the live contacts in scope, oldest first, with their groups."""
        rows = [
            c
            for _, c in sorted(self.rows.items())
            if not c.archived and in_scope(self.db, c.user_id, scope) and _matches(self, c, filters)
        ]
        chosen = rows[page.offset : page.offset + page.size]
        return Page(len(rows), [self._grouped(c) for c in chosen])

    def _grouped(self, contact: Contact) -> Contact:
        groups: dict[int, _Row] = _table(self.db, "groups")
        refs = tuple(
            GroupRef(groups[g].uuid, groups[g].title)
            for g, c in sorted(self.members)
            if c == contact.id and g in groups
        )
        return dataclasses.replace(contact, groups=refs)


def _matches(repo: MemoryContacts, c: Contact, filters: ContactFilter) -> bool:
    return (
        filters.status in (ContactStatus.ALL, c.status)
        and filters.iys_state in (None, c.iys_state)
        and filters.exit_type in (None, c.exit_type)
        and (filters.group_id is None or (filters.group_id, c.id) in repo.members)
    )


def _fields(fields: ContactFields) -> dict[str, Any]:
    return {f.name: getattr(fields, f.name) for f in dataclasses.fields(fields)}


class MemoryGroups:
    """The in-memory twin of SqlGroups."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.rows: dict[int, _Row] = _table(db, "groups")
        self.links: dict[tuple[int, int], bool] = _table(db, "members")

    def add(
        self, uuid: str, user_id: int, title: str, parent_id: int | None, now: datetime
    ) -> int | None:
        """Insert a group; None when the user has that title already."""
        if any(g.user_id == user_id and g.title == title for g in self.rows.values()):
            return None
        group_id = self.db.next_id("groups")
        self.rows[group_id] = _Row(group_id, uuid, user_id, title, parent_id)
        return group_id

    def find(self, scope: Scope, uuid: str) -> Group | None:
        """A group in scope by uuid."""
        found = next((g for g in self.rows.values() if g.uuid == uuid), None)
        if found is None or not in_scope(self.db, found.user_id, scope):
            return None
        return self._group(found)

    def update(self, group_id: int, title: str, parent_id: int | None) -> bool:
        """Rename or move a group; False when the user has that title already."""
        row = self.rows[group_id]
        if any(
            g.user_id == row.user_id and g.title == title and g.id != group_id
            for g in self.rows.values()
        ):
            return False
        self.rows[group_id] = dataclasses.replace(row, title=title, parent_id=parent_id)
        return True

    def has_contacts(self, group_id: int) -> bool:
        """Whether any contact is linked to the group."""
        return any(g == group_id for g, _ in self.links)

    def subtree(self, group_ids: Sequence[int]) -> list[int]:
        """The groups and all their sub-groups, descendants first."""
        levels = [list(dict.fromkeys(group_ids))]
        seen = set(levels[0])
        while levels[-1]:
            below = [
                g.id for g in self.rows.values() if g.parent_id in levels[-1] and g.id not in seen
            ]
            seen.update(below)
            levels.append(below)
        return [g for level in reversed(levels) for g in level]

    def members(self, group_ids: Sequence[int]) -> list[int]:
        """The contacts linked to any of these groups."""
        wanted = set(group_ids)
        return list(dict.fromkeys(c for g, c in sorted(self.links) if g in wanted))

    def recipients(self, user_id: int, group_ids: Sequence[int]) -> Iterator[GroupMember]:
        """The user's live contacts with a valid number in any of these groups, by id."""
        wanted = set(group_ids)
        linked = {c for g, c in self.links if g in wanted}
        people: dict[int, Contact] = _table(self.db, "contacts")
        for contact_id in sorted(linked):
            c = people[contact_id]
            if c.user_id == user_id and not c.archived and c.status != ContactStatus.INVALID:
                yield GroupMember(c.gsm, c.first_name, c.last_name, dict(c.details))

    def delete(self, group_ids: Sequence[int]) -> None:
        """Delete groups with their links."""
        wanted = set(group_ids)
        for key in [k for k in self.links if k[0] in wanted]:
            del self.links[key]
        for group_id in wanted:
            self.rows.pop(group_id, None)

    def listing(self, scope: Scope, filters: GroupFilter, page: PageRequest) -> Page[Group]:
        """One page of the groups in scope, by title."""
        keyword = (filters.keyword or "").lower()
        rows = sorted(
            (
                g
                for g in self.rows.values()
                if in_scope(self.db, g.user_id, scope)
                and keyword in g.title.lower()
                and filters.parent_id in (None, g.parent_id)
            ),
            key=lambda g: (g.title, g.id),
        )
        return Page(
            len(rows), [self._group(g) for g in rows[page.offset : page.offset + page.size]]
        )

    def _group(self, row: _Row) -> Group:
        parent = self.rows.get(row.parent_id) if row.parent_id is not None else None
        return Group(
            id=row.id,
            uuid=row.uuid,
            user_id=row.user_id,
            title=row.title,
            parent_id=row.parent_id,
            parent=GroupRef(parent.uuid, parent.title) if parent else None,
            contact_count=sum(1 for g, _ in self.links if g == row.id),
            is_parent=any(g.parent_id == row.id for g in self.rows.values()),
        )


class MemoryBlacklist:
    """The in-memory twin of SqlBlacklist."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.rows: dict[tuple[int, str], int | None] = _table(db, "blacklist")

    def blocked(self, user_id: int, gsms: Sequence[str]) -> set[str]:
        """The numbers among `gsms` on the user's blacklist."""
        return {g for g in gsms if (user_id, g) in self.rows}

    def add(self, user_id: int, gsms: Sequence[str], exit_type: int | None, now: datetime) -> None:
        """Put numbers on the blacklist."""
        for gsm in gsms:
            self.rows[(user_id, gsm)] = exit_type

    def remove(self, user_id: int, gsms: Sequence[str]) -> None:
        """Take numbers off the blacklist."""
        for gsm in gsms:
            self.rows.pop((user_id, gsm), None)


class MemoryAllowlist:
    """The in-memory twin of SqlAllowlist."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.rows: dict[tuple[int, str], bool] = _table(db, "allowlist")

    def networks(self, user_id: int) -> list[str]:
        """A user's allowed addresses and networks, sorted."""
        return sorted(n for u, n in self.rows if u == user_id)

    def add(self, user_id: int, network: str, now: datetime) -> bool:
        """Allow a network; False when it was allowed already."""
        if (user_id, network) in self.rows:
            return False
        self.rows[(user_id, network)] = True
        return True

    def remove(self, user_id: int, network: str) -> bool:
        """Stop allowing a network; False when it was not allowed."""
        return self.rows.pop((user_id, network), None) is not None


class MemoryLocks:
    """The in-memory twin of SqlLocks."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.rows: dict[tuple[int, str], tuple[str, datetime]] = _table(db, "locks")

    def acquire(self, user_id: int, name: str, token: str, now: datetime, until: datetime) -> bool:
        """Take the lease unless someone holds it beyond `now`."""
        held = self.rows.get((user_id, name))
        if held is not None and held[1] >= now:
            return False
        self.rows[(user_id, name)] = (token, until)
        return True

    def release(self, user_id: int, name: str, token: str) -> None:
        """Give the lease back if `token` still holds it."""
        if self.rows.get((user_id, name), ("",))[0] == token:
            del self.rows[(user_id, name)]
