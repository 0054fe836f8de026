"""API keys of the FinSMS v1 facade: what a key is, and the audit log's entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from service.domain.errors import invalid

KEY_PREFIX = "fk_"
# Keys are "fk_" and 32 hex digits: anything else is not looked up at all.
_KEY_FORMAT = re.compile(r"fk_[0-9a-f]{32}")
LABEL_MAX = 100


@dataclass(frozen=True)
class ApiKey:
    """A user's API key as stored: the secret only as hashes."""

    id: int
    user_id: int
    key: str
    secret_hash: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    previous_hash: str | None = None
    previous_until: datetime | None = None
    rotated_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_ip: str | None = None
    allowed_ips: tuple[str, ...] = ()
    username: str = ""

    def previous_valid(self, now: datetime) -> bool:
        """Whether the secret before the last rotation still works at `now`."""
        return self.previous_hash is not None and (
            self.previous_until is not None and now < self.previous_until
        )


@dataclass(frozen=True)
class NewAudit:
    """One facade request for the audit log: never its secret nor its message text."""

    key_id: int | None
    key: str | None
    endpoint: str
    status: int
    at: datetime
    address: str | None


@dataclass(frozen=True)
class AuditEntry(NewAudit):
    """A logged facade request."""

    id: int


def is_key(value: object) -> bool:
    """Whether a value has the form of an API key."""
    return isinstance(value, str) and _KEY_FORMAT.fullmatch(value) is not None


def check_label(value: str | None) -> str | None:
    """A key's label: up to 100 characters of text."""
    if value is None or value == "":
        return None
    if "\x00" in value or len(value) > LABEL_MAX:
        raise invalid("label", f"en fazla {LABEL_MAX} karakter")
    return value
