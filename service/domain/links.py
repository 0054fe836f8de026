"""Carrier links as operators keep them: a named link of a kind, its options, the mobile
operators whose numbers it carries, its place in the failover order. Pure rules: what a
valid link is, the route of each operator, and what may be shown of its options."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.constants import Operator

DEFAULT_ROUTE = "*"  # a link serving `*` carries every number no other link claims
_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")
# Option names whose values are secrets: never printed, never logged.
_SECRET = re.compile(r"password|passwd|secret|token", re.IGNORECASE)
MASK = "***"


class LinkError(ValueError):
    """A link that cannot be stored or used as asked; the message says why."""


@dataclass(frozen=True)
class Link:
    """A carrier link kept in the database."""

    id: int
    name: str
    kind: str
    options: dict[str, Any]
    operators: tuple[str, ...]  # "0".."3" and/or "*"
    priority: int  # failover order among the links of an operator: lower first
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @property
    def shape(self) -> tuple[str, str, str, tuple[str, ...], int, bool]:
        """What building and routing the link depend on (not its dates): two links of the
        same shape make the same carrier."""
        return (
            self.name,
            self.kind,
            dump_options(self.options),
            self.operators,
            self.priority,
            self.enabled,
        )


def check_name(name: str) -> str:
    """A link name: 1-32 letters, digits, `.`, `_` or `-`."""
    if not _NAME.fullmatch(name):
        raise LinkError(f"bad link name {name!r}: 1-32 letters, digits, '.', '_' or '-'")
    return name


def parse_operators(values: Iterable[str]) -> tuple[str, ...]:
    """Operators from "0,1" / ["0", "*"] / names ("turkcell"): in order, no repeats."""
    known = {str(int(op)): str(int(op)) for op in Operator}
    known.update({op.name.lower(): str(int(op)) for op in Operator})
    known[DEFAULT_ROUTE] = DEFAULT_ROUTE
    found: dict[str, None] = {}
    for value in values:
        for chunk in filter(None, (c.strip().lower() for c in str(value).split(","))):
            if chunk not in known:
                raise LinkError(f"unknown operator {chunk!r} (known: {operator_names()}, *)")
            found[known[chunk]] = None
    if not found:
        raise LinkError(f"name the operators the link serves ({operator_names()}, * for all)")
    return tuple(sorted(found, key=lambda op: (op == DEFAULT_ROUTE, op)))


def operator_names() -> str:
    """`0 turkcell, 1 vodafone, …` for messages."""
    return ", ".join(f"{int(op)} {op.name.lower()}" for op in Operator)


def check_priority(priority: int) -> int:
    """A priority from 0 to 1000."""
    if not 0 <= priority <= 1000:
        raise LinkError(f"priority {priority}: must be 0-1000 (lower goes first)")
    return priority


def dump_options(options: Mapping[str, Any]) -> str:
    """Options as stored: JSON text, keys sorted (so equal options compare equal)."""
    try:
        return json.dumps(dict(options), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        raise LinkError("options must be JSON values (text, numbers, true/false)") from None


def load_options(text: str) -> dict[str, Any]:
    """Options as stored back into a dict."""
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {}


def masked(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with the values of secrets replaced by ***, for display."""
    return {key: MASK if _SECRET.search(key) else value for key, value in options.items()}


def routes_of(links: Iterable[Link]) -> tuple[dict[int, list[str]], list[str]]:
    """({operator: link names in failover order}, default link names) of enabled links.

    Order: priority, then name. With no link serving `*`, the first link is the default
    (as with FINSMS_ROUTES without `*`)."""
    ordered = sorted((link for link in links if link.enabled), key=lambda k: (k.priority, k.name))
    routes: dict[int, list[str]] = {}
    for link in ordered:
        for op in link.operators:
            if op != DEFAULT_ROUTE:
                routes.setdefault(int(op), []).append(link.name)
    default = [link.name for link in ordered if DEFAULT_ROUTE in link.operators]
    return routes, default or [link.name for link in ordered[:1]]


def share(options: Mapping[str, Any], workers: int) -> dict[str, Any]:
    """A link's options for one of `workers` processes sharing it: its `tps` divided among
    them, its `binds` too (rounded up: every worker needs at least one bind)."""
    workers = max(1, workers)
    mine = dict(options)
    tps = _number(mine.get("tps"))
    if tps is not None and workers > 1:
        part = tps / workers
        mine["tps"] = int(part) if part.is_integer() else round(part, 3)
    binds = _number(mine.get("binds"))
    if binds is not None and workers > 1:
        mine["binds"] = max(1, math.ceil(binds / workers))
    return mine


def shares_load(options: Mapping[str, Any]) -> bool:
    """Whether a link's options depend on how many workers share it."""
    return "tps" in options or "binds" in options


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
