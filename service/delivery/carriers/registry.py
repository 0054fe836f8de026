"""Builds the carrier links, and the dispatcher over them.

Links come from the database when it holds any (`finsms link add`, table carrier_links),
else from settings. FINSMS_CARRIERS lists links by kind: `KIND` (a link named after its
kind) or `LINK=KIND`, comma-separated, e.g. "simulator" (the default) or
"sim-a=simulator,sim-b=simulator"; FINSMS_ROUTES then picks a link per operator (see
router). With no database link and no setting, the simulator carries everything, so the
embedded set-up works without an operator account.

KINDS maps each kind to its options' validator and the factory of its links,
`(name, options, platform) -> Carrier`; a new kind (an HTTP gateway) is one entry here.

A LinkSet is what a dispatcher holds: the router over the links, rebuilt by `refresh`
when the database's links changed or when the number of live workers sharing them did.
Only the links that changed are rebuilt (an SMPP link that did not change keeps its
binds); the ones replaced are closed on the next refresh, once any submission a lane
thread was making on them has finished.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.config import SettingsError
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.router import Router, parse_routes
from service.delivery.carriers.simulator import SimulatorCarrier, parse_rules
from service.delivery.carriers.smpp import make_smpp_carrier
from service.delivery.carriers.smpp_options import SmppOptions
from service.delivery.dispatcher import Dispatcher, InboundHandler
from service.domain.carrier import split_links
from service.domain.links import Link, routes_of, share, shares_load
from service.services import links as link_service

if TYPE_CHECKING:
    from service.services.platform import Platform

log = logging.getLogger("finsms.links")
CarrierFactory = Callable[[str, Mapping[str, Any], "Platform"], Carrier]
Validator = Callable[[Mapping[str, Any]], object]
_LINK_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")
_SIMULATOR_OPTIONS = {"rules", "report_delay"}


@dataclass(frozen=True)
class LinkKind:
    """A kind of carrier link: how its options are checked and its links built."""

    validate: Validator
    build: CarrierFactory


def check_simulator(options: Mapping[str, Any]) -> tuple[dict[str, str] | None, float | None]:
    """(rules, report delay) of a simulator link's options; None: the settings' value."""
    unknown = set(options) - _SIMULATOR_OPTIONS
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r} (known: rules, report_delay)")
    rules = parse_rules(str(options["rules"])) if "rules" in options else None
    delay = options.get("report_delay")
    if delay is None:
        return rules, None
    try:
        seconds = float(delay)
    except (TypeError, ValueError):
        raise ValueError(f"report_delay={delay!r}: not a number of seconds") from None
    if not 0 <= seconds <= 86400:
        raise ValueError(f"report_delay={delay!r}: must be 0-86400 seconds")
    return rules, seconds


def _simulator(name: str, options: Mapping[str, Any], platform: Platform) -> Carrier:
    """A simulator link: its options, else FINSMS_SIMULATOR_RULES and _REPORT_DELAY."""
    settings = platform.settings
    rules, delay = check_simulator(options)
    if rules is None:
        try:
            rules = parse_rules(settings.simulator_rules)
        except ValueError as error:
            raise SettingsError(
                f"FINSMS_SIMULATOR_RULES={settings.simulator_rules!r}: {error}"
            ) from None
    report_delay = settings.simulator_report_delay if delay is None else delay
    journal = settings.simulator_journal or None
    return SimulatorCarrier(platform.clock, rules, report_delay, name=name, journal=journal)


def check_smpp(options: Mapping[str, Any]) -> object:
    """An SMPP link's options, checked by the SMPP carrier's own parser."""
    return SmppOptions.from_mapping(options)


def _smpp(name: str, options: Mapping[str, Any], platform: Platform) -> Carrier:
    """An SMPP link to an operator's SMSC."""
    return make_smpp_carrier(name, options, platform.clock)


KINDS: dict[str, LinkKind] = {
    "simulator": LinkKind(check_simulator, _simulator),
    "smpp": LinkKind(check_smpp, _smpp),
}
# The kinds' validators, for service.services.links.
VALIDATORS: dict[str, Validator] = {name: kind.validate for name, kind in KINDS.items()}
# Kinds FINSMS_CARRIERS may name: those that need no options.
SETTINGS_KINDS = ("simulator",)


def parse_links(text: str) -> dict[str, str]:
    """{link name: kind} from FINSMS_CARRIERS; a SettingsError names the variable."""
    links: dict[str, str] = {}
    for name, kind in split_links(text):
        if kind not in SETTINGS_KINDS:
            raise SettingsError(
                f"FINSMS_CARRIERS={text!r}: unknown carrier {kind!r} (known: "
                f"{', '.join(SETTINGS_KINDS)}; add other kinds with 'finsms link add')"
            )
        if not _LINK_NAME.fullmatch(name) or name in links:
            raise SettingsError(f"FINSMS_CARRIERS={text!r}: bad or repeated link name {name!r}")
        links[name] = kind
    if not links:
        raise SettingsError(f"FINSMS_CARRIERS={text!r}: name at least one carrier link")
    return links


