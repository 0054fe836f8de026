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
    # Contact groups (uuids) whose live contacts, and their sub-groups', get the package too.
    group_uuids: tuple[str, ...] = ()
    # Placeholder names the client declares (customFields): one a recipient has no value
    # for is emptied rather than sent as the bare tag.
    custom_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupMember:
    """A live contact of a group a package goes to: its number and what fills its text."""

    gsm: str
    first_name: str | None
    last_name: str | None
    details: Mapping[str, str]


# Fields every contact has, filled (or emptied) in a group package's text.
CONTACT_FIELDS = ("FIRST_NAME", "LAST_NAME", "BIRTH_DATE", "GSM_2", "GSM_3")


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


def check_field_names(names: Any) -> tuple[str, ...]:
    """customFields: placeholder names (letters, digits, `_`), upper-cased, each once."""
    if names is None:
        return ()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise invalid("customFields", "alan adları listesi olmalı")
    for name in names:
        if not _PLACEHOLDER_KEY.fullmatch(name):
            raise invalid("customFields", f"geçersiz alan adı {name!r}")
    return tuple(dict.fromkeys(n.upper() for n in names))


def with_declared(fields: Mapping[str, Any], declared: tuple[str, ...]) -> dict[str, Any]:
    """A recipient's fields plus an empty value for each declared name it lacks."""
    return {name: "" for name in declared} | dict(fields)


def member_text(content: str, member: GroupMember, declared: tuple[str, ...]) -> str | None:
    """A contact's own text: the content with its fields filled (a field it lacks
    emptied); None when the content names no field, so it shares the package's text."""
    fields = dict.fromkeys((*CONTACT_FIELDS, *declared), "")
    for name, value in member.details.items():
        fields[name.upper()] = value
    # The name columns; a contact stored with the names among its details keeps those.
    fields["FIRST_NAME"] = member.first_name or fields["FIRST_NAME"]
    fields["LAST_NAME"] = member.last_name or fields["LAST_NAME"]
    used = {k: v for k, v in fields.items() if k in content}
    return fill_placeholders(content, used) if used else None


def _placeholder_value(value: Any) -> str:
    # The value lands in the message: text only, and text a database can store.
    # Blank (null, whitespace, an empty object) means "no value": the placeholder empties.
    if value is None or value == {} or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("cfs", "değerler metin olmalı")
    return check_text(str(value), "cfs")
