"""Routing: the carrier link each message goes out on, chosen by the operator of its number.

FINSMS_ROUTES maps operators (0 Turkcell, 1 Vodafone, 2 TurkTelekom, 3 Netgsm) to link
names, `*` to the link of every other number (unknown operator included):
"0=sim-a,1=sim-b,*=simulator". Without `*`, the first link of FINSMS_CARRIERS is the
default; without routes, everything goes out on it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from service.config import SettingsError
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.trust import guarded
from service.domain.carrier import Submission
from service.domain.constants import Operator

DEFAULT_ROUTE = "*"


class Router:
    """The carrier links of a dispatcher and the route of each operator's numbers."""

    def __init__(
        self,
        links: Mapping[str, Carrier],
        routes: Mapping[Operator, str] | None = None,
        default: str | None = None,
        *,
        trust_unchecked: str = "refuse",
    ) -> None:
        if not links:
            raise ValueError("a router needs at least one carrier link")
        self.links = dict(links)
        self.routes = {int(op): name for op, name in (routes or {}).items()}
        self.default = default or next(iter(self.links))
        # An OTP's trustDate on a link that cannot check SIM changes: refuse or send.
        self.send_unchecked = trust_unchecked == "send"
        for name in [*self.routes.values(), self.default]:
            if name not in self.links:
                raise ValueError(f"route to unknown carrier link {name!r}")

    @classmethod
    def single(cls, carrier: Carrier) -> Router:
        """Every message through one carrier."""
        return cls({carrier.name: carrier})

    @property
    def carriers(self) -> list[Carrier]:
        """Every link, to poll receipts and inbound messages from, and to close."""
        return list(self.links.values())

    def link_for(self, operator: int | None) -> Carrier:
        """The carrier that sends to numbers of this operator (None: unknown)."""
        return self.links[self._route(operator)]

    def _route(self, operator: int | None) -> str:
        return self.default if operator is None else self.routes.get(operator, self.default)

    def split(self, batch: Sequence[Submission]) -> list[tuple[Carrier, list[Submission]]]:
        """The batch grouped by route, in the batch's order within each group."""
        if not self.routes:  # one route for all: no grouping on the hot path
            groups = {self.default: list(batch)}
        else:
            groups = {}
            for submission in batch:
                groups.setdefault(self._route(submission.operator), []).append(submission)
        # A group with an OTP's trustDate goes through the SIM-change check first.
        return [
            (guarded(self.links[name], group, self.send_unchecked), group)
            for name, group in groups.items()
        ]


def parse_routes(text: str, links: Collection[str]) -> tuple[dict[Operator, str], str | None]:
    """({operator: link}, default link or None) from FINSMS_ROUTES; a SettingsError names
    the variable when an operator or a link is unknown."""
    routes: dict[Operator, str] = {}
    default: str | None = None
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        key, sep, link = (part.strip() for part in chunk.partition("="))
        if not sep or link not in links:
            raise SettingsError(
                f"FINSMS_ROUTES={text!r}: {chunk!r} must be OPERATOR=LINK with LINK one of "
                f"FINSMS_CARRIERS ({', '.join(links)})"
            )
        if key == DEFAULT_ROUTE:
            default = link
            continue
        try:
            routes[Operator(int(key))] = link
        except ValueError:
            known = ", ".join(f"{int(op)} {op.name.lower()}" for op in Operator)
            raise SettingsError(
                f"FINSMS_ROUTES={text!r}: unknown operator {key!r} (known: {known}, *)"
            ) from None
    return routes, default
