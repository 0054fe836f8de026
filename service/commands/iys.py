"""`finsms iys`: users' İYS settings, their consents, and a sync pass on demand."""

from __future__ import annotations

from typing import Any

import click

from service.cli import _common, _Group, _output, _pairs, _platform, _table
from service.domain.constants import IysRecipientType, IysSource, IysState
from service.domain.iys import Consent, ConsentStatus, IysSettings
from service.services import iys


@click.group("iys", cls=_Group)
@_common
def iys_group() -> None:
    """İYS settings and consents to commercial messages."""


@iys_group.command("settings")
@click.argument("username")
@click.option("--iys-code", help="the İYS (service provider) code; '' clears it")
@click.option("--brand-code", help="the İYS brand code; '' clears it")
@_common
def settings_command(username: str, iys_code: str | None, brand_code: str | None) -> None:
    """Set a user's İYS code and brand code (commercial packages need both)."""
    platform = _platform()
    saved = iys.save_settings(platform, username, iys_code=iys_code, brand_code=brand_code)
    _output(_settings(platform, username, saved), _pairs)


@iys_group.command("show")
@click.argument("username")
@_common
def show_command(username: str) -> None:
    """Show a user's İYS settings."""
    platform = _platform()
    _output(_settings(platform, username, iys.show_settings(platform, username)), _pairs)


@iys_group.command("consent")
@click.argument("username")
@click.argument("number")
@click.option(
    "--status",
    type=click.Choice(["ONAY", "RET"]),
    default="ONAY",
    show_default=True,
    help="ONAY (approved) or RET (refused)",
)
@click.option(
    "--source",
    type=click.Choice([s.name for s in IysSource]),
    default=IysSource.HS_WEB.name,
    show_default=True,
    help="where the consent was given (İYS source type)",
)
@click.option("--merchant", is_flag=True, help="recipient type TACIR (merchant)")
@_common
def consent_command(username: str, number: str, status: str, source: str, merchant: bool) -> None:
    """Record a consent (or refusal) of NUMBER to the user's commercial messages."""
    platform = _platform()
    kind = IysRecipientType.MERCHANT if merchant else IysRecipientType.INDIVIDUAL
    found = iys.add_consent(
        platform, username, number, ConsentStatus(status), IysSource[source], kind
    )
    _output(_consent(platform, found), _pairs)


@iys_group.command("consents")
@click.argument("username")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="how many, newest first",
)
@_common
def consents_command(username: str, limit: int) -> None:
    """List a user's newest consents and where their synchronisation stands."""
    platform = _platform()
    rows = [_consent(platform, c) for c in iys.consents(platform, username, limit)]
    columns = [
        ("recipient", "recipient"),
        ("status", "status"),
        ("source", "source"),
        ("iys state", "iysState"),
        ("attempts", "attempts"),
        ("error", "error"),
    ]
    _output(rows, lambda r: _table(r, columns, "no consents"))


@iys_group.command("sync")
@_common
def sync_command() -> None:
    """Send the waiting consents to İYS now (the dispatcher does it once a minute)."""
    from service.delivery import iys as iys_sync

    done = iys_sync.sync(_platform())
    _output(done, _pairs)


def _settings(platform: Any, username: str, saved: IysSettings | None) -> dict[str, Any]:
    return {
        "username": username,
        "iysCode": saved.iys_code if saved else None,
        "brandCode": saved.brand_code if saved else None,
        "updated": platform.local.format(saved.updated_at) if saved else None,
    }


def _consent(platform: Any, c: Consent) -> dict[str, Any]:
    return {
        "recipient": c.recipient,
        "type": c.type,
        "status": c.status,
        "source": IysSource(c.source).name,
        "recipientType": c.recipient_type,
        "iysState": f"{c.iys_state} {IysState(c.iys_state).name.lower()}",
        "attempts": c.attempts,
        "error": c.last_error,
        "consentDate": platform.local.format(c.consent_date),
        "updated": platform.local.format(c.updated_at),
    }
