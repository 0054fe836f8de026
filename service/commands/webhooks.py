"""`finsms webhook`: a user's signing secret, and the outbox of delivery-report webhooks."""

from __future__ import annotations

from typing import Any

import click

from service.cli import _common, _Group, _output, _pairs, _platform, _table
from service.domain import webhooks as hooks
from service.domain.webhooks import OutboxRow
from service.services import webhooks

_STATES = {"pending": [hooks.PENDING], "failed": [hooks.FAILED], "delivered": [hooks.DELIVERED]}
_STATES["all"] = [s for states in _STATES.values() for s in states]
_COLUMNS = [
    ("ID", "id"),
    ("PACKAGE", "packageId"),
    ("STATE", "state"),
    ("ATTEMPTS", "attempts"),
    ("NEXT (UTC)", "nextAt"),
    ("URL", "url"),
    ("LAST ERROR", "lastError"),
]


@click.group("webhook", cls=_Group)
@_common
def webhook_group() -> None:
    """Delivery-report webhooks: signing secrets and the outbox."""


@webhook_group.command("secret")
@click.argument("username")
@click.option("--rotate", is_flag=True, help="Replace the secret; the old one stops at once.")
@_common
def webhook_secret(username: str, rotate: bool) -> None:
    """Show a user's webhook signing secret (made on first use), or rotate it."""
    secret = webhooks.secret(_platform(), username, rotate=rotate)
    _output({"username": username, "secret": secret}, _pairs)


@webhook_group.command("list")
@click.option(
    "--state",
    type=click.Choice(sorted(_STATES)),
    default="pending",
    show_default=True,
    help="Which webhooks to list.",
)
@click.option("--user", "username", metavar="NAME", help="Only this user's webhooks.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=50,
    show_default=True,
    help="How many webhooks at most.",
)
@_common
def webhook_list(state: str, username: str | None, limit: int) -> None:
    """List webhooks of the outbox, newest first."""
    rows = webhooks.listing(_platform(), _STATES[state], username, limit)
    _output([outbox_record(r) for r in rows], _outbox_text)


def outbox_record(row: OutboxRow) -> dict[str, Any]:
    """An outbox row as the CLI prints it (and its --json carries)."""
    return {
        "id": row.id,
        "packageId": row.package_id,
        "state": hooks.STATE_NAMES.get(row.state, str(row.state)),
        "attempts": row.attempts,
        "nextAt": row.next_at.isoformat(sep=" ", timespec="seconds"),
        "url": row.url,
        "lastError": row.last_error,
        "createdAt": row.created_at.isoformat(sep=" ", timespec="seconds"),
        "sentAt": row.sent_at.isoformat(sep=" ", timespec="seconds") if row.sent_at else None,
    }


def _outbox_text(rows: list[dict[str, Any]]) -> str:
    return _table(rows, _COLUMNS, "no webhooks")
