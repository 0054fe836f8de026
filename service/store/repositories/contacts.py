"""Contacts, groups, the blacklist, IP allow-lists and user locks, in SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

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
from service.store.errors import is_unique_violation
from service.store.repositories.scope import visible
from service.store.schema import (
    blacklist,
    contact_group_members,
    contact_groups,
    contacts,
    user_allowed_ips,
    user_locks,
)

_CHUNK = 1000  # ids or numbers per IN list (SQLite's parameter limit is far above)
_STREAM_ROWS = 5000  # rows fetched at a time from a group's contacts


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _inserted(conn: Connection, statement: Any) -> Any:
    """The RETURNING value of a write (True without one), or None when a unique
    constraint refused it (only the write is undone: it ran in a savepoint)."""
    try:
        with conn.begin_nested():
            result = conn.execute(statement)
            # Read before the savepoint is released: SQLite refuses to release it while
            # a RETURNING cursor is open.
            return result.scalar_one() if result.returns_rows else True
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return None


def _columns(fields: ContactFields) -> dict[str, Any]:
    return {
        "gsm": fields.gsm,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "details": json.dumps(fields.details, ensure_ascii=False) if fields.details else None,
        "iys_state": fields.iys_state,
        "iys_type": fields.iys_type,
        "iys_source": fields.iys_source,
        "query_call": fields.query_call,
        "query_email": fields.query_email,
    }


def _contact(row: Any, groups: tuple[GroupRef, ...] = ()) -> Contact:
    return Contact(
        id=row.id,
        uuid=row.uuid,
        user_id=row.user_id,
        gsm=row.gsm,
        first_name=row.first_name,
        last_name=row.last_name,
        details=json.loads(row.details) if row.details else {},
        status=row.status,
        exit_type=row.exit_type,
        iys_state=row.iys_state,
        iys_type=row.iys_type,
        iys_source=row.iys_source,
        query_call=row.query_call,
        query_email=row.query_email,
        created_at=row.created_at,
        groups=groups,
        archived=row.deleted_at is not None,
    )


_LIVE = contacts.c.deleted_at.is_(None)


class SqlContacts:
    """The contacts table and group memberships."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        uuid: str,
        user_id: int,
        fields: ContactFields,
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> int | None:
        """Insert a contact; its id, or None when the user has that number already."""
        values = _columns(fields) | {
            "uuid": uuid,
            "user_id": user_id,
            "status": status,
            "exit_type": exit_type,
            "created_at": now,
            "updated_at": now,
        }
        result = _inserted(self.conn, insert(contacts).values(values).returning(contacts.c.id))
        return None if result is None else int(result)

    def by_number(self, user_id: int, gsm: str) -> Contact | None:
        """A user's contact by number, archived or not."""
        query = select(contacts).where(contacts.c.user_id == user_id, contacts.c.gsm == gsm)
        row = self.conn.execute(query).first()
        return None if row is None else self._with_groups([row])[0]

    def find(self, scope: Scope, uuid: str) -> Contact | None:
        """A live contact in scope by uuid."""
        query = select(contacts).where(
            contacts.c.uuid == uuid, _LIVE, visible(contacts.c.user_id, scope)
        )
        row = self.conn.execute(query).first()
        return None if row is None else self._with_groups([row])[0]

    def ids(self, scope: Scope, uuids: Sequence[str], *, archived: bool) -> dict[str, int]:
        """{uuid: id} of the contacts in scope among `uuids`."""
        found: dict[str, int] = {}
        for chunk in _chunks(list(uuids)):
            query = select(contacts.c.uuid, contacts.c.id).where(
                contacts.c.uuid.in_(chunk), visible(contacts.c.user_id, scope)
            )
            if not archived:
                query = query.where(_LIVE)
            found.update({r.uuid: r.id for r in self.conn.execute(query)})
        return found

    def ids_by_number(
        self, user_id: int, gsms: Sequence[str], *, archived: bool = False
    ) -> dict[str, int]:
        """{number: id} of the user's live (with `archived`, all) contacts among `gsms`."""
        found: dict[str, int] = {}
        for chunk in _chunks(list(gsms)):
            query = select(contacts.c.gsm, contacts.c.id).where(
                contacts.c.user_id == user_id, contacts.c.gsm.in_(chunk)
            )
            if not archived:
                query = query.where(_LIVE)
            found.update({r.gsm: r.id for r in self.conn.execute(query)})
        return found

    def update(
        self,
        contact_id: int,
        fields: ContactFields,
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> bool:
        """Write a contact's fields, restoring it from the archive; False when the new
        number belongs to another contact of the user."""
        values = _columns(fields) | {
            "status": status,
            "exit_type": exit_type,
            "updated_at": now,
            "deleted_at": None,
        }
        statement = update(contacts).where(contacts.c.id == contact_id).values(values)
        return _inserted(self.conn, statement) is not None

    def set_status(
        self,
        user_id: int,
        gsms: Sequence[str],
        status: int,
        exit_type: int | None,
        now: datetime,
    ) -> None:
        """Set the status and exit type of the user's contacts with these numbers."""
        for chunk in _chunks(list(gsms)):
            self.conn.execute(
                update(contacts)
                .where(contacts.c.user_id == user_id, contacts.c.gsm.in_(chunk))
                .where(contacts.c.status != int(ContactStatus.INVALID))
                .values(status=status, exit_type=exit_type, updated_at=now)
            )

    def set_groups(self, contact_id: int, group_ids: Sequence[int]) -> None:
        """Replace a contact's group links."""
        members = contact_group_members
        self.conn.execute(delete(members).where(members.c.contact_id == contact_id))
        if group_ids:
            rows = [{"group_id": g, "contact_id": contact_id} for g in dict.fromkeys(group_ids)]
            self.conn.execute(insert(members), rows)

    def link(self, group_id: int, contact_ids: Sequence[int]) -> None:
        """Link contacts to a group (links that exist stay)."""
        new = set(contact_ids) - set(self.in_group(group_id, contact_ids))
        if new:
            rows = [{"group_id": group_id, "contact_id": c} for c in sorted(new)]
            self.conn.execute(insert(contact_group_members), rows)

    def in_group(self, group_id: int, contact_ids: Sequence[int]) -> list[int]:
        """The contacts among `contact_ids` linked to the group."""
        members = contact_group_members
        found: list[int] = []
        for chunk in _chunks(list(contact_ids)):
            query = select(members.c.contact_id).where(
                members.c.group_id == group_id, members.c.contact_id.in_(chunk)
            )
            found.extend(self.conn.execute(query).scalars())
        return found

    def ungrouped(self, contact_ids: Sequence[int]) -> list[int]:
        """The live contacts among `contact_ids` linked to no group."""
        members = contact_group_members
        found: list[int] = []
        for chunk in _chunks(list(contact_ids)):
            query = select(contacts.c.id).where(
                contacts.c.id.in_(chunk),
                _LIVE,
                ~exists().where(members.c.contact_id == contacts.c.id),
            )
            found.extend(self.conn.execute(query).scalars())
        return found

    def archive(self, contact_ids: Sequence[int], now: datetime) -> None:
        """Move contacts to the archive; their group links go."""
        members = contact_group_members
        for chunk in _chunks(list(contact_ids)):
            self.conn.execute(delete(members).where(members.c.contact_id.in_(chunk)))
            self.conn.execute(
                update(contacts)
                .where(contacts.c.id.in_(chunk))
                .values(deleted_at=now, updated_at=now)
            )

    def purge(self, contact_ids: Sequence[int]) -> None:
        """Delete contacts for good, with their group links."""
        members = contact_group_members
        for chunk in _chunks(list(contact_ids)):
            self.conn.execute(delete(members).where(members.c.contact_id.in_(chunk)))
            self.conn.execute(delete(contacts).where(contacts.c.id.in_(chunk)))

    def listing(self, scope: Scope, filters: ContactFilter, page: PageRequest) -> Page[Contact]:
        """One page of the live contacts in scope, oldest first, with their groups.

        Every condition is an equality on a column that follows user_id in one of the
        partial indexes (status, iys_state, exit_type), so the count and the page walk
        one index range; a group filter walks the group's members instead.
        """
        if filters.group_id is not None:
            return self._group_listing(scope, filters, page)
        query = self._filtered(scope, filters)
        total = self._count(query)
        rows = list(
            self.conn.execute(query.order_by(contacts.c.id).limit(page.size).offset(page.offset))
        )
        return Page(total, self._with_groups(rows))

    def _filtered(self, scope: Scope, filters: ContactFilter) -> Any:
        """The live contacts in scope matching the filters other than the group."""
        query = select(contacts).where(visible(contacts.c.user_id, scope), _LIVE)
        if filters.status != ContactStatus.ALL:
            query = query.where(contacts.c.status == int(filters.status))
        if filters.iys_state is not None:
            query = query.where(contacts.c.iys_state == filters.iys_state)
        if filters.exit_type is not None:
            query = query.where(
                contacts.c.exit_type == filters.exit_type, contacts.c.exit_type.isnot(None)
            )
        return query

    def _count(self, query: Any) -> int:
        count = select(func.count()).select_from(query.with_only_columns(contacts.c.id).subquery())
        return int(self.conn.execute(count).scalar_one())

    def _group_listing(
        self, scope: Scope, filters: ContactFilter, page: PageRequest
    ) -> Page[Contact]:
        """listing() of one group's members, driven by the group's member rows.

        Written so that SQLite, which has no statistics, cannot walk the user's whole
        book probing each contact's membership (200 ms on a million contacts even for a
        group of 100): the count is `id IN (the members)`, a probe per member, and the
        page is ordered by the members' primary key (group_id, contact_id), which it
        then walks without a sort. The same rows, in the same order (contact_id = id).
        """
        members = contact_group_members
        in_group = members.c.group_id == filters.group_id
        query = self._filtered(scope, filters)
        total = self._count(
            query.where(contacts.c.id.in_(select(members.c.contact_id).where(in_group)))
        )
        page_query = (
            query.join(members, and_(members.c.contact_id == contacts.c.id, in_group))
            .order_by(members.c.contact_id)
            .limit(page.size)
            .offset(page.offset)
        )
        return Page(total, self._with_groups(list(self.conn.execute(page_query))))

    def _with_groups(self, rows: list[Any]) -> list[Contact]:
        """Contacts of these rows with their groups, read in one query."""
        groups: dict[int, list[GroupRef]] = {}
        members = contact_group_members
        ids = [r.id for r in rows]
        for chunk in _chunks(ids):
            query = (
                select(members.c.contact_id, contact_groups.c.uuid, contact_groups.c.title)
                .join(contact_groups, contact_groups.c.id == members.c.group_id)
                .where(members.c.contact_id.in_(chunk))
                .order_by(contact_groups.c.id)
            )
            for link in self.conn.execute(query):
                groups.setdefault(link.contact_id, []).append(GroupRef(link.uuid, link.title))
        return [_contact(r, tuple(groups.get(r.id, ()))) for r in rows]


_PARENT = contact_groups.alias("parent")
_CHILD = contact_groups.alias("child")
_MEMBERS = contact_group_members.alias("m")


def _group_query() -> Any:
    count = (
        select(func.count())
        .select_from(_MEMBERS)
        .where(_MEMBERS.c.group_id == contact_groups.c.id)
        .scalar_subquery()
    )
    is_parent = exists().where(_CHILD.c.parent_id == contact_groups.c.id)
    return select(
        contact_groups,
        _PARENT.c.uuid.label("parent_uuid"),
        _PARENT.c.title.label("parent_title"),
        count.label("contact_count"),
        is_parent.label("is_parent"),
    ).outerjoin(_PARENT, _PARENT.c.id == contact_groups.c.parent_id)


def _group(row: Any) -> Group:
    parent = GroupRef(row.parent_uuid, row.parent_title) if row.parent_id is not None else None
    return Group(
        id=row.id,
        uuid=row.uuid,
        user_id=row.user_id,
        title=row.title,
        parent_id=row.parent_id,
        parent=parent,
        contact_count=int(row.contact_count),
        is_parent=bool(row.is_parent),
    )


class SqlGroups:
    """The contact_groups table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, uuid: str, user_id: int, title: str, parent_id: int | None, now: datetime
    ) -> int | None:
        """Insert a group; its id, or None when the user has that title already."""
        values = {
            "uuid": uuid,
            "user_id": user_id,
            "title": title,
            "parent_id": parent_id,
            "created_at": now,
        }
        statement = insert(contact_groups).values(values).returning(contact_groups.c.id)
        result = _inserted(self.conn, statement)
        return None if result is None else int(result)

    def find(self, scope: Scope, uuid: str) -> Group | None:
        """A group in scope by uuid."""
        query = _group_query().where(
            contact_groups.c.uuid == uuid, visible(contact_groups.c.user_id, scope)
        )
        row = self.conn.execute(query).first()
        return None if row is None else _group(row)

    def update(self, group_id: int, title: str, parent_id: int | None) -> bool:
        """Rename or move a group; False when the user has that title already."""
        statement = (
            update(contact_groups)
            .where(contact_groups.c.id == group_id)
            .values(title=title, parent_id=parent_id)
        )
        return _inserted(self.conn, statement) is not None

    def has_contacts(self, group_id: int) -> bool:
        """Whether any contact is linked to the group."""
        members = contact_group_members
        query = select(literal(1)).where(members.c.group_id == group_id).limit(1)
        return self.conn.execute(query).first() is not None

    def subtree(self, group_ids: Sequence[int]) -> list[int]:
        """The groups and all their sub-groups, descendants first."""
        levels: list[list[int]] = [list(dict.fromkeys(group_ids))]
        seen = set(levels[0])
        while levels[-1]:
            query = select(contact_groups.c.id).where(contact_groups.c.parent_id.in_(levels[-1]))
            below = [g for g in self.conn.execute(query).scalars() if g not in seen]
            seen.update(below)
            levels.append(below)
        return [g for level in reversed(levels) for g in level]

    def members(self, group_ids: Sequence[int]) -> list[int]:
        """The contacts linked to any of these groups."""
        members = contact_group_members
        query = select(members.c.contact_id).where(members.c.group_id.in_(list(group_ids)))
        return list(dict.fromkeys(self.conn.execute(query).scalars()))

    def recipients(self, user_id: int, group_ids: Sequence[int]) -> Iterator[GroupMember]:
        """The user's live contacts with a valid number linked to any of these groups,
        each once, in id order: one query, its rows streamed (a group may hold millions)."""
        members = contact_group_members
        linked = select(members.c.contact_id).where(members.c.group_id.in_(list(group_ids)))
        query = (
            select(contacts.c.gsm, contacts.c.first_name, contacts.c.last_name, contacts.c.details)
            .where(
                contacts.c.user_id == user_id,
                contacts.c.id.in_(linked),
                _LIVE,
                contacts.c.status != int(ContactStatus.INVALID),
            )
            .order_by(contacts.c.id)
            .execution_options(yield_per=_STREAM_ROWS)
        )
        # Unpacked by position: a Row's attribute lookups cost more than the rest of the loop.
        for gsm, first_name, last_name, details in self.conn.execute(query):
            yield GroupMember(gsm, first_name, last_name, json.loads(details) if details else {})

    def delete(self, group_ids: Sequence[int]) -> None:
        """Delete groups (descendants given first) with their links."""
        members = contact_group_members
        ids = list(group_ids)
        self.conn.execute(delete(members).where(members.c.group_id.in_(ids)))
        for group_id in ids:  # one by one, children before their parent
            self.conn.execute(delete(contact_groups).where(contact_groups.c.id == group_id))

    def listing(self, scope: Scope, filters: GroupFilter, page: PageRequest) -> Page[Group]:
        """One page of the groups in scope, by title."""
        where = [visible(contact_groups.c.user_id, scope)]
        if filters.keyword:
            where.append(contact_groups.c.title.icontains(filters.keyword, autoescape=True))
        if filters.parent_id is not None:
            where.append(contact_groups.c.parent_id == filters.parent_id)
        count = select(func.count()).select_from(contact_groups).where(*where)
        total = int(self.conn.execute(count).scalar_one())
        query = (
            _group_query()
            .where(*where)
            .order_by(contact_groups.c.title, contact_groups.c.id)
            .limit(page.size)
            .offset(page.offset)
        )
        return Page(total, [_group(r) for r in self.conn.execute(query)])


def _numbers_in(dialect: str) -> Any:
    """`blacklist.gsm IN (the numbers of one parameter)`: one statement for any number of
    numbers, a JSON array on SQLite and a text[] on PostgreSQL."""
    if dialect == "postgresql":
        array = bindparam("gsms", type_=postgresql.ARRAY(blacklist.c.gsm.type))
        return blacklist.c.gsm == func.any(array)
    each = func.json_each(bindparam("gsms")).table_valued("value")
    return blacklist.c.gsm.in_(select(each.c.value))


_BLOCKED = {
    name: select(blacklist.c.gsm).where(blacklist.c.user_id == bindparam("uid"), _numbers_in(name))
    for name in ("sqlite", "postgresql")
}
_ANY_BLOCKED = select(literal(1)).where(blacklist.c.user_id == bindparam("uid")).limit(1)


class SqlBlacklist:
    """The blacklist table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def blocked(self, user_id: int, gsms: Sequence[str]) -> set[str]:
        """The numbers among `gsms` on the user's blacklist: one set-based query (after a
        one-row probe: most users have no blacklist, and then nothing is sent)."""
        if not gsms or self.conn.execute(_ANY_BLOCKED, {"uid": user_id}).first() is None:
            return set()
        dialect = self.conn.dialect.name
        numbers: Any = list(gsms) if dialect == "postgresql" else json.dumps(list(gsms))
        return set(
            self.conn.execute(_BLOCKED[dialect], {"uid": user_id, "gsms": numbers}).scalars()
        )

    def add(self, user_id: int, gsms: Sequence[str], exit_type: int | None, now: datetime) -> None:
        """Put numbers on the blacklist (those already there take the new exit type)."""
        if not gsms:
            return
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(blacklist)
        statement = statement.on_conflict_do_update(
            index_elements=[blacklist.c.user_id, blacklist.c.gsm],
            set_={"exit_type": statement.excluded.exit_type},
        )
        rows = [
            {"user_id": user_id, "gsm": g, "exit_type": exit_type, "created_at": now}
            for g in dict.fromkeys(gsms)
        ]
        self.conn.execute(statement, rows)

    def remove(self, user_id: int, gsms: Sequence[str]) -> None:
        """Take numbers off the blacklist."""
        for chunk in _chunks(list(gsms)):
            self.conn.execute(
                delete(blacklist).where(blacklist.c.user_id == user_id, blacklist.c.gsm.in_(chunk))
            )


class SqlAllowlist:
    """The user_allowed_ips table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def networks(self, user_id: int) -> list[str]:
        """A user's allowed addresses and networks, sorted."""
        query = (
            select(user_allowed_ips.c.network)
            .where(user_allowed_ips.c.user_id == user_id)
            .order_by(user_allowed_ips.c.network)
        )
        return list(self.conn.execute(query).scalars())

    def add(self, user_id: int, network: str, now: datetime) -> bool:
        """Allow a network; False when it was allowed already."""
        values = {"user_id": user_id, "network": network, "created_at": now}
        return _inserted(self.conn, insert(user_allowed_ips).values(values)) is not None

    def remove(self, user_id: int, network: str) -> bool:
        """Stop allowing a network; False when it was not allowed."""
        table = user_allowed_ips
        result = self.conn.execute(
            delete(table).where(table.c.user_id == user_id, table.c.network == network)
        )
        return bool(result.rowcount)


class SqlLocks:
    """The user_locks table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def acquire(self, user_id: int, name: str, token: str, now: datetime, until: datetime) -> bool:
        """Take the lease unless someone holds it beyond `now` (an expired one is taken over:
        a crashed holder does not lock the user out for good)."""
        values = {"user_id": user_id, "name": name, "token": token, "until": until}
        if _inserted(self.conn, insert(user_locks).values(values)) is not None:
            return True
        result = self.conn.execute(
            update(user_locks)
            .where(user_locks.c.user_id == user_id, user_locks.c.name == name)
            .where(user_locks.c.until < now)
            .values(token=token, until=until)
        )
        return bool(result.rowcount)

    def release(self, user_id: int, name: str, token: str) -> None:
        """Give the lease back if `token` still holds it."""
        self.conn.execute(
            delete(user_locks).where(
                user_locks.c.user_id == user_id,
                user_locks.c.name == name,
                user_locks.c.token == token,
            )
        )
