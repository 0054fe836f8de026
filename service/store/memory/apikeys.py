"""API keys and their audit log, in memory."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.apikeys import ApiKey, AuditEntry, NewAudit

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryApiKeys:
    """The in-memory twin of SqlApiKeys."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.keys: dict[int, ApiKey] = db.extra.setdefault("api_keys", {})
        self.entries: list[AuditEntry] = db.extra.setdefault("api_key_audit", [])

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
        key_id = self.db.next_id("api_keys")
        username = self.db.users[user_id].username
        self.keys[key_id] = ApiKey(
            key_id, user_id, key, secret_hash, label, now,
            allowed_ips=tuple(allowed_ips), username=username,
        )  # fmt: skip
        return key_id

    def by_key(self, key: str) -> ApiKey | None:
        """A key by its public identifier, revoked or not."""
        return next((k for k in self.keys.values() if k.key == key), None)

    def of_user(self, user_id: int | None) -> list[ApiKey]:
        """The keys of a user (None: every user's), oldest first."""
        return [k for _, k in sorted(self.keys.items()) if user_id in (None, k.user_id)]

    def revoke(self, key_id: int, now: datetime) -> bool:
        """Revoke a key that is not revoked yet; False when it already was."""
        found = self.keys.get(key_id)
        if found is None or found.revoked_at is not None:
            return False
        self._set(key_id, revoked_at=now, previous_hash=None, previous_until=None)
        return True

    def rotate(
        self, key_id: int, old_hash: str, new_hash: str, grace_until: datetime, now: datetime
    ) -> bool:
        """Replace the secret whose hash is `old_hash`, keeping it valid until `grace_until`."""
        found = self.keys.get(key_id)
        if found is None or found.revoked_at is not None or found.secret_hash != old_hash:
            return False
        self._set(
            key_id,
            secret_hash=new_hash,
            previous_hash=old_hash,
            previous_until=grace_until,
            rotated_at=now,
        )
        return True

    def touch(self, uses: Sequence[tuple[int, datetime, str | None]]) -> None:
        """Record the last use (time, address) of keys."""
        for key_id, at, ip in uses:
            if key_id in self.keys:
                self._set(key_id, last_used_at=at, last_used_ip=ip)

    def log(self, entries: Sequence[NewAudit]) -> None:
        """Append requests to the audit log."""
        for e in entries:
            self.entries.append(AuditEntry(**vars(e), id=self.db.next_id("api_key_audit")))

    def audit(
        self, key: str | None, user_id: int | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """The newest audit entries, of one key or of a user's keys, since a time."""
        owned = {k.key for k in self.keys.values() if k.user_id == user_id}
        rows = [
            e
            for e in reversed(self.entries)
            if key in (None, e.key)
            and (user_id is None or e.key in owned)
            and (since is None or e.at >= since)
        ]
        return rows[:limit]

    def _set(self, key_id: int, **values: Any) -> None:
        self.keys[key_id] = dataclasses.replace(self.keys[key_id], **values)
