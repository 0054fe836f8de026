"""The Node API's contact functions (/contact/*): read the request, call the contact
service, render the view. Shared by the JSON and SOAP adapters like functions.py."""

from __future__ import annotations

from typing import Any

from service.api.node import requests
from service.api.node.params import Params, is_blank
from service.domain.constants import ExitType, IysRecipientType, IysSource, IysState
from service.domain.contacts import (
    Contact,
    ContactFilter,
    ContactInput,
    ContactStatus,
    Group,
    GroupInput,
    GroupRef,
    Iys,
    check_count,
    check_details,
    check_name,
)
from service.domain.errors import DomainError, Err, invalid
from service.domain.imports import ContactImport, ImportOptions, check_columns
from service.domain.phone import normalize
from service.domain.principal import Principal
from service.domain.text import check_text
from service.services import contacts, imports
from service.services.platform import Platform


# --- requests ---------------------------------------------------------------------------
def contact_input(params: Params) -> ContactInput:
    """The fields of /contact/create and /contact/update."""
    details = params.raw("details")
    checked = check_details(details) if details is not None else None
    first, last = params.str("firstName"), params.str("lastName")
    if checked is not None:
        # FIRST_NAME/LAST_NAME in details are the name columns when those are not given.
        first = first or checked.pop("FIRST_NAME", None)
        last = last or checked.pop("LAST_NAME", None)
        checked.pop("FIRST_NAME", None)
        checked.pop("LAST_NAME", None)
    groups = params.list("groupUUIDs")
    if groups is not None:
        check_count(len(groups), "groupUUIDs")
    return ContactInput(
        gsm=_gsm(params.raw("gsm")),
        first_name=check_name(first, "firstName"),
        last_name=check_name(last, "lastName"),
        details=checked,
        group_uuids=tuple(_text(g, "groupUUIDs") for g in groups) if groups is not None else None,
        blacklisted=params.bool("isInBlacklist"),
        iys=_iys(params.dict("iys")),
        query_call=params.bool("queryCall"),
        query_email=params.bool("queryEmail"),
    )


def _gsm(value: Any) -> str | None:
    if value is None:
        return None
    number = normalize(value)
    if number is None:
        raise invalid("gsm", "ülke kodu dahil geçerli bir GSM numarası olmalı")
    return number


def _iys(iys: Params | None) -> Iys | None:
    if iys is None:
        return None
    kind, source = iys.int("c"), iys.int("src")
    if kind is None or source is None:
        raise invalid("iys", "c ve src zorunlu")
    return Iys(
        _member(IysRecipientType, kind, "iys.c"),
        _member(IysSource, source, "iys.src"),
        bool(iys.bool("send")),
    )


