"""The Node API's requests read into the services' typed requests.

Tolerances of real clients (shared/spec/clients.md) are honoured here: `number` as int,
string or a one-element list; `numbers` as ints or strings, `{nr, msg, xid}` objects or
`{nr, cfs}` objects that fill FIRST_NAME-style placeholders (a name listed in
`customFields` that an item's cfs lacks is emptied); unknown fields ignored.
Invalid numbers in a multi-recipient package are skipped and counted; a package left with
no valid number is ERR_EMPTY_SMS_PACKAGE. FinSMS adds `groupUUIDs`: contact groups whose
contacts get the package too (resolved by the service), alone or with `numbers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from service.api.node.params import Params, to_int
from service.domain import kvkk
from service.domain import packages as rules
from service.domain.constants import (
    PAGE_SIZE_DEFAULT,
    Encoding,
    ItemState,
    Operator,
    ReportFilter,
    SendingType,
    SmsType,
)
from service.domain.contacts import check_count
from service.domain.errors import DomainError, Err, invalid
from service.domain.mo import MoFilter
from service.domain.phone import normalize
from service.domain.queries import (
    LIST_FILTER_MAX,
    DateRange,
    ItemFilter,
    PackageFilter,
    PackageRef,
    PageRequest,
    SenderFilter,
)
from service.domain.sending import (
    Recipient,
    SendRequest,
    check_field_names,
    fill_placeholders,
    with_declared,
)
from service.domain.text import check_text
from service.services.clock import LocalTime
from service.services.senders import sender_state

_XID_MAX = 64


def parse(params: Params, *, otp: bool) -> SendRequest:
    """A SendRequest from /sms/create (otp=False) or /sms/create-otp (otp=True) fields."""
    sms_type = SmsType.OTP if otp else _enum(SmsType, params.int("type", SmsType.NORMAL), "type")
    sending_type = (
        SendingType.SINGLE
        if otp
        else _enum(SendingType, params.int("sendingType", SendingType.SINGLE), "sendingType")
    )
    content = _content(params.raw("content"))
    fields: dict[str, Any] = dict(
        sms_type=sms_type,
        sending_type=sending_type,
        otp=otp,
        sender=params.str("sender"),
        content=content,
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
    declared = check_field_names(params.list("customFields"))
    groups = _group_uuids(params, sending_type)
    recipients, invalid_count = _recipients(params, sending_type, content, declared, groups)
    if (sending_type != SendingType.MANY_TO_MANY or groups) and not content:
        raise invalid("content", "zorunlu")
    return SendRequest(
        **fields,
        recipients=recipients,
        invalid_count=invalid_count,
        group_uuids=groups,
        custom_fields=declared,
    )


def _group_uuids(params: Params, sending_type: SendingType) -> tuple[str, ...]:
    """groupUUIDs (FinSMS's addition): each once; a 1-N or N-N package only."""
    values = params.list("groupUUIDs") or []
    if values and sending_type == SendingType.SINGLE:
        raise invalid("groupUUIDs", "tekil gönderimde (sendingType 0) kullanılamaz")
    check_count(len(values), "groupUUIDs")
    uuids = [str(v).strip() for v in values if isinstance(v, str | int) and str(v).strip()]
    if len(uuids) != len(values):
        raise invalid("groupUUIDs", "grup uuid listesi olmalı")
    return tuple(dict.fromkeys(uuids))


def parse_kvkk(params: Params) -> kvkk.KvkkRequest:
    """A KvkkRequest from /sms/create-kvkk fields: `number` is `{nr, cfs: {FIRST_NAME,
    LAST_NAME}}` (both names required) and the content must hold SHORT_LINK."""
    entry = params.raw("number")
    if isinstance(entry, list) and len(entry) == 1:
        entry = entry[0]
    if not isinstance(entry, Mapping):
        raise invalid("number", "{nr, cfs: {FIRST_NAME, LAST_NAME}} nesnesi olmalı")
    item = Params(entry)
    number = normalize(item.raw("nr"))
    if number is None:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, field="number.nr")
    cfs = item.dict("cfs") or Params({})
    content = _content(params.raw("content"))
    if content is None:
        raise invalid("content", "zorunlu")
    if kvkk.SHORT_LINK not in content:
        raise invalid("content", f"{kvkk.SHORT_LINK} etiketi zorunlu")
    return kvkk.KvkkRequest(
        number=number,
        first_name=_name(cfs, kvkk.FIRST_NAME),
        last_name=_name(cfs, kvkk.LAST_NAME),
        sender=params.str("sender"),
        content=content,
        encoding=_enum(Encoding, params.int("encoding", Encoding.DEFAULT), "encoding"),
        validity=rules.validity_minutes(SmsType.NORMAL, params.int("validity"), False),
        push_url=_push_url(params.dict("pushSettings")),
    )


def _name(cfs: Params, key: str) -> str:
    field = f"number.cfs.{key}"
    value = cfs.raw(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(field, "zorunlu")
    name = " ".join(str(value).split())
    if not name:
        raise invalid(field, "zorunlu")
    if len(name) > kvkk.NAME_MAX:
        raise invalid(field, f"en fazla {kvkk.NAME_MAX} karakter")
    return check_text(name, field)


def _entries(params: Params, sending_type: SendingType) -> list[Any]:
    if sending_type != SendingType.SINGLE:
        return params.list("numbers") or params.list("number") or []
    raw = params.raw("number")
    if raw is None:
        raw = params.raw("numbers")
    values = raw if isinstance(raw, list) else [raw]
    if raw is None or not values:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, field="number")
    if len(values) != 1:
        raise invalid("number", "tekil gönderimde tek numara olmalı")
    return values


