"""Turkish mobile numbers: normalisation to 905xxxxxxxxx and the operator of a number."""

from __future__ import annotations

import re
from typing import Any, Protocol

from service.domain.constants import Operator

# Mobile prefixes (the three digits after 90) by operator. Number portability means a
# number may have moved; this table is the default answer, a lookup can override it.
_PREFIXES: dict[str, Operator] = {}
for _p in (*range(530, 540), 561):
    _PREFIXES[str(_p)] = Operator.TURKCELL
for _p in range(540, 550):
    _PREFIXES[str(_p)] = Operator.VODAFONE
for _p in (*range(500, 508), *range(550, 560)):
    _PREFIXES[str(_p)] = Operator.TURKTELEKOM
_PREFIXES["510"] = Operator.NETGSM
del _p

# Separators people type inside numbers: "0532 123 45 67", "+90 (532) 123-45-67".
_SEPARATORS = re.compile(r"[\s\-().]")


def normalize(value: Any) -> str | None:
    """905xxxxxxxxx from 905…, 05…, 5… (int or string); None when it is not such a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, str):
        if len(value) == 12 and value.startswith("905") and value.isdigit() and value.isascii():
            return value  # already canonical: the common case in large packages
        text = _SEPARATORS.sub("", value)
        if text.startswith("+"):
            text = text[1:]
    else:
        return None
    if not text.isdigit() or not text.isascii():
        return None
    if len(text) == 12 and text.startswith("905"):
        return text
    if len(text) == 11 and text.startswith("05"):
        return "9" + text
    if len(text) == 10 and text.startswith("5"):
        return "90" + text
    return None


def operator_of(number: str) -> Operator | None:
    """The operator by prefix of a normalised number; None for an unknown prefix."""
    return _PREFIXES.get(number[2:5])


class OperatorLookup(Protocol):
    """Who carries a number: the numbering plan's prefixes by default; a number-portability
    lookup (which knows numbers that moved) can take its place (FINSMS_OPERATOR_LOOKUP)."""

    def operator_of(self, number: str) -> Operator | None:
        """The operator of a normalised number (905xxxxxxxxx); None when unknown."""
        ...


class PrefixLookup:
    """The operator a number's prefix was allocated to (ignores portability)."""

    def operator_of(self, number: str) -> Operator | None:
        """The operator by prefix; None for an unknown prefix."""
        return operator_of(number)
