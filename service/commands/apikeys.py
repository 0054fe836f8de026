"""`finsms apikey`: API keys of the FinSMS v1 facade, and its audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from service.cli import _common, _Group, _output, _pairs, _platform, _table
from service.domain.apikeys import ApiKey
from service.services import apikeys

_KEY_COLUMNS = [
    ("KEY", "key"),
    ("USER", "user"),
    ("LABEL", "label"),
    ("CREATED (UTC)", "createdAt"),
    ("LAST USED (UTC)", "lastUsedAt"),
    ("FROM", "lastUsedIp"),
    ("REVOKED (UTC)", "revokedAt"),
]
_AUDIT_COLUMNS = [
    ("AT (UTC)", "at"),
    ("KEY", "key"),
    ("ENDPOINT", "endpoint"),
    ("STATUS", "status"),
    ("ADDRESS", "address"),
]


def _when(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


def _view(key: ApiKey) -> dict[str, Any]:
    """A key for operators: never its secret or hashes."""
    return {
        "key": key.key,
        "user": key.username,
        "label": key.label,
        "allowedIps": list(key.allowed_ips),
        "createdAt": _when(key.created_at),
        "rotatedAt": _when(key.rotated_at),
        "previousSecretUntil": _when(key.previous_until),
        "lastUsedAt": _when(key.last_used_at),
        "lastUsedIp": key.last_used_ip,
        "revokedAt": _when(key.revoked_at),
    }


def _issued(issued: apikeys.IssuedKey) -> dict[str, Any]:
    return {**_view(issued.key), "secret": issued.secret}


def _key_text(shown: dict[str, Any]) -> str:
    """A key as aligned lines, its address list comma-separated."""
    return _pairs({**shown, "allowedIps": ", ".join(shown["allowedIps"]) or "any"})


def _issued_text(shown: dict[str, Any]) -> str:
    return _key_text(shown) + "\n(the secret is shown only now: store it safely)"


@click.group("apikey", cls=_Group)
@_common
def apikey_group() -> None:
    """API keys of the FinSMS v1 facade (/api/v1/sms) and its audit log."""


@apikey_group.command("create")
@click.argument("username")
@click.option("--label", default=None, help="A name for the key (up to 100 characters).")
@click.option(
    "--allow-ip", "allow_ips", multiple=True, help="An address or CIDR the key works from."
)
@_common
def apikey_create(username: str, label: str | None, allow_ips: tuple[str, ...]) -> None:
    """Create a key for USERNAME; prints the key and its secret (shown only once)."""
    _output(_issued(apikeys.create_key(_platform(), username, label, allow_ips)), _issued_text)


@apikey_group.command("list")
@click.argument("username", required=False)
@_common
def apikey_list(username: str | None) -> None:
    """List USERNAME's keys (every user's without one)."""
    rows = [_view(k) for k in apikeys.list_keys(_platform(), username)]
    _output(rows, lambda r: _table(r, _KEY_COLUMNS, "(no API keys)"))


@apikey_group.command("revoke")
@click.argument("key")
@_common
def apikey_revoke(key: str) -> None:
    """Revoke KEY: its requests fail from now on."""
    _output(_view(apikeys.revoke_key(_platform(), key)), _key_text)


@apikey_group.command("rotate")
@click.argument("key")
@_common
def apikey_rotate(key: str) -> None:
    """Give KEY a new secret; the old one works for FINSMS_APIKEY_GRACE_HOURS more."""
    _output(_issued(apikeys.rotate_key(_platform(), key)), _issued_text)


@apikey_group.command("audit")
@click.option("--key", default=None, help="Only this key's requests (refused ones too).")
@click.option("--user", "username", default=None, help="Only requests with this user's keys.")
@click.option("--since", type=click.DateTime(), default=None, help="UTC, e.g. 2026-03-02T08:00")
@click.option(
    "--limit", type=int, default=100, show_default=True, help="At most this many, newest first."
)
@_common
def apikey_audit(key: str | None, username: str | None, since: datetime | None, limit: int) -> None:
    """The newest facade requests: key, endpoint, HTTP status, time and address."""
    entries = apikeys.audit_log(_platform(), key=key, username=username, since=since, limit=limit)
    rows = [
        {"at": _when(e.at), "key": e.key, "endpoint": e.endpoint, "status": e.status,
         "address": e.address}
        for e in entries
    ]  # fmt: skip
    _output(rows, lambda r: _table(r, _AUDIT_COLUMNS, "(no requests)"))
