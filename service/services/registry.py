"""The Node API's functions, once, for every protocol that serves them.

Each operation names its JSON path, its SOAP operation and its handler. The JSON
blueprint routes `/<path>` to the handler, the Spyne application exposes `soap_name`
with the same handler, so a function cannot exist on one protocol and not the other
(a test checks both adapters against this list).

Handlers take the calling principal and the request's parameters as a `Params`
(case-insensitive, protocol-neutral plain values) and return the `data` object of the
Node API's envelope as plain dicts and lists. They raise only `DomainError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.domain.params import Params
    from service.services.platform import Platform, Principal

Handler = Callable[["Platform", "Principal", "Params"], dict[str, Any]]

BOTH = ("GET", "POST")
POST = ("POST",)


@dataclass(frozen=True)
class Operation:
    """One Node API function as every protocol sees it."""

    path: str  # JSON path below the root, e.g. "sms/create"
    soap_name: str  # SOAP operation name, e.g. "sendSms"
    methods: tuple[str, ...]
    handler_name: str  # "module:function" below service.services, resolved lazily

    def handler(self) -> Handler:
        """The service function behind this operation."""
        return _resolve(self.handler_name)


OPERATIONS: tuple[Operation, ...] = (
    Operation("sms/create-otp", "sendOtp", POST, "sms:create_otp"),
    Operation("sms/create", "sendSms", POST, "sms:create"),
    Operation("sms/list", "getSmsPackages", BOTH, "reports:list_packages"),
    Operation("sms/list-item", "getSmsPackageItems", BOTH, "reports:list_items"),
    Operation("sms/list-sender", "getSmsSenders", BOTH, "senders:list_senders"),
    Operation("sms/cancel", "cancelSmsPackage", BOTH, "sms:cancel"),
    Operation("sms/recreate", "recreateSmsPackage", BOTH, "sms:recreate"),
    Operation("sms/summary", "getSmsSummary", BOTH, "reports:summary"),
    Operation("sms/inquiry-number", "inquireSmsNumber", BOTH, "reports:inquiry_number"),
    Operation("user/credit", "getUserCredit", BOTH, "credit:get_credit"),
)

BY_PATH = {op.path: op for op in OPERATIONS}
BY_SOAP_NAME = {op.soap_name: op for op in OPERATIONS}


@cache
def _resolve(handler_name: str) -> Handler:
    # Imported on first use: the services import the platform, which imports this module.
    module, func = handler_name.split(":")
    handler: Handler = getattr(importlib.import_module(f"service.services.{module}"), func)
    return handler
