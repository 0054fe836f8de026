"""The Node API's functions, once, for every protocol that serves them.

Each operation names its JSON path, its SOAP operation and its handler. The JSON
blueprint routes `/<path>` to the handler, the Spyne application exposes `soap_name`
with the same handler, so a function cannot exist on one protocol and not the other
(a test checks both adapters against this list).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.api.node import contacts as book
from service.api.node import functions as fn
from service.api.node.params import Params
from service.domain.principal import Principal
from service.services.platform import Platform

Handler = Callable[[Platform, Principal, Params], dict[str, Any]]

BOTH = ("GET", "POST")
POST = ("POST",)


@dataclass(frozen=True)
class Operation:
    """One Node API function as every protocol sees it."""

    path: str  # JSON path below the root, e.g. "sms/create"
    soap_name: str  # SOAP operation name, e.g. "sendSms"
    methods: tuple[str, ...]
    handler: Handler

    def __call__(self, platform: Platform, principal: Principal, params: Params) -> dict[str, Any]:
        """Run the function for the principal; the envelope's data."""
        return self.handler(platform, principal, params)


OPERATIONS: tuple[Operation, ...] = (
    Operation("sms/create-otp", "sendOtp", POST, fn.create_otp),
    Operation("sms/create", "sendSms", POST, fn.create),
    Operation("sms/create-kvkk", "sendKvkkSms", POST, fn.create_kvkk),
    Operation("sms/list", "getSmsPackages", BOTH, fn.list_packages),
    Operation("sms/list-item", "getSmsPackageItems", BOTH, fn.list_items),
    Operation("sms/list-sender", "getSmsSenders", BOTH, fn.list_senders),
    Operation("sms/list-gateway", "getSmsGateways", BOTH, fn.list_gateways),
    Operation("sms/cancel", "cancelSmsPackage", BOTH, fn.cancel),
    Operation("sms/recreate", "recreateSmsPackage", BOTH, fn.recreate),
    Operation("sms/summary", "getSmsSummary", BOTH, fn.summary),
    Operation("sms/inquiry-number", "inquireSmsNumber", BOTH, fn.inquiry_number),
    Operation("user/credit", "getUserCredit", BOTH, fn.user_credit),
    # MO messages; /sms/get-mo is the path some clients use for the same list.
    Operation("mo/list-request", "getMoRequests", BOTH, fn.list_mo_requests),
    Operation("sms/get-mo", "getMo", BOTH, fn.list_mo_requests),
    # Contacts (#11)
    Operation("contact/create", "createContact", POST, book.create),
    Operation("contact/update", "updateContact", POST, book.update),
    Operation("contact/delete", "deleteContacts", POST, book.delete),
    Operation("contact/list", "getContacts", BOTH, book.list_contacts),
    Operation("contact/create-group", "createContactGroup", POST, book.create_group),
    Operation("contact/update-group", "updateContactGroup", POST, book.update_group),
    Operation("contact/delete-group", "deleteContactGroups", POST, book.delete_group),
    Operation("contact/list-group", "getContactGroups", BOTH, book.list_groups),
    Operation("contact/set-blacklist", "setContactBlacklist", POST, book.set_blacklist),
    Operation("contact/import", "importContacts", POST, book.import_contacts),
    # FinSMS's addition: how the background imports went.
    Operation("contact/import-status", "getContactImports", BOTH, book.import_status),
)

BY_PATH = {op.path: op for op in OPERATIONS}
BY_SOAP_NAME = {op.soap_name: op for op in OPERATIONS}
