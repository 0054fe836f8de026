"""`finsms user allow-ip / deny-ip / allowed-ips`: a user's IP allow-list."""

from __future__ import annotations

from typing import Any

import click

from service.cli import _common, _output, _platform, user_group
from service.services import allowlist


def _text(result: dict[str, Any]) -> str:
    networks = result["allowed"]
    if not networks:
        return f"{result['username']}: every address allowed (no allow-list)"
    return "\n".join([f"{result['username']}: allowed from", *(f"  {n}" for n in networks)])


@click.command("allow-ip")
@click.argument("username")
@click.argument("address")
@_common
def allow_ip(username: str, address: str) -> None:
    """Allow ADDRESS (an IP or a CIDR network) for USERNAME's API requests; once a user
    has one, requests from any other address are refused (SMS01)."""
    found = allowlist.allow_ip(_platform(), username, address)
    _output({"username": username, "allowed": found}, _text)


@click.command("deny-ip")
@click.argument("username")
@click.argument("address")
@_common
def deny_ip(username: str, address: str) -> None:
    """Remove ADDRESS from USERNAME's allow-list (the last one removed: any address)."""
    found = allowlist.deny_ip(_platform(), username, address)
    _output({"username": username, "allowed": found}, _text)


@click.command("allowed-ips")
@click.argument("username")
@_common
def allowed_ips(username: str) -> None:
    """List the addresses and networks USERNAME's API requests may come from."""
    _output({"username": username, "allowed": allowlist.allowed_ips(_platform(), username)}, _text)


# Registered here, when this module is imported (cli.py imports it at its end): the
# same whichever of the two modules is imported first.
for _command in (allow_ip, deny_ip, allowed_ips):
    user_group.add_command(_command)