def _recipients(
    params: Params,
    sending_type: SendingType,
    content: str | None,
    declared: tuple[str, ...],
    groups: tuple[str, ...],
) -> tuple[tuple[Recipient, ...], int]:
    """The valid recipients, in order, and how many entries were not valid. With groups
    the numbers may be none: the service decides once it has the groups' contacts."""
    found: list[Recipient] = []
    invalid_count = 0
    for entry in _entries(params, sending_type):
        recipient = _recipient(entry, sending_type, content, declared)
        if recipient is None:
            invalid_count += 1
        else:
            found.append(recipient)
    if not found and not groups:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, field="numbers")
    return tuple(found), invalid_count


def _recipient(
    entry: Any, sending_type: SendingType, content: str | None, declared: tuple[str, ...]
) -> Recipient | None:
    many = sending_type == SendingType.MANY_TO_MANY
    if not isinstance(entry, Mapping):
        number = normalize(entry)
        if many and not content:
            return None  # N-N without its own text or a shared one: nothing to send
        return Recipient(number) if number else None
    item = Params(entry)
    number = normalize(item.raw("nr"))
    if number is None:
        return None
    msg = _content(item.raw("msg"))
    cfs = item.dict("cfs")
    if msg is None and cfs is not None and content:
        msg = fill_placeholders(content, with_declared(cfs, declared))
    if msg is None and many:
        msg = content
        if msg is None:
            return None
    xid = item.str("xid")
    if xid is not None and len(xid) > _XID_MAX:
        raise invalid("numbers.xid", f"en fazla {_XID_MAX} karakter")
    return Recipient(number, msg, xid)


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
    # Checked by the service (service.domain.webhooks.check_push_url).
    return settings.str("url") if settings else None


def _enum(kind: Any, value: int | None, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid(name, f"geçersiz değer {value}") from None


def page(params: Params) -> PageRequest:
    """pageIndex (from 0) and pageSize (10..1000, default 100) of a listing."""
    index = params.int("pageIndex", 0)
    size = params.int("pageSize", PAGE_SIZE_DEFAULT)
    return PageRequest(0 if index is None else index, PAGE_SIZE_DEFAULT if size is None else size)


def package_ref(params: Params, *, id_key: str = "id", allow_custom_id: bool = True) -> PackageRef:
    """Which package a request names: by id (`id_key`, pkgID or id), uuid or customID."""
    for key in (id_key, "pkgID", "id"):
        value = params.int(key)
        if value is not None:
            return PackageRef("id", value)
    uuid = params.str("uuid")
    if uuid:
        return PackageRef("uuid", uuid)
    custom_id = params.str("customID") if allow_custom_id else None
    if custom_id:
        return PackageRef("custom_id", custom_id)
    names = f"{id_key}, uuid" + (", customID" if allow_custom_id else "")
    raise DomainError(Err.ERR_INVALID_PARAM, f"{names} alanlarından biri zorunlu.", field=id_key)


def dates(params: Params, local: LocalTime) -> DateRange:
    """startDate/finishDate (local wall time) as a UTC range."""
    start, finish = params.date("startDate"), params.date("finishDate")
    return DateRange(
        local.to_utc(start) if start else None, local.to_utc(finish) if finish else None
    )


def package_filter(params: Params, local: LocalTime) -> PackageFilter:
    """The filters of /sms/list."""
    return PackageFilter(
        ids=tuple(_int(v, "ids") for v in _limited(params, "ids")),
        custom_ids=tuple(check_text(str(v), "customIDs") for v in _limited(params, "customIDs")),
        keyword=params.search("keyword"),
        sender=params.str("sender"),
        status=_member(ReportFilter, params.int("status"), "status", "0-7 arasında olmalı")
        or ReportFilter.ALL,
        dates=dates(params, local),
    )


def item_filter(params: Params) -> ItemFilter:
    """The filters of /sms/list-item."""
    return ItemFilter(
        target=params.search("target"),
        operator=_member(Operator, params.int("operator"), "operator"),
        state=_member(ItemState, params.int("state"), "state"),
    )


def sender_filter(params: Params) -> SenderFilter:
    """The filters of /sms/list-sender."""
    status = params.int("status")
    if status is not None:
        status = int(sender_state(status))
    return SenderFilter(keyword=params.search("keyword"), status=status)


def _member(kind: Any, value: int | None, field: str, detail: str = "geçersiz değer") -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise invalid(field, detail) from None


def _limited(params: Params, field: str) -> list[Any]:
    # Counted before each value is read: a huge list is refused without reading it.
    values = params.list(field) or []
    if len(values) > LIST_FILTER_MAX:
        raise DomainError(
            Err.ERR_REQUEST_PARAM_LIMIT, f"{field}: en fazla {LIST_FILTER_MAX}", field=field
        )
    return values


def _int(value: Any, field: str) -> int:
    result = to_int(value, field)
    assert result is not None
    return result


def mo_filter(params: Params, local: LocalTime) -> MoFilter:
    """The filters of /mo/list-request: keyword (keyword, text or number) and dates."""
    return MoFilter(keyword=params.search("keyword"), dates=dates(params, local))
