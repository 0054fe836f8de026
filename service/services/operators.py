"""The operator of a number, found by the lookup the settings name (FINSMS_OPERATOR_LOOKUP).

`prefix` (the default) reads the numbering plan's prefixes (service.domain.phone). A
number-portability lookup (an MNP database or an HLR query) is one more entry in LOOKUPS:
a factory from the settings to an OperatorLookup. Items record the operator found when
their package is created; routing and the reports' operator filter read it from there.
"""

from __future__ import annotations

from collections.abc import Callable

from service.config import Settings, SettingsError
from service.domain.phone import OperatorLookup, PrefixLookup

LOOKUPS: dict[str, Callable[[Settings], OperatorLookup]] = {"prefix": lambda _: PrefixLookup()}


def operator_lookup(settings: Settings) -> OperatorLookup:
    """The lookup FINSMS_OPERATOR_LOOKUP names; a SettingsError names the variable."""
    factory = LOOKUPS.get(settings.operator_lookup)
    if factory is None:
        raise SettingsError(
            f"FINSMS_OPERATOR_LOOKUP={settings.operator_lookup!r}: unknown lookup "
            f"(known: {', '.join(LOOKUPS)})"
        )
    return factory(settings)
