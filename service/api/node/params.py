"""Request parameters of the Node API, as its JSON and SOAP adapters read them.

The tolerance rules of shared/spec/clients.md live here, once: field names in any case,
ints as strings, `null` or empty values meaning "not given", unknown fields ignored.
A value that is present but wrong raises ERR_INVALID_PARAM naming the field.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from service.domain.errors import invalid
from service.domain.text import check_text

_INTEGER = re.compile(r"([+-]?)0*([0-9]*)")  # ASCII digits only: str.isdigit() admits '²'
# Every integer field fits a signed 64-bit column; anything larger is a wrong value.
INT_MAX = 2**63 - 1
# Digits of INT_MAX. Longer text is refused before int(), which raises ValueError beyond
# 4,300 digits (Python's guard against quadratic conversion) and is slow well before it.
INT_DIGITS = len(str(INT_MAX))
# Dates outside this range are typing errors, and overflow time-zone arithmetic.
DATE_MIN, DATE_MAX = datetime(2000, 1, 1), datetime(2100, 12, 31, 23, 59, 59)
SEARCH_MAX = 2000  # characters of a search filter (keyword, target)
_TRUE = {"1", "true", "yes", "on", "evet"}
_FALSE = {"0", "false", "no", "off", "hayir", "hayır"}

# Dates the API speaks: "yyyy-MM-dd HH:mm" (documented), seconds and ISO 'T' tolerated.
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
)


def is_blank(value: Any) -> bool:
    """True for what counts as "not given": None, '' (after strip), empty dict."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, dict) and not value


class Params(Mapping[str, Any]):
    """A case-insensitive, read-only view of request fields with typed getters."""

    def __init__(self, raw: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = {}
        for key, value in (raw or {}).items():
            self._data.setdefault(str(key).lower(), value)

    def __getitem__(self, key: str) -> Any:
        return self._data[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def raw(self, key: str) -> Any:
        """The value as sent, None when absent or blank."""
        value = self._data.get(key.lower())
        return None if is_blank(value) else value

    def given(self, key: str) -> bool:
        """Whether the field carries a value."""
        return self.raw(key) is not None

    def int(self, key: builtins.str, default: builtins.int | None = None) -> builtins.int | None:
        """An integer field; "12" and 12.0 are accepted, "abc" and 1.5 are not."""
        return to_int(self.raw(key), key, default)

    def str(self, key: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        """A text field, stripped of surrounding whitespace; numbers become text."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(key, "metin olmalı")
        return check_text(str(value).strip(), key)

    def search(self, key: builtins.str) -> builtins.str | None:
        """A text to search for (LIKE): bounded, since SQLite refuses patterns over 50,000
        bytes with an error, and nothing stored is longer than a few thousand characters."""
        value = self.str(key)
        if value is not None and len(value) > SEARCH_MAX:
            raise invalid(key, f"en fazla {SEARCH_MAX} karakter")
        return value

    def bool(self, key: builtins.str, default: builtins.bool | None = None) -> builtins.bool | None:
        """A boolean field: true/false, 1/0 and their strings."""
        return to_bool(self.raw(key), key, default)

    def list(self, key: builtins.str) -> builtins.list[Any] | None:
        """A list field; a single value is taken as a one-element list."""
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return list_items(value, key)
        return [value]

    def dict(self, key: builtins.str) -> Params | None:
        """A nested object field, as Params; empty means not given."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise invalid(key, "nesne olmalı")
        return Params(value)

    def date(self, key: builtins.str) -> datetime | None:
        """A local date-time in the API's format ("yyyy-MM-dd HH:mm"), naive."""
        return to_datetime(self.raw(key), key)


def list_items(values: Iterable[Any], field: str) -> list[Any]:
    """A list's items; a blank item is an error, never dropped in silence (a client that
    failed to serialise an entry would otherwise reach fewer recipients than it meant)."""
    items = []
    for index, value in enumerate(values):
        if is_blank(value):
            raise invalid(field, f"{index + 1}. öğe boş")
        items.append(value)
    return items


def to_int(value: Any, field: str, default: int | None = None) -> int | None:
    """Coerce one value to a 64-bit int or raise ERR_INVALID_PARAM for `field`."""
    if is_blank(value):
        return default
    number: int | None = None
    if isinstance(value, bool | int) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
    elif isinstance(value, str):
        number = _digits_int(value.strip())
    if number is None or abs(number) > INT_MAX:
        raise invalid(field, "tam sayı olmalı")
    return number


def _digits_int(text: str) -> int | None:
    """The integer a decimal text spells, None if it is not one or has too many digits."""
    match = _INTEGER.fullmatch(text)
    if match is None or not text.lstrip("+-") or len(match[2]) > INT_DIGITS:
        return None
    return int(match[1] + (match[2] or "0"))


def to_bool(value: Any, field: str, default: bool | None = None) -> bool | None:
    """Coerce one value to bool or raise ERR_INVALID_PARAM for `field`."""
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise invalid(field, "true veya false olmalı")


def to_datetime(value: Any, field: str) -> datetime | None:
    """Parse the API's date formats (naive local time); a datetime passes through as is."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    if isinstance(value, str):
        text = value.strip()
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if not DATE_MIN <= parsed <= DATE_MAX:
                raise invalid(field, "2000 ile 2100 arasında bir tarih olmalı")
            return parsed
    raise invalid(field, "tarih 'yyyy-MM-dd HH:mm' biçiminde olmalı")
