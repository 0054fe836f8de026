"""MO messages, short numbers, keywords and opt-outs, in memory (twin of SqlMo)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.mo import MoFilter, MoMessage, MoNumber, NewMoMessage, OptOut
from service.domain.principal import Scope
from service.domain.queries import PageRequest
from service.domain.records import Page
from service.store.memory.accounts import in_scope

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryMo:
    """The in-memory twin of SqlMo; its tables live in MemoryDatabase.extra."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.numbers_: dict[str, MoNumber] = db.extra.setdefault("mo_numbers", {})
        self.keywords_: dict[tuple[int, str], datetime] = db.extra.setdefault("mo_keywords", {})
        self.messages: dict[int, MoMessage] = db.extra.setdefault("mo_messages", {})
        self.optouts_: dict[tuple[int, str], OptOut] = db.extra.setdefault("mo_optouts", {})

    def owners(self, numbers: Sequence[str]) -> dict[str, int]:
        """{short number: user id} of the numbers some user receives MO on."""
        return {n: self.numbers_[n].user_id for n in numbers if n in self.numbers_}

    def keywords(self, user_ids: Sequence[int]) -> dict[int, set[str]]:
        """The folded opt-out keywords of each user that has any."""
        found: dict[int, set[str]] = {}
        for user_id, keyword in self.keywords_:
            if user_id in user_ids:
                found.setdefault(user_id, set()).add(keyword)
        return found

    def add_message(self, message: NewMoMessage) -> int | None:
        """Store an MO message unless its (link, carrier_ref) is stored already; its id."""
        key = (message.link, message.carrier_ref)
        if any((m.link, m.carrier_ref) == key for m in self.messages.values()):
            return None
        user = self.db.users.get(message.user_id) if message.user_id is not None else None
        new_id = self.db.next_id("mo_messages")
        self.messages[new_id] = MoMessage(
            id=new_id,
            user_uuid=user.uuid if user else None,
            username=user.username if user else None,
            **dataclasses.asdict(message),
        )
        return new_id

    def listing(self, scope: Scope, filters: MoFilter, page: PageRequest) -> Page[MoMessage]:
        """One page of the MO messages of users in scope, newest first."""
        rows = [
            m
            for m in self.messages.values()
            if m.user_id is not None and in_scope(self.db, m.user_id, scope) and _wanted(m, filters)
        ]
        rows.sort(key=lambda m: (m.received_at, m.id), reverse=True)
        return Page(len(rows), rows[page.offset : page.offset + page.size])

    def add_number(self, user_id: int, number: str, now: datetime) -> bool:
        """Give a user a short number; False when some user has it already."""
        if number in self.numbers_:
            return False
        self.numbers_[number] = MoNumber(number, user_id, now)
        return True

    def remove_number(self, user_id: int, number: str) -> bool:
        """Take a short number from its user; False when the user does not have it."""
        found = self.numbers_.get(number)
        if found is None or found.user_id != user_id:
            return False
        del self.numbers_[number]
        return True

    def numbers(self, user_id: int) -> list[MoNumber]:
        """A user's short numbers, in order."""
        return sorted((n for n in self.numbers_.values() if n.user_id == user_id), key=_number)

    def add_keyword(self, user_id: int, keyword: str, now: datetime) -> bool:
        """Add a folded opt-out keyword; False when the user has it already."""
        return self._add(self.keywords_, (user_id, keyword), now)

    def remove_keyword(self, user_id: int, keyword: str) -> bool:
        """Remove a folded opt-out keyword; False when the user does not have it."""
        return self.keywords_.pop((user_id, keyword), None) is not None

    def add_optout(self, user_id: int, number: str, exit_type: int, now: datetime) -> bool:
        """Record that a number opted out of a user's messages; False when it had."""
        record = OptOut(user_id, number, exit_type, now)
        return self._add(self.optouts_, (user_id, number), record)

    def optouts(self, user_id: int) -> list[OptOut]:
        """The numbers that opted out of a user's messages, in order."""
        return [o for o in self.optouts_.values() if o.user_id == user_id]

    @staticmethod
    def _add(table: dict[Any, Any], key: Any, value: Any) -> bool:
        if key in table:
            return False
        table[key] = value
        return True


def _number(n: MoNumber) -> str:
    return n.number


def _wanted(m: MoMessage, filters: MoFilter) -> bool:
    start, finish = filters.dates.start, filters.dates.finish
    if (start and m.received_at < start) or (finish and m.received_at > finish):
        return False
    term = filters.keyword
    if not term:
        return True
    low = term.lower()
    return low in (m.keyword or "").lower() or low in m.text.lower() or term in m.source
