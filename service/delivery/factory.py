"""Builds the dispatcher and its carrier from settings."""

from __future__ import annotations

from service.delivery.dispatcher import Dispatcher
from service.delivery.simulator import SimulatorCarrier, parse_rules
from service.services.platform import Platform


def make_dispatcher(platform: Platform) -> Dispatcher:
    """A dispatcher over the simulator carrier configured by FINSMS_SIMULATOR_*."""
    settings = platform.settings
    carrier = SimulatorCarrier(
        platform.clock, parse_rules(settings.simulator_rules), settings.simulator_report_delay
    )
    return Dispatcher(platform, carrier)
