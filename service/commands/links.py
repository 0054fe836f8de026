"""`finsms link`: the carrier links operators manage (add, list, show, set, remove, test).

Values of --option are kept as text; each kind's validator reads them (an SMPP link's
port "2775" is a number to it). Passwords and other secrets are never printed. A link
that cannot be stored as asked (unknown link, a name taken, bad options, an unknown
operator) is a usage error: one line on stderr, exit 2.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from service.cli import ConfigError, _common, _Group, _output, _pairs, _platform, _table
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.registry import VALIDATORS, build_link
from service.domain.carrier import DeliveryReceipt, InboundMessage
from service.domain.links import Link, LinkError, masked
from service.services import links


@contextmanager
def _link_errors() -> Iterator[None]:
    """A LinkError as a usage error (exit 2) naming what is wrong."""
    try:
        yield
    except LinkError as error:
        raise ConfigError(str(error)) from None


def _options(pairs: Sequence[str]) -> dict[str, str]:
    """{key: value} from KEY=VALUE pairs."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r}: want KEY=VALUE", param_hint="--option")
        options[key.strip()] = value
    return options


def link_record(link: Link) -> dict[str, Any]:
    """A link as the CLI prints it: secrets masked."""
    return {
        "name": link.name,
        "kind": link.kind,
        "operators": ",".join(link.operators),
        "priority": link.priority,
        "enabled": link.enabled,
        "options": masked(link.options),
        "created": link.created_at.isoformat(sep=" ", timespec="seconds"),
        "updated": link.updated_at.isoformat(sep=" ", timespec="seconds"),
    }


def _options_text(options: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(options.items()))


def _link_text(record: dict[str, Any]) -> str:
    return _pairs({**record, "options": _options_text(record["options"])})


_COLUMNS = [
    ("name", "name"),
    ("kind", "kind"),
    ("operators", "operators"),
    ("priority", "priority"),
    ("enabled", "enabled"),
    ("options", "options"),
]


def _links_text(rows: list[dict[str, Any]]) -> str:
    shown = [{**r, "options": _options_text(r["options"])} for r in rows]
    return _table(shown, _COLUMNS, "no links (the dispatcher uses FINSMS_CARRIERS)")


_OPERATORS_HELP = (
    "Operators whose numbers it carries, comma-separated: 0 turkcell, 1 vodafone, "
    "2 turktelekom, 3 netgsm, * every other number."
)


@click.group("link", cls=_Group)
@_common
def link_group() -> None:
    """Carrier links: SMSC accounts (or simulators) and the operators they carry."""


@link_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, metavar="KIND", help="simulator or smpp.")
@click.option("--option", "pairs", multiple=True, metavar="KEY=VALUE", help="A kind option.")
@click.option("--operators", required=True, metavar="LIST", help=_OPERATORS_HELP)
@click.option(
    "--priority",
    type=int,
    default=links.DEFAULT_PRIORITY,
    show_default=True,
    help="Failover order among an operator's links: lower first.",
)
@click.option("--disabled", is_flag=True, help="Store it without using it yet.")
@_common
def link_add(
    name: str, kind: str, pairs: tuple[str, ...], operators: str, priority: int, disabled: bool
) -> None:
    """Add a link NAME of a kind, with its options and the operators it carries."""
    with _link_errors():
        link = links.add_link(
            _platform(),
            VALIDATORS,
            name,
            kind,
            _options(pairs),
            [operators],
            priority,
            not disabled,
        )
    _output(link_record(link), _link_text)


@link_group.command("list")
@_common
def link_list() -> None:
    """List links in failover order (priority, then name)."""
    _output([link_record(k) for k in links.list_links(_platform())], _links_text)


@link_group.command("show")
@click.argument("name")
@_common
def link_show(name: str) -> None:
    """Show one link (secrets masked)."""
    with _link_errors():
        _output(link_record(links.get_link(_platform(), name)), _link_text)


@link_group.command("set")
@click.argument("name")
@click.option("--option", "pairs", multiple=True, metavar="KEY=VALUE", help="Set an option.")
@click.option("--unset", multiple=True, metavar="KEY", help="Remove an option.")
@click.option("--operators", metavar="LIST", help=_OPERATORS_HELP)
@click.option("--priority", type=int, help="Failover order: lower first.")
@click.option("--enabled", type=click.BOOL, metavar="on|off", help="Use the link or not.")
@_common
def link_set(
    name: str,
    pairs: tuple[str, ...],
    unset: tuple[str, ...],
    operators: str | None,
    priority: int | None,
    enabled: bool | None,
) -> None:
    """Change a link; what is not given stays. Dispatchers take it up within
    FINSMS_LINK_RELOAD_SECONDS."""
    with _link_errors():
        link = links.set_link(
            _platform(),
            VALIDATORS,
            name,
            options=_options(pairs),
            unset=unset,
            operators=None if operators is None else [operators],
            priority=priority,
            enabled=enabled,
        )
    _output(link_record(link), _link_text)


@link_group.command("remove")
@click.argument("name")
@_common
def link_remove(name: str) -> None:
    """Remove a link; dispatchers close it at their next reload."""
    with _link_errors():
        links.remove_link(_platform(), name)
    _output({"status": "removed", "name": name}, lambda r: f"{r['name']}: removed")


class RecordingEvents:
    """LinkEvents that keep what a link hands over (a test bind must not settle items)."""

    def __init__(self) -> None:
        self.receipts_seen: list[DeliveryReceipt] = []
        self.inbound_seen: list[InboundMessage] = []
        self._lock = threading.Lock()

    def receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Keep them."""
        with self._lock:
            self.receipts_seen.extend(receipts)

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Keep them."""
        with self._lock:
            self.inbound_seen.extend(messages)


def _wait(ready: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@link_group.command("test")
@click.argument("name")
@click.option(
    "--timeout", type=float, default=15.0, show_default=True, help="Seconds to wait for the bind."
)
@_common
def link_test(name: str, timeout: float) -> None:
    """Open link NAME (bind to its SMSC), report whether it came up and how long it
    took, and close it. Sends nothing. Exit 1 when it did not come up."""
    platform = _platform()
    with _link_errors():
        link = links.get_link(platform, name)
    started = time.monotonic()
    carrier: Carrier | None = None
    error: str | None = None
    try:
        carrier = build_link(link, platform)
        carrier.open(RecordingEvents())
        bound = _wait(carrier.available, timeout)
    except Exception as failure:  # what the operator must see: the reason, not a traceback
        bound, error = False, f"{type(failure).__name__}: {failure}"
    finally:
        elapsed = time.monotonic() - started
        if carrier is not None:
            carrier.close()
    if not bound and error is None:
        error = f"not bound within {timeout:g} s"
    result = {"name": name, "status": "bound" if bound else "failed", "seconds": round(elapsed, 3)}
    _output({**result, "error": error}, _test_text)
    if not bound:
        raise click.exceptions.Exit(1)


def _test_text(r: dict[str, Any]) -> str:
    why = f": {r['error']}" if r.get("error") else ""
    return f"{r['name']}: {r['status']} in {r['seconds']:.3f} s{why}"
