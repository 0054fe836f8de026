"""Reading packages back: listings, a package's items, totals, a number's history.

Counts of delivered, undelivered and pending are in message parts, like `total`, so that
total = delivered + undelivered + pending + (parts not yet handed to an operator).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.errors import DomainError, Err
from service.domain.principal import Principal, Scope, visible_to
from service.domain.queries import DateRange, ItemFilter, PackageFilter, PackageRef, PageRequest
from service.domain.records import Delivery, Item, Package, PackageStats, Page, Summary
from service.services.platform import Platform
from service.services.ports import Tx
from service.services.sms import find_package


@dataclass(frozen=True)
class PackageReport:
    """A package and its delivery counts."""

    package: Package
    stats: PackageStats


def list_packages(
    platform: Platform,
    principal: Principal,
    filters: PackageFilter,
    page: PageRequest,
    *,
    user_uuid: str | None = None,
) -> Page[PackageReport]:
    """The caller's packages, newest first, with delivery counts; a reseller may name one
    of its descendants by `user_uuid` to see that user's packages instead."""
    with platform.uow.read() as tx:
        scope = visible_to(principal)
        if user_uuid is not None:
            scope = descendant_scope(tx, principal, user_uuid)
        listing = tx.packages.listing(scope, filters, page)
        stats = tx.packages.stats([p.id for p in listing.rows])
    rows = [PackageReport(p, stats.get(p.id, PackageStats())) for p in listing.rows]
    return Page(listing.total, rows)


def list_items(
    platform: Platform,
    principal: Principal,
    ref: PackageRef,
    filters: ItemFilter,
    page: PageRequest,
) -> tuple[Package, Page[Item]]:
    """One of the caller's packages and a page of its recipients."""
    with platform.uow.read() as tx:
        package = find_package(tx, principal, ref)
        return package, tx.packages.items(package.id, filters, page)


def summary(platform: Platform, principal: Principal, dates: DateRange) -> Summary:
    """Totals over the caller's packages sent within the dates (default: all)."""
    with platform.uow.read() as tx:
        return tx.packages.summary(visible_to(principal), dates)


def inquiry_number(
    platform: Platform,
    principal: Principal,
    target: str,
    sender: str | None,
    dates: DateRange,
    page: PageRequest,
) -> Page[Delivery]:
    """What was sent to one number (the last month by default, at most three months)."""
    window = dates.inquiry_window(platform.clock.now())
    with platform.uow.read() as tx:
        return tx.packages.deliveries(visible_to(principal), target, sender, window, page)


def descendant_scope(tx: Tx, principal: Principal, user_uuid: str) -> Scope:
    """The scope of the caller or of a user below it (a reseller naming a customer by
    `userUUID`); a sibling, a parent or a stranger is ERR_USER_NOT_FOUND."""
    reach = visible_to(principal, descendants=True)
    user = tx.users.visible(reach, user_uuid)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, field="userUUID")
    return reach.narrowed_to(user.id)