def build_router(platform: Platform) -> Router:
    """The carrier links of FINSMS_CARRIERS, routed by FINSMS_ROUTES."""
    settings = platform.settings
    links = parse_links(settings.carriers)
    routes, default = parse_routes(settings.routes, links)
    carriers = {name: KINDS[kind].build(name, {}, platform) for name, kind in links.items()}
    return Router(carriers, routes, default, trust_unchecked=settings.trust_date_unchecked)


def build_link(link: Link, platform: Platform, workers: int = 1) -> Carrier:
    """The carrier of a database link, with its share of TPS and binds among `workers`."""
    kind = KINDS.get(link.kind)
    if kind is None:
        raise SettingsError(f"link {link.name!r}: unknown kind {link.kind!r}")
    return kind.build(link.name, share(link.options, workers), platform)


# What a built link was built from: its shape, and the workers its options were divided by.
_Key = tuple[Any, ...]


class LinkSet:
    """A dispatcher's links: from the database when it holds any, else from settings.

    `opener` is called with every link built after the first set (a dispatcher opens
    them with its LinkEvents); the first set the dispatcher opens itself.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.workers = 1
        self.opener: Callable[[Carrier], None] | None = None
        self._built: dict[str, tuple[_Key, Carrier]] = {}  # database links, by name
        self._failed: set[str] = set()  # database links whose build failed
        self._settings: Router | None = None  # the links of settings, while in use
        self._retired: list[Carrier] = []
        self._shape: object = None
        self.router = self._load(link_service.list_links(platform))

    def refresh(self, workers: int | None = None) -> bool:
        """Re-read the links (and take the live workers' count); True when the router
        changed. Links that failed to build are tried again on every refresh."""
        self._close_retired()
        if workers is not None:
            self.workers = max(1, workers)
        found = link_service.list_links(self.platform)
        if self._shape_of(found) == self._shape and not self._failed:
            return False
        self.router = self._load(found)
        return True

    def close(self) -> None:
        """Close every link, current and retired."""
        self._retire(keep=set())
        if self._settings is not None:
            self._retired.extend(self._settings.carriers)
            self._settings = None
        self._close_retired()

    def _key(self, link: Link) -> _Key:
        return (link.shape, self.workers if shares_load(link.options) else 1)

    def _shape_of(self, found: list[Link]) -> object:
        return tuple(self._key(k) for k in found)

    def _load(self, found: list[Link]) -> Router:
        self._shape = self._shape_of(found)
        if not found:
            self._retire(keep=set())
            if self._settings is None:  # settings do not change while a process runs
                self._settings = build_router(self.platform)
            return self._settings
        if self._settings is not None:  # the operator moved the links to the database
            self._retired.extend(self._settings.carriers)
            self._settings = None
        enabled = [k for k in found if k.enabled]
        keys = {k.name: self._key(k) for k in enabled}
        self._retire(keep={n for n, (key, _) in self._built.items() if keys.get(n) == key})
        self._failed.clear()
        carriers = {k.name: c for k in enabled if (c := self._carrier(k, keys[k.name]))}
        routes, default = routes_of(k for k in found if k.name in carriers)
        unchecked = self.platform.settings.trust_date_unchecked
        return Router(carriers, routes, default, trust_unchecked=unchecked)

    def _carrier(self, link: Link, key: _Key) -> Carrier | None:
        if link.name in self._built:
            return self._built[link.name][1]
        try:
            carrier = build_link(link, self.platform, self.workers)
        except Exception:  # one broken link must not stop the others
            log.exception(
                "carrier link %s could not be built; retried at the next reload", link.name
            )
            self._failed.add(link.name)
            return None
        if self.opener is not None:
            self.opener(carrier)
        self._built[link.name] = (key, carrier)
        return carrier

    def _retire(self, keep: set[str]) -> None:
        for name in [n for n in self._built if n not in keep]:
            self._retired.append(self._built.pop(name)[1])

    def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for carrier in retired:
            try:
                carrier.close()
            except Exception:
                log.exception("closing carrier link %s failed", carrier.name)


def make_dispatcher(platform: Platform, inbound: InboundHandler | None = None) -> Dispatcher:
    """A dispatcher over the configured links (default: the simulator), reloaded while it
    runs; MO messages go to the MO store unless another `inbound` handler is given."""
    return Dispatcher(platform, LinkSet(platform), inbound=inbound)
