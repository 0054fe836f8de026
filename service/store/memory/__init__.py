"""An in-memory unit of work: the services' storage without a database, for unit tests.

It keeps the same records the SQL repositories return in plain dicts of one
`MemoryDatabase`. A write transaction works on the live data and, if its block raises,
puts back a copy taken when it began, so a refused write changes nothing, as in SQL.
Transactions are serialised by one lock (SQLite's model); there is no concurrency to test
here: that is what the integration tests on SQLite and PostgreSQL are for.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from service.domain.records import Item, LedgerEntry, Package, Sender, User
from service.store.memory.accounts import MemorySenders, MemoryUsers
from service.store.memory.apikeys import MemoryApiKeys
from service.store.memory.contacts import (
    MemoryAllowlist,
    MemoryBlacklist,
    MemoryContacts,
    MemoryGroups,
    MemoryLocks,
)
from service.store.memory.imports import MemoryImports
from service.store.memory.iys import MemoryIys
from service.store.memory.kvkk import MemoryKvkk
from service.store.memory.ledger import MemoryLedger
from service.store.memory.links import MemoryLinks, MemoryWorkers
from service.store.memory.mo import MemoryMo
from service.store.memory.packages import MemoryPackages
from service.store.memory.queue import MemoryQueue
from service.store.memory.receipts import MemoryReceipts
from service.store.memory.webhooks import MemoryWebhooks

T = TypeVar("T")


@dataclass
class MemoryDatabase:
    """Every table, as dicts of records by id (or by key), and the id sequences."""

    users: dict[int, User] = field(default_factory=dict)
    credentials: dict[int, str] = field(default_factory=dict)  # user id -> password hash
    senders: dict[int, Sender] = field(default_factory=dict)
    packages: dict[int, Package] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    fingerprints: dict[tuple[int, str], tuple[int, Any]] = field(default_factory=dict)
    # The package counters: (package id, item state) -> [items, parts], kept by every
    # write that moves or adds items, as the SQL repositories keep package_counts.
    counts: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # tables of later repositories
    _sequences: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """The next id of a table, from 1."""
        self._sequences[table] = self._sequences.get(table, 0) + 1
        return self._sequences[table]


class MemoryTransaction:
    """A transaction over a MemoryDatabase; repositories made on first use."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    @cached_property
    def ledger(self) -> MemoryLedger:
        """Balances and ledger."""
        return MemoryLedger(self.db)

    @cached_property
    def users(self) -> MemoryUsers:
        """Users and credentials."""
        return MemoryUsers(self.db)

    @cached_property
    def senders(self) -> MemorySenders:
        """Senders."""
        return MemorySenders(self.db)

    @cached_property
    def packages(self) -> MemoryPackages:
        """Packages and items."""
        return MemoryPackages(self.db)

    @cached_property
    def queue(self) -> MemoryQueue:
        """The dispatcher's queue of items."""
        return MemoryQueue(self.db)

    @cached_property
    def mo(self) -> MemoryMo:
        """MO messages, short numbers, keywords and opt-outs."""
        return MemoryMo(self.db)

    @cached_property
    def links(self) -> MemoryLinks:
        """Carrier links."""
        return MemoryLinks(self.db)

    @cached_property
    def workers(self) -> MemoryWorkers:
        """The dispatchers' heartbeats."""
        return MemoryWorkers(self.db)

    @cached_property
    def webhooks(self) -> MemoryWebhooks:
        """The webhook outbox and signing secrets."""
        return MemoryWebhooks(self.db)

    @cached_property
    def receipts(self) -> MemoryReceipts:
        """The receipt inbox and parts of multipart items."""
        return MemoryReceipts(self.db)

    @cached_property
    def contacts(self) -> MemoryContacts:
        """Contacts."""
        return MemoryContacts(self.db)

    @cached_property
    def groups(self) -> MemoryGroups:
        """Contact groups."""
        return MemoryGroups(self.db)

    @cached_property
    def blacklist(self) -> MemoryBlacklist:
        """Blacklisted numbers."""
        return MemoryBlacklist(self.db)

    @cached_property
    def allowlist(self) -> MemoryAllowlist:
        """IP allow-lists."""
        return MemoryAllowlist(self.db)

    @cached_property
    def locks(self) -> MemoryLocks:
        """One-at-a-time leases."""
        return MemoryLocks(self.db)

    @cached_property
    def kvkk(self) -> MemoryKvkk:
        """KVKK consent links."""
        return MemoryKvkk(self.db)

    @cached_property
    def iys(self) -> MemoryIys:
        """İYS settings and consents."""
        return MemoryIys(self.db)

    @cached_property
    def apikeys(self) -> MemoryApiKeys:
        """API keys and the facade's audit log."""
        return MemoryApiKeys(self.db)

    @cached_property
    def imports(self) -> MemoryImports:
        """Contact imports."""
        return MemoryImports(self.db)


class MemoryUnitOfWork:
    """Opens transactions on one MemoryDatabase."""

    def __init__(self, db: MemoryDatabase | None = None) -> None:
        self.db = db or MemoryDatabase()
        self._lock = threading.RLock()
        self.commits = 0  # write transactions committed, for tests

    @contextmanager
    def read(self) -> Iterator[MemoryTransaction]:
        """A read transaction."""
        with self._lock:
            yield MemoryTransaction(self.db)

    @contextmanager
    def write(self) -> Iterator[MemoryTransaction]:
        """A write transaction: all of it or nothing."""
        with self._lock:
            before = copy.deepcopy(self.db.__dict__)
            try:
                yield MemoryTransaction(self.db)
            except BaseException:
                self.db.__dict__.update(before)
                raise
            self.commits += 1

    def write_job(self, job: Callable[[MemoryTransaction], T]) -> T:
        """job(tx) in a write transaction of its own."""
        with self.write() as tx:
            return job(tx)
