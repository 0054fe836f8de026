"""Contacts, groups and the blacklist: their constants, records and pure rules.

The contact tables of the spec (Kişi Filtreleri, İYS Durumları, İYS Alıcı/Kaynak Tipleri,
exit types) are kept here, next to the rules that use them, so that the contact book
is one module to read (and, for the lead's merge, one module apart from constants.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Any

from service.domain.constants import IysRecipientType, IysSource
from service.domain.errors import DomainError, Err, invalid
from service.domain.phone import normalize

# Items of uuids/gsms in one request (SMS43 beyond): the spec's limit of set-blacklist,
# applied to every contact function taking a list.
CONTACT_LIST_MAX = 1000
TITLE_MAX = 100  # characters of a group title
NAME_MAX = 100  # characters of a first or last name
DETAILS_MAX = 50  # custom fields of one contact
DETAIL_NAME_MAX = 64
DETAIL_VALUE_MAX = 1000
# "Names without Turkish characters, only `_` as special character" (the spec).
_DETAIL_NAME = re.compile(r"[A-Za-z0-9_]+")
# Details the system knows; GSM_2/GSM_3 are numbers, BIRTH_DATE a date.
KNOWN_DETAILS = ("FIRST_NAME", "LAST_NAME", "BIRTH_DATE", "GSM_2", "GSM_3")
_NUMBER_DETAILS = ("GSM_2", "GSM_3")


class ContactStatus(IntEnum):
    """Contact filters (Kişi Filtreleri), reconstructed; a contact's own status is one of
    WHITE, BLACK or INVALID (ALL only filters)."""

    ALL = 0
    WHITE = 1
    BLACK = 2
    INVALID = 3


@dataclass(frozen=True)
class GroupRef:
    """A group as a contact or a sub-group shows it."""

    uuid: str
    title: str


@dataclass(frozen=True)
class Contact:
    """A contact of a user's book."""

    id: int
    uuid: str
    user_id: int
    gsm: str
    first_name: str | None
    last_name: str | None
    details: dict[str, str]
    status: int
    exit_type: int | None
    iys_state: int | None
    iys_type: int | None
    iys_source: int | None
    query_call: bool | None
    query_email: bool | None
    created_at: datetime
    groups: tuple[GroupRef, ...] = ()
    archived: bool = False

    @property
    def blacklisted(self) -> bool:
        """Whether the contact's number is on the user's blacklist."""
        return self.status == ContactStatus.BLACK


@dataclass(frozen=True)
class Group:
    """A contact group, with what its listing shows."""

    id: int
    uuid: str
    user_id: int
    title: str
    parent_id: int | None
    parent: GroupRef | None
    contact_count: int
    is_parent: bool


@dataclass(frozen=True)
class Iys:
    """İYS consent fields of a contact request: recipient type, source, and whether to
    (re)send the contact to İYS."""

    recipient_type: IysRecipientType
    source: IysSource
    send: bool


@dataclass(frozen=True)
class ContactInput:
    """/contact/create and /contact/update fields; None: not given (update keeps it)."""

    gsm: str | None
    first_name: str | None = None
    last_name: str | None = None
    details: dict[str, str] | None = None
    group_uuids: tuple[str, ...] | None = None
    blacklisted: bool | None = None
    iys: Iys | None = None
    query_call: bool | None = None
    query_email: bool | None = None


@dataclass(frozen=True)
class ContactFields:
    """The stored columns of a contact that a create or an update writes."""

    gsm: str
    first_name: str | None
    last_name: str | None
    details: dict[str, str]
    iys_state: int | None
    iys_type: int | None
    iys_source: int | None
    query_call: bool | None
    query_email: bool | None


@dataclass(frozen=True)
class ContactFilter:
    """The filters of /contact/list; group_id is resolved from groupUUID by the service."""

    status: ContactStatus = ContactStatus.ALL
    iys_state: int | None = None
    exit_type: int | None = None
    group_id: int | None = None


@dataclass(frozen=True)
class GroupFilter:
    """The filters of /contact/list-group; parent_id resolved from parentUUID."""

    keyword: str | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class GroupInput:
    """/contact/create-group and /contact/update-group fields."""

    title: str | None
    parent_uuid: str | None = None
    gsms: tuple[str, ...] = field(default_factory=tuple)


def check_details(raw: Any) -> dict[str, str]:
    """Custom fields as stored: names of letters, digits and `_`; values text; GSM_2/GSM_3
    valid numbers (normalised) and BIRTH_DATE a date (yyyy-MM-dd)."""
    if not isinstance(raw, dict):
        raise invalid("details", "nesne olmalı")
    if len(raw) > DETAILS_MAX:
        raise DomainError(Err.ERR_REQUEST_PARAM_LIMIT, f"details: en fazla {DETAILS_MAX}")
    details: dict[str, str] = {}
    for name, value in raw.items():
        key = str(name).strip()
        if not _DETAIL_NAME.fullmatch(key) or len(key) > DETAIL_NAME_MAX or not key.isascii():
            raise invalid("details", f"'{key}': yalnız harf, rakam ve _ içerebilir")
        text = _detail_value(key, value)
        if text is not None:
            details[key] = text
    return details


def check_detail(key: str, value: Any) -> str | None:
    """One custom field's value as stored (None: empty); GSM_2/GSM_3 and BIRTH_DATE checked."""
    return _detail_value(key, value)


def _detail_value(key: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"details.{key}", "metin olmalı")
    text = str(value).strip()
    if len(text) > DETAIL_VALUE_MAX:
        raise invalid(f"details.{key}", f"en fazla {DETAIL_VALUE_MAX} karakter")
    if key.upper() in _NUMBER_DETAILS:
        number = normalize(value)
        if number is None:
            raise invalid(f"details.{key}", "geçerli bir GSM numarası olmalı")
        return number
    if key.upper() == "BIRTH_DATE":
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise invalid("details.BIRTH_DATE", "yyyy-MM-dd biçiminde olmalı") from None
    return text


def check_title(value: str | None) -> str:
    """A group title: required, at most TITLE_MAX characters."""
    if not value:
        raise invalid("title", "zorunlu")
    if len(value) > TITLE_MAX:
        raise invalid("title", f"en fazla {TITLE_MAX} karakter")
    return value


def check_name(value: str | None, field_name: str) -> str | None:
    """A first or last name: at most NAME_MAX characters."""
    if value is not None and len(value) > NAME_MAX:
        raise invalid(field_name, f"en fazla {NAME_MAX} karakter")
    return value


def check_count(count: int, field_name: str) -> None:
    """At most CONTACT_LIST_MAX uuids and gsms in one request (SMS43)."""
    if count > CONTACT_LIST_MAX:
        raise DomainError(
            Err.ERR_REQUEST_PARAM_LIMIT,
            f"{field_name}: en fazla {CONTACT_LIST_MAX}",
            field=field_name,
        )


def status_of(blacklisted: bool) -> ContactStatus:
    """The stored status of a valid number on, or off, the blacklist."""
    return ContactStatus.BLACK if blacklisted else ContactStatus.WHITE
