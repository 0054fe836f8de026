"""A platform for unit tests of the settlement service: the in-memory unit of work, a
clock the test moves, settings; and records of users, packages and items to put in it."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from service.config import Settings
from service.domain.constants import CustomerType, ItemState, PackageState, UserType
from service.domain.packages import BULK_LANE
from service.domain.pricing import PackageSource, charged
from service.domain.records import Item, Package, User
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryDatabase, MemoryUnitOfWork
from service.store.memory.queue import count

T0 = datetime(2026, 3, 2, 8, 0)


def service_platform(now: datetime = T0) -> Platform:
    """A Platform on the in-memory unit of work: cheap hashing, a clock stopped at `now`."""
    settings = Settings(argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit")
    return Platform(settings, uow=MemoryUnitOfWork(), clock=FixedClock(now))


@dataclass
class MemoryPlatform:
    """What the settlement service reads of a platform, with storage in memory."""

    uow: MemoryUnitOfWork = field(default_factory=MemoryUnitOfWork)
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    settings: Settings = field(default_factory=lambda: Settings(lease_seconds=60))
    otp_doorbell: threading.Event = field(default_factory=threading.Event)

    @property
    def as_platform(self) -> Platform:
        """This stand-in, typed as the Platform that the dispatcher and the carrier
        registry are written for: they read only its clock, settings and uow."""
        return cast("Platform", self)

    @property
    def db(self) -> MemoryDatabase:
        """The tables."""
        return self.uow.db

    def add_user(self, balance: int = 100, unlimited: bool = False) -> int:
        """A customer with a balance; its id."""
        user_id = self.db.next_id("users")
        self.db.users[user_id] = User(
            user_id,
            f"u{user_id}",
            f"user{user_id}",
            UserType.STANDARD,
            CustomerType.CORPORATE,
            None,
            None,
            balance,
            unlimited,
            True,
            True,
            T0,
        )
        return user_id

    def add_package(
        self,
        user_id: int,
        targets: list[str],
        *,
        source: PackageSource = PackageSource.NODE,
        price: int = 1,
        lane: int = BULK_LANE,
        operators: list[int | None] | None = None,
    ) -> int:
        """A package queued now, its price per recipient reserved as create does; its id."""
        user = self.db.users[user_id]
        reserved = charged(price * len(targets), user.unlimited)
        self.db.users[user_id] = _with_credit(user, user.credit - reserved)
        package_id = self.db.next_id("packages")
        self.db.packages[package_id] = _package(package_id, user_id, len(targets), reserved, source)
        for n, target in enumerate(targets):
            item_id = self.db.next_id("items")
            operator = operators[n] if operators else 0
            item = _item(item_id, package_id, target, price, lane, operator)
            self.db.items[item_id] = item
            count(self.db, package_id, item.state, 1, item.parts)  # as add_items does
        return package_id

    def balance(self, user_id: int) -> int:
        """A user's balance now."""
        return int(self.db.users[user_id].credit)

    def states(self, package_id: int) -> dict[str, ItemState]:
        """{number: item state} of a package."""
        return {
            i.target: ItemState(i.state)
            for i in self.db.items.values()
            if i.package_id == package_id
        }

    def package_state(self, package_id: int) -> PackageState:
        """A package's state now."""
        return PackageState(self.db.packages[package_id].state)


def _with_credit(user: User, credit: int) -> User:
    return dataclasses.replace(user, credit=credit)


def _package(
    package_id: int, user_id: int, recipients: int, reserved: int, source: PackageSource
) -> Package:
    return Package(
        id=package_id,
        uuid=f"p{package_id}",
        user_id=user_id,
        custom_id=None,
        sms_type=1,
        sending_type=1,
        title=None,
        content="Merhaba",
        sender="ACME",
        encoding=0,
        validity=1440,
        state=int(PackageState.QUEUEING),
        error=None,
        lane=BULK_LANE,
        sending_date=T0,
        is_scheduled=False,
        periodic=None,
        push_url=None,
        commercial=None,
        trust_date=None,
        recipients=recipients,
        invalid_count=0,
        parts=recipients,
        credit=reserved,
        source=str(source),
        recreated_from=None,
        created_at=T0,
        updated_at=T0,
    )


def _item(
    item_id: int, package_id: int, target: str, price: int, lane: int, operator: int | None
) -> Item:
    return Item(
        id=item_id,
        package_id=package_id,
        target=target,
        msg=None,
        xid=None,
        operator=operator,
        parts=1,
        credit=price,
        encoding=0,
        state=int(ItemState.WAITING),
        error=None,
        lane=lane,
        due_at=T0,
        sending_date=None,
        processing_date=None,
        delivery_date=None,
    )
