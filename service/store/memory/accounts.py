"""Users and senders, in memory."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.constants import CustomerType, UserType
from service.domain.principal import Scope
from service.domain.queries import PageRequest, SenderFilter
from service.domain.records import Credential, Page, Sender, User

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


def in_scope(db: MemoryDatabase, user_id: int, scope: Scope) -> bool:
    """The visibility rule over the in-memory hierarchy (as scope.visible is in SQL)."""
    if user_id == scope.user_id:
        return True
    if not scope.descendants:
        return False
    parent = db.users[user_id].parent_id if user_id in db.users else None
    while parent is not None:
        if parent == scope.user_id:
            return True
        parent = db.users[parent].parent_id
    return False


class MemoryUsers:
    """The in-memory twin of SqlUsers."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def credential(self, username: str) -> Credential | None:
        """What authentication needs of a user, by name."""
        user = self.by_name(username)
        if user is None:
            return None
        allowed = tuple(sorted(n for u, n in self.db.extra.get("allowlist", {}) if u == user.id))
        principal = dataclasses.replace(user.principal, allowed_ips=allowed)
        return Credential(principal, user.active, self.db.credentials[user.id])

    def by_name(self, username: str) -> User | None:
        """A user by name."""
        return next((u for u in self.db.users.values() if u.username == username), None)

    def by_id(self, user_id: int) -> User | None:
        """A user by id."""
        return self.db.users.get(user_id)

    def visible(self, scope: Scope, uuid: str) -> User | None:
        """A user by uuid, if the scope reaches it."""
        found = next((u for u in self.db.users.values() if u.uuid == uuid), None)
        return found if found is not None and in_scope(self.db, found.id, scope) else None

    def listing(self, parent: str | None = None) -> list[User]:
        """Every user, or the direct children of `parent`, by id."""
        rows = sorted(self.db.users.values(), key=lambda u: u.id)
        return [u for u in rows if parent is None or u.parent_name == parent]

    def lock(self, user_ids: list[int]) -> None:
        """Nothing to lock: memory transactions are serialised."""

    def name_taken(self, username: str) -> bool:
        """Whether a user of that name exists."""
        return self.by_name(username) is not None

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
        """Insert a user; False when the name is taken."""
        if self.name_taken(username):
            return False
        user_id = self.db.next_id("users")
        parent = self.db.users[parent_id].username if parent_id else None
        self.db.users[user_id] = User(
            user_id, uuid, username, user_type, customer_type, parent_id, parent, 0,
            unlimited, True, True, now,
        )  # fmt: skip
        self.db.credentials[user_id] = password_hash
        return True

    def update(self, username: str, **values: Any) -> bool:
        """Set fields of a user by name; False for an unknown user."""
        user = self.by_name(username)
        if user is None:
            return False
        if "password_hash" in values:
            self.db.credentials[user.id] = values.pop("password_hash")
        self.db.users[user.id] = dataclasses.replace(user, **values)
        return True


class MemorySenders:
    """The in-memory twin of SqlSenders."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def status(self, user_id: int, title: str) -> int | None:
        """The state of a user's sender title; None when it has no such title."""
        found = self._find(user_id, title)
        return None if found is None else found.status

    def listing(self, scope: Scope, filters: SenderFilter, page: PageRequest) -> Page[Sender]:
        """One page of the senders in scope, by title."""
        keyword = (filters.keyword or "").lower()
        rows = sorted(
            (
                s
                for s in self.db.senders.values()
                if in_scope(self.db, s.user_id, scope)
                and keyword in s.title.lower()
                and filters.status in (None, s.status)
            ),
            key=lambda s: s.title,
        )
        return Page(len(rows), rows[page.offset : page.offset + page.size])

    def add(self, uuid: str, user_id: int, title: str, status: int, now: datetime) -> bool:
        """Insert a sender; False when the user has that title already."""
        if self._find(user_id, title) is not None:
            return False
        sender_id = self.db.next_id("senders")
        self.db.senders[sender_id] = Sender(sender_id, uuid, user_id, title, status, now)
        return True

    def set_status(self, user_id: int, title: str, status: int) -> Sender | None:
        """Change a sender's state; None when the user has no such title."""
        found = self._find(user_id, title)
        if found is None:
            return None
        self.db.senders[found.id] = dataclasses.replace(found, status=status)
        return self.db.senders[found.id]

    def _find(self, user_id: int, title: str) -> Sender | None:
        return next(
            (s for s in self.db.senders.values() if s.user_id == user_id and s.title == title),
            None,
        )
