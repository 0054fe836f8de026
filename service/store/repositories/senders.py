"""Alphanumeric senders of users, in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.principal import Scope
from service.domain.queries import PageRequest, SenderFilter
from service.domain.records import Page, Sender
from service.store.errors import is_unique_violation
from service.store.repositories.scope import visible
from service.store.schema import senders

# Read on every package created whose approval is not cached: built once.
_STATUS = select(senders.c.status).where(
    senders.c.user_id == bindparam("uid"), senders.c.title == bindparam("title")
)


class SqlSenders:
    """The senders table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def status(self, user_id: int, title: str) -> int | None:
        """The state of a user's sender title; None when the user has no such title."""
        value = self.conn.execute(_STATUS, {"uid": user_id, "title": title}).scalar()
        return None if value is None else int(value)

    def listing(self, scope: Scope, filters: SenderFilter, page: PageRequest) -> Page[Sender]:
        """One page of the senders in scope, by title."""
        query = select(senders).where(visible(senders.c.user_id, scope))
        if filters.keyword:
            query = query.where(senders.c.title.icontains(filters.keyword, autoescape=True))
        if filters.status is not None:
            query = query.where(senders.c.status == filters.status)
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(
            query.order_by(senders.c.title).limit(page.size).offset(page.offset)
        ).mappings()
        return Page(int(total), [Sender(**r) for r in rows])

    def add(self, uuid: str, user_id: int, title: str, status: int, now: datetime) -> bool:
        """Insert a sender; False when the user has that title already."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(senders).values(
                        uuid=uuid, user_id=user_id, title=title, status=status, created_at=now
                    )
                )
        except IntegrityError as exc:
            if not is_unique_violation(exc):  # a NOT NULL or a foreign key: our fault
                raise
            return False
        return True

    def set_status(self, user_id: int, title: str, status: int) -> Sender | None:
        """Change a sender's state; the sender, or None when the user has no such title."""
        row = (
            self.conn.execute(
                update(senders)
                .where(senders.c.user_id == user_id, senders.c.title == title)
                .values(status=status)
                .returning(*senders.c)
            )
            .mappings()
            .first()
        )
        return None if row is None else Sender(**row)
