"""The Node API's functions: each reads its request, calls a service, renders a view.

Handlers take the platform, the calling principal and the request's Params (the same for
JSON and SOAP) and return the `data` object of the envelope. They raise only DomainError.
"""

from __future__ import annotations

from typing import Any

from service.api.node import requests, views
from service.api.node.params import Params
from service.domain.errors import invalid
from service.domain.phone import normalize
from service.domain.principal import Principal
from service.domain.records import Page
from service.services import credit, gateways, kvkk, mo, reports, senders, sms
from service.services.platform import Platform


def create_otp(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/create-otp: a one-recipient OTP package in the OTP lane."""
    req = requests.parse(params, otp=True)
    return {"pkgID": sms.create_package(platform, principal, req)}


def create(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/create: single, 1-N or N-N package, now or at sendingDate."""
    req = requests.parse(params, otp=False)
    return {"pkgID": sms.create_package(platform, principal, req)}


def create_kvkk(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/create-kvkk: one SMS carrying a KVKK consent link to a named person."""
    req = requests.parse_kvkk(params)
    return {"pkgID": kvkk.create(platform, principal, req)}


def cancel(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/cancel: cancel a package nothing of which has gone out yet; refund it."""
    sms.cancel(platform, principal, requests.package_ref(params))
    return {"status": 1}


def recreate(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/recreate: send a finished package again, as a new package."""
    ref = requests.package_ref(params, allow_custom_id=False)
    title = params.str("title")
    if title is None:
        raise invalid("title", "zorunlu")
    include_new = params.bool("includeNewNumbers")
    if include_new is None:
        raise invalid("includeNewNumbers", "zorunlu")
    return {"pkgID": sms.recreate(platform, principal, ref, title, include_new)}


def list_packages(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list: the caller's packages, newest first, with delivery statistics."""
    page = requests.page(params)
    filters = requests.package_filter(params, platform.local)
    found = reports.list_packages(platform, principal, filters, page)
    return views.listing(found, lambda r: views.package(platform.local, r))


def list_items(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list-item: the recipients of one of the caller's packages."""
    ref = requests.package_ref(params, id_key="pkgID")
    page = requests.page(params)
    pkg, found = reports.list_items(platform, principal, ref, requests.item_filter(params), page)
    return views.listing(found, lambda row: views.item(platform.local, pkg, row))


def summary(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/summary: totals over the caller's packages in a date range (default: all)."""
    totals = reports.summary(platform, principal, requests.dates(params, platform.local))
    return views.summary(totals)


def inquiry_number(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/inquiry-number: what was sent to one number (last month, at most 3 months)."""
    gsm = normalize(params.raw("gsm"))
    if gsm is None:
        raise invalid("gsm", "ülke kodu dahil geçerli bir GSM numarası olmalı")
    dates = requests.dates(params, platform.local)
    page = requests.page(params)
    found = reports.inquiry_number(platform, principal, gsm, params.str("sender"), dates, page)
    return views.listing(found, lambda row: views.delivery(platform.local, row))


def list_senders(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list-sender: the caller's senders, filtered by keyword and status."""
    page = requests.page(params)
    found = senders.list_senders(platform, principal, requests.sender_filter(params), page)
    return views.listing(found, views.sender)


def list_gateways(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/sms/list-gateway: the sending gateways, each with the caller's approved senders."""
    found = gateways.list_gateways(platform, principal)
    return views.listing(Page(len(found), found), views.gateway)


def user_credit(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/user/credit: the caller's balance."""
    return {"credit": credit.balance(platform, principal)}


def list_mo_requests(platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
    """/mo/list-request (and its alias /sms/get-mo): MO messages to the caller's short
    numbers, or with userUUID to a descendant's, newest first."""
    page = requests.page(params)
    filters = requests.mo_filter(params, platform.local)
    user_uuid = params.str("userUUID")
    found = mo.list_requests(platform, principal, filters, page, user_uuid=user_uuid)
    return views.listing(found, lambda row: views.mo_request(platform.local, row))
