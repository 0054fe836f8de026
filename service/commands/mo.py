"""`finsms mo`: the short numbers users receive MO messages on, their opt-out keywords,
and the opt-outs those recorded."""

from __future__ import annotations

from typing import Any

import click

from service.cli import _common, _Group, _output, _platform, _table
from service.domain.mo import MoNumber, OptOut
from service.services import mo


@click.group("mo", cls=_Group)
@_common
def mo_group() -> None:
    """Short numbers, opt-out keywords and opt-outs of MO messages."""


@mo_group.group("number", cls=_Group)
@_common
def number_group() -> None:
    """The short numbers (or sender titles) a user receives MO messages on."""


@number_group.command("add")
@click.argument("username")
@click.argument("number")
@_common
def number_add(username: str, number: str) -> None:
    """Give a user NUMBER; another user's number is ERR_MO_ALREADY_EXISTS."""
    platform = _platform()
    _output(_number(platform, mo.add_number(platform, username, number), username), _line)


@number_group.command("remove")
@click.argument("username")
@click.argument("number")
@_common
def number_remove(username: str, number: str) -> None:
    """Take NUMBER from a user (ERR_MO_NOT_FOUND unless the user has it)."""
    mo.remove_number(_platform(), username, number)
    _output({"username": username, "number": number, "status": "removed"}, _line)


@number_group.command("list")
@click.argument("username")
@_common
def number_list(username: str) -> None:
    """List a user's short numbers."""
    platform = _platform()
    rows = [_number(platform, n, username) for n in mo.numbers(platform, username)]
    _output(rows, lambda r: _table(r, [("number", "number"), ("added", "date")], "no numbers"))


@mo_group.group("keyword", cls=_Group)
@_common
def keyword_group() -> None:
    """Opt-out keywords: an MO whose first word is one of them opts the sender out."""


@keyword_group.command("add")
@click.argument("username")
@click.argument("keyword")
@_common
def keyword_add(username: str, keyword: str) -> None:
    """Add an opt-out KEYWORD (stored folded: İPTAL, IPTAL and iptal are one)."""
    value = mo.add_keyword(_platform(), username, keyword)
    _output({"username": username, "keyword": value, "status": "added"}, _line)


@keyword_group.command("remove")
@click.argument("username")
@click.argument("keyword")
@_common
def keyword_remove(username: str, keyword: str) -> None:
    """Remove an opt-out KEYWORD, in any spelling (ERR_MO_NOT_FOUND unless there)."""
    mo.remove_keyword(_platform(), username, keyword)
    _output({"username": username, "keyword": keyword, "status": "removed"}, _line)


@keyword_group.command("list")
@click.argument("username")
@_common
def keyword_list(username: str) -> None:
    """List a user's opt-out keywords."""
    rows = [{"keyword": k} for k in mo.keywords(_platform(), username)]
    _output(rows, lambda r: _table(r, [("keyword", "keyword")], "no keywords"))


@mo_group.command("optouts")
@click.argument("username")
@_common
def optout_list(username: str) -> None:
    """List the numbers that opted out of a user's messages by MO."""
    platform = _platform()
    rows = [_optout(platform, o) for o in mo.optouts(platform, username)]
    columns = [("number", "number"), ("exit type", "exitType"), ("date", "date")]
    _output(rows, lambda r: _table(r, columns, "no opt-outs"))


def _number(platform: Any, number: MoNumber, username: str) -> dict[str, Any]:
    date = platform.local.format(number.created_at)
    return {"username": username, "number": number.number, "date": date}


def _optout(platform: Any, optout: OptOut) -> dict[str, Any]:
    date = platform.local.format(optout.created_at)
    return {"number": optout.number, "exitType": optout.exit_type, "date": date}


def _line(record: dict[str, Any]) -> str:
    detail = record.get("number") or record.get("keyword")
    return f"{record['username']}: {detail} {record.get('status', 'added')}"
