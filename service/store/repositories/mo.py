"""MO messages, short numbers, opt-out keywords and opt-outs, in SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from service.domain.mo import MoFilter, MoMessage, MoNumber, NewMoMessage, OptOut
from service.domain.principal import Scope
from service.domain.queries import PageRequest
from service.domain.records import Page
from service.store.repositories.scope import visible
from service.store.schema import mo_keywords, mo_messages, mo_numbers, mo_optouts, users

_DIALECTS: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}
_LISTED = (
    *mo_messages.c,
    users.c.uuid.label("user_uuid"),
    users.c.username,
)


class SqlMo:
    """The mo_* tables."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def owners(self, numbers: Sequence[str]) -> dict[str, int]:
        """{short number: user id} of the numbers some user receives MO on."""
        if not numbers:
            return {}
        rows = self.conn.execute(
            select(mo_numbers.c.number, mo_numbers.c.user_id).where(
                mo_numbers.c.number.in_(sorted(set(numbers)))
            )
        )
        return {number: int(user_id) for number, user_id in rows}

    def keywords(self, user_ids: Sequence[int]) -> dict[int, set[str]]:
        """The folded opt-out keywords of each user that has any."""
        found: dict[int, set[str]] = {}
        if not user_ids:
            return found
        rows = self.conn.execute(
            select(mo_keywords.c.user_id, mo_keywords.c.keyword).where(
                mo_keywords.c.user_id.in_(sorted(set(user_ids)))
            )
        )
        for user_id, keyword in rows:
            found.setdefault(int(user_id), set()).add(keyword)
        return found

    def add_message(self, message: NewMoMessage) -> int | None:
        """Store an MO message unless its (link, carrier_ref) is stored already; its id."""
        stmt = self._insert(mo_messages, dataclasses.asdict(message))
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[mo_messages.c.link, mo_messages.c.carrier_ref]
        ).returning(mo_messages.c.id)
        value = self.conn.execute(stmt).scalar()
        return None if value is None else int(value)

    def listing(self, scope: Scope, filters: MoFilter, page: PageRequest) -> Page[MoMessage]:
        """One page of the MO messages of users in scope, newest first."""
        query = (
            select(*_LISTED)
            .join(users, users.c.id == mo_messages.c.user_id)
            .where(visible(mo_messages.c.user_id, scope))
        )
        if filters.keyword:
            term = filters.keyword
            query = query.where(
                or_(
                    mo_messages.c.keyword.icontains(term, autoescape=True),
                    mo_messages.c.text.icontains(term, autoescape=True),
                    mo_messages.c.source.contains(term, autoescape=True),
                )
            )
        if filters.dates.start is not None:
            query = query.where(mo_messages.c.received_at >= filters.dates.start)
        if filters.dates.finish is not None:
            query = query.where(mo_messages.c.received_at <= filters.dates.finish)
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(
            query.order_by(mo_messages.c.received_at.desc(), mo_messages.c.id.desc())
            .limit(page.size)
            .offset(page.offset)
        ).mappings()
        return Page(int(total), [MoMessage(**r) for r in rows])

    def add_number(self, user_id: int, number: str, now: datetime) -> bool:
        """Give a user a short number; False when some user has it already."""
        return self._add(mo_numbers, {"user_id": user_id, "number": number, "created_at": now})

    def remove_number(self, user_id: int, number: str) -> bool:
        """Take a short number from its user; False when the user does not have it."""
        return self._remove(mo_numbers, mo_numbers.c.number == number, user_id)

    def numbers(self, user_id: int) -> list[MoNumber]:
        """A user's short numbers, in order."""
        rows = self.conn.execute(
            select(mo_numbers.c.number, mo_numbers.c.user_id, mo_numbers.c.created_at)
            .where(mo_numbers.c.user_id == user_id)
            .order_by(mo_numbers.c.number)
        ).mappings()
        return [MoNumber(**r) for r in rows]

    def add_keyword(self, user_id: int, keyword: str, now: datetime) -> bool:
        """Add a folded opt-out keyword; False when the user has it already."""
        values = {"user_id": user_id, "keyword": keyword, "created_at": now}
        return self._add(mo_keywords, values)

    def remove_keyword(self, user_id: int, keyword: str) -> bool:
        """Remove a folded opt-out keyword; False when the user does not have it."""
        return self._remove(mo_keywords, mo_keywords.c.keyword == keyword, user_id)

    def add_optout(self, user_id: int, number: str, exit_type: int, now: datetime) -> bool:
        """Record that a number opted out of a user's messages; False when it had."""
        values = {"user_id": user_id, "number": number, "exit_type": exit_type, "created_at": now}
        return self._add(mo_optouts, values)

    def optouts(self, user_id: int) -> list[OptOut]:
        """The numbers that opted out of a user's messages, in order."""
        rows = self.conn.execute(
            select(
                mo_optouts.c.user_id,
                mo_optouts.c.number,
                mo_optouts.c.exit_type,
                mo_optouts.c.created_at,
            )
            .where(mo_optouts.c.user_id == user_id)
            .order_by(mo_optouts.c.id)
        ).mappings()
        return [OptOut(**r) for r in rows]

    def _insert(self, table: Any, values: dict[str, Any]) -> Any:
        return _DIALECTS[self.conn.dialect.name].insert(table).values(**values)

    def _add(self, table: Any, values: dict[str, Any]) -> bool:
        # ON CONFLICT DO NOTHING: a concurrent insert of the same key is "exists" too,
        # and the transaction stays usable (no failed statement on PostgreSQL). Whether a
        # row went in is read from RETURNING: psycopg's rowcount is -1 with it.
        stmt = self._insert(table, values).on_conflict_do_nothing().returning(table.c.id)
        return self.conn.execute(stmt).scalar() is not None

    def _remove(self, table: Any, condition: Any, user_id: int) -> bool:
        result = self.conn.execute(delete(table).where(condition, table.c.user_id == user_id))
        return bool(result.rowcount)