def _member(kind: Any, value: int, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid(field, f"geçersiz değer {value}") from None


def _text(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(field, "metin olmalı")
    text = check_text(str(value).strip(), field)
    if not text or len(text) > 64:
        raise invalid(field, "geçersiz uuid")
    return text


def _uuid(params: Params, field: str) -> str:
    """The required uuid parameter `field`."""
    value = params.raw(field)
    if value is None:
        raise invalid(field, "zorunlu")
    return _text(value, field)


def _optional_uuid(params: Params, field: str) -> str | None:
    """The uuid parameter `field`, None when not given."""
    value = params.raw(field)
    return _text(value, field) if value is not None else None


def _texts(params: Params, field: str) -> list[str]:
    values = params.list(field) or []
    check_count(len(values), field)
    return [_text(v, field) for v in values]


def _exit_type(value: Any) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, str) and value.strip().upper() in ExitType.__members__:
        return int(ExitType[value.strip().upper()])
    number = Params({"exitType": value}).int("exitType")
    return int(_member(ExitType, number or 0, "exitType"))


def contact_filter(params: Params) -> ContactFilter:
    """The filters of /contact/list (the group resolved by the service)."""
    status = params.int("status")
    iys_state = params.int("iysState")
    return ContactFilter(
        status=_member(ContactStatus, status, "status")
        if status is not None
        else ContactStatus.ALL,
        iys_state=int(_member(IysState, iys_state, "iysState")) if iys_state is not None else None,
        exit_type=_exit_type(params.raw("exitType")),
    )


def group_input(params: Params) -> GroupInput:
    """The fields of /contact/create-group and /contact/update-group."""
    gsms = params.list("gsms") or []
    check_count(len(gsms), "gsms")
    numbers = []
    for index, value in enumerate(gsms):
        number = normalize(value)
        if number is None:
            raise invalid("gsms", f"{index + 1}. numara geçersiz")
        numbers.append(number)
    return GroupInput(
        title=params.str("title"),
        parent_uuid=_optional_uuid(params, "parentUUID"),
        gsms=tuple(numbers),
    )


# --- views ------------------------------------------------------------------------------
def _ref(ref: GroupRef) -> dict[str, Any]:
    return {"uuid": ref.uuid, "title": ref.title}


def contact_view(row: Contact) -> dict[str, Any]:
    """A contact as /contact/create and /contact/list show it."""
    return {
        "uuid": row.uuid,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "gsm": row.gsm,
        "details": dict(row.details) or None,
        "groups": [_ref(g) for g in row.groups] or None,
        "isInBlacklist": 1 if row.blacklisted else 0,
        "status": row.status,
        "exitType": row.exit_type,
        "iys": {"st": row.iys_state, "c": row.iys_type, "src": row.iys_source},
        "queryCall": row.query_call,
        "queryEmail": row.query_email,
    }


def group_view(row: Group) -> dict[str, Any]:
    """A group as /contact/create-group and /contact/list-group show it."""
    return {
        "uuid": row.uuid,
        "title": row.title,
        "stats": {"contactCount": row.contact_count},
        "isParent": 1 if row.is_parent else 0,
        "isShared": 0,
        "parentInfo": _ref(row.parent) if row.parent else None,
    }


def _listing(total: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"stats": {"totalRecord": total}, "list": rows}


# --- handlers ---------------------------------------------------------------------------
def create(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/create: a contact, returned; with `uuid` an update, returning a status."""
    if params.given("uuid"):
        return update(platform, principal, params)
    return contact_view(contacts.create_contact(platform, principal, contact_input(params)))


def update(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/update: change the given fields of the contact `uuid`."""
    contacts.update_contact(platform, principal, _uuid(params, "uuid"), contact_input(params))
    return {"status": 1}


def delete(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/delete: contacts to the archive, or for good with `permanent: 1`."""
    uuids = _texts(params, "uuids")
    if not uuids:
        raise invalid("uuids", "zorunlu")
    permanent = params.int("permanent", 0)
    if permanent not in (0, 1):
        raise invalid("permanent", "0 veya 1 olmalı")
    contacts.delete_contacts(
        platform,
        principal,
        uuids,
        permanent=permanent == 1,
        group_uuid=_optional_uuid(params, "groupUUID"),
    )
    return {"status": 1}


def list_contacts(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/list: the caller's contacts by status, İYS state, exit type and group."""
    page = requests.page(params)
    found = contacts.list_contacts(
        platform,
        principal,
        contact_filter(params),
        _optional_uuid(params, "groupUUID"),
        page,
    )
    return _listing(found.total, [contact_view(c) for c in found.rows])


def create_group(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/create-group: a group, returned; with `uuid` an update, returning a status."""
    if params.given("uuid"):
        return update_group(platform, principal, params)
    return group_view(contacts.create_group(platform, principal, group_input(params)))


def update_group(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/update-group: rename, move and link numbers to the group `uuid`."""
    contacts.update_group(platform, principal, _uuid(params, "uuid"), group_input(params))
    return {"status": 1}


def delete_group(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/delete-group: groups (uuid or uuids), with `includeContacts` their
    contacts left in no other group."""
    uuids = _texts(params, "uuids")
    one = params.raw("uuid")
    if one is not None:
        uuids.insert(0, _text(one, "uuid"))
    if not uuids:
        raise DomainError(Err.ERR_INVALID_PARAM, "uuid veya uuids zorunlu.", field="uuid")
    include = bool(params.bool("includeContacts"))
    contacts.delete_groups(platform, principal, uuids, include_contacts=include)
    return {"status": 1}


def list_groups(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/list-group: the caller's groups by keyword and parent."""
    page = requests.page(params)
    found = contacts.list_groups(
        platform,
        principal,
        params.search("keyword"),
        _optional_uuid(params, "parentUUID"),
        page,
    )
    return _listing(found.total, [group_view(g) for g in found.rows])


def set_blacklist(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/set-blacklist: blacklist (status true) or clear contacts and numbers."""
    status = params.bool("status")
    if status is None:
        raise invalid("status", "zorunlu")
    uuids = params.list("uuids") or []
    gsms = params.list("gsms") or []
    check_count(len(uuids) + len(gsms), "gsms" if gsms else "uuids")
    if not uuids and not gsms:
        raise DomainError(Err.ERR_INVALID_PARAM, "uuids veya gsms zorunlu.", field="uuids")
    valid, invalids = [], []
    for value in gsms:
        number = normalize(value)
        if number is None:
            invalids.append(value)
        else:
            valid.append(number)
    skip = bool(params.bool("returnInvalids"))
    if invalids and not skip:
        raise invalid("gsms", f"geçersiz numara: {invalids[0]}")
    uuid_list = [_text(u, "uuids") for u in uuids]
    contacts.set_blacklist(platform, principal, status, uuid_list, valid)
    result: dict[str, Any] = {"status": 1}
    if skip:
        result["invalids"] = [str(v) for v in invalids]
    return result


# --- imports ----------------------------------------------------------------------------
def import_options(params: Params) -> ImportOptions:
    """The options of /contact/import: columns, overwrite, isInBlacklist, groupUUIDs."""
    columns = params.list("columns")
    return ImportOptions(
        columns=check_columns(columns or []),
        overwrite=bool(params.bool("overwrite")),
        blacklisted=bool(params.bool("isInBlacklist")),
        group_uuids=tuple(dict.fromkeys(_texts(params, "groupUUIDs"))),
    )


def import_contacts(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/import: store the CSV for a worker; `{status: 1}` at once."""
    options = import_options(params)
    csv_data = params.str("csvData")
    if not csv_data:
        raise invalid("csvData", "zorunlu")
    imports.submit(platform, principal, csv_data, options)
    return {"status": 1}


def import_view(platform: Platform, job: ContactImport) -> dict[str, Any]:
    """An import as /contact/import-status and `finsms contact imports` show it."""
    c = job.counts
    return {
        "uuid": job.uuid,
        "state": job.state.value,
        "stats": {
            "total": c.total,
            "created": c.created,
            "updated": c.updated,
            "unchanged": c.unchanged,
            "invalid": c.invalid,
        },
        "invalidRows": [{"line": e.line, "reason": e.reason} for e in c.errors],
        "error": job.error,
        "createDate": platform.local.format(job.created_at),
        "startDate": platform.local.format(job.started_at),
        "finishDate": platform.local.format(job.finished_at),
    }


def import_status(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/contact/import-status (FinSMS's addition): the caller's latest imports."""
    found = imports.list_imports(platform, principal)
    return _listing(len(found), [import_view(platform, j) for j in found])
