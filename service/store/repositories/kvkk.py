"""KVKK consent links, in SQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.domain.kvkk import KvkkLink, NewLink
from service.store.schema import kvkk_links

_DIALECTS: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}


class SqlKvkk:
    """The kvkk_links table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, link: NewLink) -> bool:
        """Store a link; False when its token is taken (nothing written)."""
        insert = _DIALECTS[self.conn.dialect.name].insert
        stmt = (
            insert(kvkk_links)
            .values(**dataclasses.asdict(link))
            .on_conflict_do_nothing(index_elements=[kvkk_links.c.token])
            .returning(kvkk_links.c.id)
        )
        return self.conn.execute(stmt).scalar() is not None

    def by_token(self, token: str) -> KvkkLink | None:
        """The link of a token, or None."""
        row = self.conn.execute(select(kvkk_links).where(kvkk_links.c.token == token)).first()
        return None if row is None else KvkkLink(**row._asdict())

    def answer(
        self,
        token: str,
        answer: str,
        at: datetime,
        client_address: str | None,
        user_agent: str | None,
    ) -> bool:
        """Record the answer of an unanswered link not expired at `at` (one conditional
        update, so two answers racing record one); whether this call recorded it."""
        stmt = (
            update(kvkk_links)
            .where(
                kvkk_links.c.token == token,
                kvkk_links.c.answered_at.is_(None),
                kvkk_links.c.expires_at > at,
            )
            .values(
                answered_at=at,
                answer=answer,
                client_address=client_address,
                user_agent=user_agent,
            )
        )
        return bool(self.conn.execute(stmt).rowcount == 1)

    def record_consent(self, user_id: int, number: str, source: str, at: datetime) -> int:
        """Stamp the consent's source on the user's links to `number` answered at `at`;
        how many rows."""
        stmt = (
            update(kvkk_links)
            .where(
                kvkk_links.c.user_id == user_id,
                kvkk_links.c.number == number,
                kvkk_links.c.answered_at == at,
            )
            .values(consent_source=source)
        )
        return int(self.conn.execute(stmt).rowcount)
