"""API keys of the FinSMS v1 facade and its audit log, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from service.domain.apikeys import ApiKey, AuditEntry, NewAudit
from service.store.schema import api_key_audit, api_keys, users

_KEYS = select(api_keys, users.c.username).join(users, users.c.id == api_keys.c.user_id)
# Read on every facade request the verified-key cache does not answer: built once.
_BY_KEY = _KEYS.where(api_keys.c.key == bindparam("key"))
_TOUCH = (
    update(api_keys)
    .where(api_keys.c.id == bindparam("kid"))
    .values(last_used_at=bindparam("at"), last_used_ip=bindparam("ip"))
)


class SqlApiKeys:
    """The api_keys and api_key_audit tables."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

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
        values = dict(
            user_id=user_id,
            key=key,
            secret_hash=secret_hash,
            label=label,
            allowed_ips=" ".join(allowed_ips) or None,
            created_at=now,
        )
        primary_key = self.conn.execute(insert(api_keys).values(**values)).inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])

    def by_key(self, key: str) -> ApiKey | None:
        """A key by its public identifier, revoked or not."""
        row = self.conn.execute(_BY_KEY, {"key": key}).mappings().first()
        return None if row is None else _key(row)

    def of_user(self, user_id: int | None) -> list[ApiKey]:
        """The keys of a user (None: every user's), oldest first."""
        query = _KEYS.order_by(api_keys.c.id)
        if user_id is not None:
            query = query.where(api_keys.c.user_id == user_id)
        return [_key(r) for r in self.conn.execute(query).mappings()]

    def revoke(self, key_id: int, now: datetime) -> bool:
        """Revoke a key that is not revoked yet; False when it already was."""
        query = (
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now, previous_hash=None, previous_until=None)
        )
        return self.conn.execute(query).rowcount == 1

    def rotate(
        self, key_id: int, old_hash: str, new_hash: str, grace_until: datetime, now: datetime
    ) -> bool:
        """Replace the secret whose hash is `old_hash`, keeping it valid until
        `grace_until`; False when the key was revoked or rotated meanwhile."""
        query = (
            update(api_keys)
            .where(
                api_keys.c.id == key_id,
                api_keys.c.revoked_at.is_(None),
                api_keys.c.secret_hash == old_hash,
            )
            .values(
                secret_hash=new_hash,
                previous_hash=old_hash,
                previous_until=grace_until,
                rotated_at=now,
            )
        )
        return self.conn.execute(query).rowcount == 1

    def touch(self, uses: Sequence[tuple[int, datetime, str | None]]) -> None:
        """Record the last use (time, address) of keys."""
        if uses:
            self.conn.execute(_TOUCH, [{"kid": k, "at": at, "ip": ip} for k, at, ip in uses])

    def log(self, entries: Sequence[NewAudit]) -> None:
        """Append requests to the audit log."""
        if entries:
            self.conn.execute(insert(api_key_audit), [vars(e) for e in entries])

    def audit(
        self, key: str | None, user_id: int | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """The newest audit entries, of one key or of a user's keys (their refused
        requests too), since a time."""
        query = select(api_key_audit).order_by(api_key_audit.c.id.desc()).limit(limit)
        if key is not None:
            query = query.where(api_key_audit.c.key == key)
        if user_id is not None:
            owned = select(api_keys.c.key).where(api_keys.c.user_id == user_id)
            query = query.where(api_key_audit.c.key.in_(owned))
        if since is not None:
            query = query.where(api_key_audit.c.at >= since)
        return [AuditEntry(**r) for r in self.conn.execute(query).mappings()]


def _key(row: Any) -> ApiKey:
    values = dict(row)
    values["allowed_ips"] = tuple((values["allowed_ips"] or "").split())
    return ApiKey(**values)
