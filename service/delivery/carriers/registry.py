"""Builds the carrier links by name from settings, and the dispatcher over them.

FINSMS_CARRIERS lists the links: `KIND` (a link named after its kind) or `LINK=KIND`,
comma-separated, e.g. "simulator" (the default) or "sim-a=simulator,sim-b=simulator".
KINDS maps each kind to the factory of its links; a new kind (SMPP, an HTTP gateway)
is one entry here. FINSMS_ROUTES then picks a link per operator (see router).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from service.config import SettingsError
from service.delivery.carriers.base import Carrier
from service.delivery.carriers.router import Router, parse_routes
from service.delivery.carriers.simulator import SimulatorCarrier, parse_rules
from service.delivery.dispatcher import Dispatcher, InboundHandler
from service.domain.carrier import split_links

if TYPE_CHECKING:
    from service.services.platform import Platform

CarrierFactory = Callable[[str, "Platform"], Carrier]
_LINK_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")


def _simulator(name: str, platform: Platform) -> Carrier:
    """A simulator link configured by FINSMS_SIMULATOR_RULES and _REPORT_DELAY."""
    settings = platform.settings
    try:
        rules = parse_rules(settings.simulator_rules)
    except ValueError as error:
        raise SettingsError(
            f"FINSMS_SIMULATOR_RULES={settings.simulator_rules!r}: {error}"
        ) from None
    return SimulatorCarrier(
        platform.clock,
        rules,
        settings.simulator_report_delay,
        name=name,
        journal=settings.simulator_journal or None,
    )


KINDS: dict[str, CarrierFactory] = {"simulator": _simulator}


def parse_links(text: str) -> dict[str, str]:
    """{link name: kind} from FINSMS_CARRIERS; a SettingsError names the variable."""
    links: dict[str, str] = {}
    for name, kind in split_links(text):
        if kind not in KINDS:
            raise SettingsError(
                f"FINSMS_CARRIERS={text!r}: unknown carrier {kind!r} (known: {', '.join(KINDS)})"
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
    carriers = {name: KINDS[kind](name, platform) for name, kind in links.items()}
    return Router(carriers, routes, default)


def make_dispatcher(platform: Platform, inbound: InboundHandler | None = None) -> Dispatcher:
    """A dispatcher over the carriers configured by settings (default: the simulator)."""
    return Dispatcher(platform, build_router(platform), inbound=inbound)
