"""A request to send SMS, as every front door hands it to the services, checked.

Adapters read their wire into a SendRequest (the Node API's tolerances live in
service.api.node.requests); the rules they call to check values are in domain.packages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.constants import Encoding, SendingType, SmsType
from service.domain.errors import invalid
from service.domain.packages import Periodic
from service.domain.text import check_text

_PLACEHOLDER_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True)
class Recipient:
    """One recipient: a normalised number, its own text (N-N) and the client's id."""

    target: str
    msg: str | None = None
    xid: str | None = None


@dataclass(frozen=True)
class SendRequest:
    """A checked request to create a package.

    Dates are naive local wall time (the platform's time zone) or aware; the service
    converts them. Recipients are as sent, in order: the service drops repeats.
    """

    sms_type: SmsType
    sending_type: SendingType
    otp: bool
    sender: str | None
    content: str | None
    encoding: Encoding
    validity: int
    title: str | None
    sending_date: datetime | None
    periodic: Periodic | None
    push_url: str | None
    commercial: bool | None
    custom_id: str | None
    trust_date: datetime | None
    recipients: tuple[Recipient, ...] = ()
    invalid_count: int = 0


def fill_placeholders(content: str, fields: Mapping[str, Any]) -> str:
    """Replace KEY placeholders by the recipient's values in one pass, longest key first.

    One pass: a filled-in value is never searched again ("KADAR" keeps its "AD").
    """
    values: dict[str, str] = {}
    for key, value in fields.items():
        if not _PLACEHOLDER_KEY.fullmatch(key):
            raise invalid("cfs", f"geçersiz alan adı {key!r}")
        values[key.upper()] = _placeholder_value(value)
    if not values:
        return content
    pattern = re.compile("|".join(re.escape(k) for k in sorted(values, key=len, reverse=True)))
    return pattern.sub(lambda m: values[m.group(0)], content)


def _placeholder_value(value: Any) -> str:
    # The value lands in the message: text only, and text a database can store.
    # Blank (null, whitespace, an empty object) means "no value": the placeholder empties.
    if value is None or value == {} or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("cfs", "değerler metin olmalı")
    return check_text(str(value), "cfs")
