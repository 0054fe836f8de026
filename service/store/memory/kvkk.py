"""KVKK consent links, in memory (twin of SqlKvkk)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from service.domain.kvkk import KvkkLink, LinkState, NewLink

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryKvkk:
    """The in-memory twin of SqlKvkk; its table lives in MemoryDatabase.extra."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.links: dict[str, KvkkLink] = db.extra.setdefault("kvkk_links", {})

    def add(self, link: NewLink) -> bool:
        """Store a link; False when its token is taken (nothing written)."""
        if link.token in self.links:
            return False
        new_id = self.db.next_id("kvkk_links")
        self.links[link.token] = KvkkLink(id=new_id, **dataclasses.asdict(link))
        return True

    def by_token(self, token: str) -> KvkkLink | None:
        """The link of a token, or None."""
        return self.links.get(token)

    def answer(
        self,
        token: str,
        answer: str,
        at: datetime,
        client_address: str | None,
        user_agent: str | None,
    ) -> bool:
        """Record the answer of an unanswered link not expired at `at`; whether recorded."""
        link = self.links.get(token)
        if link is None or link.state(at) is not LinkState.OPEN:
            return False
        self.links[token] = dataclasses.replace(
            link,
            answered_at=at,
            answer=answer,
            client_address=client_address,
            user_agent=user_agent,
        )
        return True

    def record_consent(self, user_id: int, number: str, source: str, at: datetime) -> int:
        """Stamp the consent's source on the user's links to `number` answered at `at`."""
        hits = [
            link
            for link in self.links.values()
            if (link.user_id, link.number, link.answered_at) == (user_id, number, at)
        ]
        for link in hits:
            self.links[link.token] = dataclasses.replace(link, consent_source=source)
        return len(hits)
