"""What a send request says, read once from any protocol's parameters and checked.

Tolerances of real clients (shared/spec/clients.md) are honoured here: `number` as int,
string or a one-element list; `numbers` as ints or strings, `{nr, msg, xid}` objects or
`{nr, cfs}` objects that fill FIRST_NAME-style placeholders; unknown fields ignored.
Invalid numbers in a multi-recipient package are skipped and counted; a package left with
no valid number is ERR_EMPTY_SMS_PACKAGE.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.domain import packages as rules
from service.domain.constants import Encoding, SendingType, SmsType
from service.domain.errors import DomainError, Err, invalid
from service.domain.params import Params, check_text, is_blank
from service.domain.phone import normalize

_PLACEHOLDER_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")
_XID_MAX = 64
_URL_MAX = 2000


@dataclass(frozen=True)
class Recipient:
    """One recipient: a normalised number, its own text (N-N) and the client's id."""

    target: str
    msg: str | None = None
    xid: str | None = None


@dataclass
class SendRequest:
    """A checked request to create a package."""

    sms_type: SmsType
    sending_type: SendingType
    otp: bool
    sender: str | None
    content: str | None
    encoding: Encoding
    validity: int
    title: str | None
    sending_date: datetime | None  # local wall time as sent
    periodic: rules.Periodic | None
    push_url: str | None
    commercial: bool | None
    custom_id: str | None
    trust_date: datetime | None
    recipients: list[Recipient] = field(default_factory=list)
    invalid_count: int = 0


def parse(params: Params, *, otp: bool) -> SendRequest:
    """A SendRequest from /sms/create (otp=False) or /sms/create-otp (otp=True) fields."""
    sms_type = SmsType.OTP if otp else _enum(SmsType, params.int("type", SmsType.NORMAL), "type")
    sending_type = (
        SendingType.SINGLE
        if otp
        else _enum(SendingType, params.int("sendingType", SendingType.SINGLE), "sendingType")
    )
    request = SendRequest(
        sms_type=sms_type,
        sending_type=sending_type,
        otp=otp,
        sender=params.str("sender"),
        content=_content(params.raw("content")),
        encoding=_enum(Encoding, params.int("encoding", Encoding.DEFAULT), "encoding"),
        validity=rules.validity_minutes(sms_type, params.int("validity"), otp),
        title=None if otp else rules.check_title(params.str("title")),
        sending_date=None if otp else _sending_date(params),
        periodic=None if otp else _periodic(params.dict("periodicSettings")),
        push_url=_push_url(params.dict("pushSettings")),
        commercial=params.bool("commercial"),
        custom_id=rules.check_custom_id(params.str("customID")),
        trust_date=params.date("trustDate") if otp else None,
    )
    _recipients(request, params)
    if request.sending_type != SendingType.MANY_TO_MANY and not request.content:
        raise invalid("content", "zorunlu")
    return request


def _recipients(request: SendRequest, params: Params) -> None:
    if request.sending_type == SendingType.SINGLE:
        raw = params.raw("number")
        if raw is None:
            raw = params.raw("numbers")
        values = raw if isinstance(raw, list) else [raw]
        if raw is None or not values:
            raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, field="number")
        if len(values) != 1:
            raise invalid("number", "tekil gönderimde tek numara olmalı")
        entries: list[Any] = values
    else:
        entries = params.list("numbers") or params.list("number") or []
    seen: set[Recipient] = set()
    for entry in entries:
        recipient = _recipient(entry, request)
        if recipient is None:
            request.invalid_count += 1
        elif recipient not in seen:
            seen.add(recipient)
            request.recipients.append(recipient)
    if not request.recipients:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, field="numbers")


def _recipient(entry: Any, request: SendRequest) -> Recipient | None:
    if not isinstance(entry, Mapping):
        number = normalize(entry)
        if request.sending_type == SendingType.MANY_TO_MANY and not request.content:
            return None  # N-N without its own text or a shared one: nothing to send
        return Recipient(number) if number else None
    item = Params(entry)
    number = normalize(item.raw("nr"))
    if number is None:
        return None
    msg = _content(item.raw("msg"))
    cfs = item.dict("cfs")
    if msg is None and cfs is not None and request.content:
        msg = fill_placeholders(request.content, cfs)
    if msg is None and request.sending_type == SendingType.MANY_TO_MANY:
        msg = request.content
        if msg is None:
            return None
    xid = item.str("xid")
    if xid is not None and len(xid) > _XID_MAX:
        raise invalid("numbers.xid", f"en fazla {_XID_MAX} karakter")
    return Recipient(number, msg, xid)


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
    if is_blank(value):
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("cfs", "değerler metin olmalı")
    return check_text(str(value), "cfs")


def _content(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid("content", "metin olmalı")
    return check_text(str(value), "content") if str(value).strip() else None


def _sending_date(params: Params) -> datetime | None:
    # SMS08 covers a sending date that is "invalid or in the past": clients branch on it.
    try:
        return params.date("sendingDate")
    except DomainError as error:
        raise DomainError(
            Err.ERR_INVALID_SMS_SENDING_DATE, error.detail, field="sendingDate"
        ) from None


def _periodic(settings: Params | None) -> rules.Periodic | None:
    if settings is None:
        return None
    return rules.check_periodic(
        settings.int("periodType"), settings.int("interval"), settings.int("amount")
    )


def _push_url(settings: Params | None) -> str | None:
    url = settings.str("url") if settings else None
    if url is None:
        return None
    if not url.lower().startswith(("http://", "https://")) or len(url) > _URL_MAX:
        raise invalid("pushSettings.url", "http(s) adresi olmalı")
    return url


def _enum(kind: Any, value: int | None, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid(name, f"geçersiz değer {value}") from None
