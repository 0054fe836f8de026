"""The FinSMS v1 facade's use cases: send under the facade's pricing, report a package.

A facade request is a package like any other (it shows in /sms/list and goes through
the same delivery engine); it is priced by FACADE_PRICING: one credit per started 180
characters per recipient, failed items refunded 48 hours after they were sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from service.domain.constants import PAGE_SIZE_MIN, SenderState
from service.domain.errors import DomainError, Err
from service.domain.pricing import FACADE_PRICING
from service.domain.principal import Principal, visible_to
from service.domain.queries import PackageRef, PageRequest, SenderFilter
from service.domain.records import Item
from service.domain.sending import SendRequest
from service.services import sms
from service.services.platform import Platform
from service.services.ports import Tx

# Ids are digits; more than this many cannot be a package id (nor overflow a BIGINT).
_ID_DIGITS = 18


def send(
    platform: Platform,
    principal: Principal,
    req: SendRequest,
    also: Callable[[Tx], None] | None = None,
) -> int:
    """Create a facade package (from the user's default sender when none is named); its
    id. `also` writes more in the package's transaction (one commit, not two)."""
    if req.sender is None:
        req = replace(req, sender=default_sender(platform, principal))
    return sms.create_package(
        platform,
        principal,
        req,
        policy=FACADE_PRICING,
        check_duplicates=False,
        on_written=None if also is None else lambda tx, _package_id: also(tx),
    )


def default_sender(platform: Platform, principal: Principal) -> str:
    """The sender of a facade message without From: the user's first approved sender by
    title; none approved is ERR_INVALID_SMS_SENDER."""
    cached = platform.approved_senders.get(("default", principal.user_id))
    if isinstance(cached, str):
        return cached
    with platform.uow.read() as tx:
        approved = SenderFilter(status=int(SenderState.APPROVED))
        rows = tx.senders.listing(
            visible_to(principal), approved, PageRequest(0, PAGE_SIZE_MIN)
        ).rows
    if not rows:
        raise DomainError(Err.ERR_INVALID_SMS_SENDER, "Onaylı gönderici başlığı yok.", field="From")
    platform.approved_senders.put(("default", principal.user_id), rows[0].title)
    return rows[0].title


def report(platform: Platform, principal: Principal, message_id: str) -> list[Item]:
    """The recipients of one of the caller's packages; another user's is not found."""
    if not message_id.isascii() or not message_id.isdigit() or len(message_id) > _ID_DIGITS:
        raise DomainError(Err.ERR_SMS_PKG_NOT_FOUND)
    with platform.uow.read() as tx:
        package = sms.find_package(tx, principal, PackageRef("id", int(message_id)))
        return tx.packages.all_items(package.id)
