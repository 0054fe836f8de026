"""Routing: the carrier link each message goes out on, chosen by the operator of its number.

FINSMS_ROUTES maps operators (0 Turkcell, 1 Vodafone, 2 TurkTelekom, 3 Netgsm) to link
names, `*` to the link of every other number (unknown operator included):
"0=sim-a,1=sim-b,*=simulator". Without `*`, the first link of FINSMS_CARRIERS is the
default; without routes, everything goes out on it. Links kept in the database (`finsms
link`) give each operator several links in failover order (service.domain.links).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from service.config import SettingsError
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.trust import guarded
from service.domain.carrier import Submission, SubmitResult
from service.domain.constants import Operator

DEFAULT_ROUTE = "*"
# The error of an item no link could take now: it goes back to waiting (retry).
NO_LINK = "NO_LINK_AVAILABLE"
Names = str | Sequence[str]


def _names(value: Names) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class Router:
    """The carrier links of a dispatcher and the routes of each operator's numbers.

    A route is a list of links in failover order: a message goes out on the first link
    of its operator's route that is available, else on the first available link of the
    default route. When none is, the message is held (see `route`).
    """

    def __init__(
        self,
        links: Mapping[str, Carrier],
        routes: Mapping[Operator, Names] | Mapping[int, Names] | None = None,
        default: Names | None = None,
        *,
        trust_unchecked: str = "refuse",
    ) -> None:
        self.links = dict(links)
        # An OTP's trustDate on a link that cannot check SIM changes: refuse or send.
        self.send_unchecked = trust_unchecked == "send"
        self.routes = {int(op): _names(names) for op, names in (routes or {}).items()}
        self.defaults = _names(default) if default else tuple(self.links)[:1]
        self.default = self.defaults[0] if self.defaults else None
        for name in [*(n for names in self.routes.values() for n in names), *self.defaults]:
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

    def chain(self, operator: int | None) -> tuple[str, ...]:
        """The links that may carry this operator's numbers, in failover order."""
        own = self.routes.get(operator, ()) if operator is not None else ()
        return tuple(dict.fromkeys((*own, *self.defaults)))

    def link_for(self, operator: int | None) -> Carrier | None:
        """The link that sends to numbers of this operator now (None: unknown operator);
        None when no link of its route is available."""
        for name in self.chain(operator):
            if self.links[name].available():
                return self.links[name]
        return None

    def split(self, batch: Sequence[Submission]) -> list[tuple[Carrier, list[Submission]]]:
        """The batch grouped by the link each message goes out on, in the batch's order
        within each group; messages no link can take now are left out (see `route`)."""
        return self.route(batch)[0]

    def route(
        self, batch: Sequence[Submission]
    ) -> tuple[list[tuple[Carrier, list[Submission]]], list[Submission]]:
        """(groups per available link, messages no available link can take); a group
        with an OTP's trustDate goes through the SIM-change check first."""
        groups, held = self._grouped(batch)
        return [(guarded(link, group, self.send_unchecked), group) for link, group in groups], held

    def _grouped(
        self, batch: Sequence[Submission]
    ) -> tuple[list[tuple[Carrier, list[Submission]]], list[Submission]]:
        if not self.routes and len(self.defaults) == 1:  # one link for all: the hot path
            only = self.links[self.defaults[0]]
            return ([(only, list(batch))], []) if only.available() else ([], list(batch))
        chosen: dict[int | None, Carrier | None] = {}
        groups: dict[str, tuple[Carrier, list[Submission]]] = {}
        held: list[Submission] = []
        for submission in batch:
            if submission.operator not in chosen:  # available() asked once per batch
                chosen[submission.operator] = self.link_for(submission.operator)
            link = chosen[submission.operator]
            if link is None:
                held.append(submission)
            else:
                groups.setdefault(link.name, (link, []))[1].append(submission)
        return list(groups.values()), held


def held_results(held: Sequence[Submission]) -> list[SubmitResult]:
    """What the dispatcher records for messages no link could take: not sent, to be
    tried again a little later (never counted as failed)."""
    return [SubmitResult(s.item_id, False, error=NO_LINK, retry=True) for s in held]


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
