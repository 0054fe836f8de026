"""The SQL unit of work: transactions of the Store with their repositories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TypeVar

from sqlalchemy import Connection

from service.store.db import Store
from service.store.repositories.apikeys import SqlApiKeys
from service.store.repositories.contacts import (
    SqlAllowlist,
    SqlBlacklist,
    SqlContacts,
    SqlGroups,
    SqlLocks,
)
from service.store.repositories.imports import SqlImports
from service.store.repositories.iys import SqlIys
from service.store.repositories.kvkk import SqlKvkk
from service.store.repositories.ledger import SqlLedger
from service.store.repositories.links import SqlLinks, SqlWorkers
from service.store.repositories.mo import SqlMo
from service.store.repositories.packages import SqlPackages
from service.store.repositories.queue import SqlQueue
from service.store.repositories.receipts import SqlReceipts
from service.store.repositories.senders import SqlSenders
from service.store.repositories.users import SqlUsers
from service.store.repositories.webhooks import SqlWebhooks

T = TypeVar("T")


class SqlTransaction:
    """One database transaction; its repositories are made on first use."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @cached_property
    def ledger(self) -> SqlLedger:
        """Balances and ledger."""
        return SqlLedger(self.conn)

    @cached_property
    def users(self) -> SqlUsers:
        """Users and credentials."""
        return SqlUsers(self.conn)

    @cached_property
    def senders(self) -> SqlSenders:
        """Senders."""
        return SqlSenders(self.conn)

    @cached_property
    def packages(self) -> SqlPackages:
        """Packages and items."""
        return SqlPackages(self.conn)

    @cached_property
    def queue(self) -> SqlQueue:
        """The dispatcher's queue of items."""
        return SqlQueue(self.conn)

    @cached_property
    def mo(self) -> SqlMo:
        """MO messages, short numbers, keywords and opt-outs."""
        return SqlMo(self.conn)

    @cached_property
    def links(self) -> SqlLinks:
        """Carrier links."""
        return SqlLinks(self.conn)

    @cached_property
    def workers(self) -> SqlWorkers:
        """The dispatchers' heartbeats."""
        return SqlWorkers(self.conn)

    @cached_property
    def webhooks(self) -> SqlWebhooks:
        """The webhook outbox and signing secrets."""
        return SqlWebhooks(self.conn)

    @cached_property
    def receipts(self) -> SqlReceipts:
        """The receipt inbox and parts of multipart items."""
        return SqlReceipts(self.conn)

    @cached_property
    def contacts(self) -> SqlContacts:
        """Contacts."""
        return SqlContacts(self.conn)

    @cached_property
    def groups(self) -> SqlGroups:
        """Contact groups."""
        return SqlGroups(self.conn)

    @cached_property
    def blacklist(self) -> SqlBlacklist:
        """Blacklisted numbers."""
        return SqlBlacklist(self.conn)

    @cached_property
    def allowlist(self) -> SqlAllowlist:
        """IP allow-lists."""
        return SqlAllowlist(self.conn)

    @cached_property
    def locks(self) -> SqlLocks:
        """One-at-a-time leases."""
        return SqlLocks(self.conn)

    @cached_property
    def kvkk(self) -> SqlKvkk:
        """KVKK consent links."""
        return SqlKvkk(self.conn)

    @cached_property
    def iys(self) -> SqlIys:
        """İYS settings and consents."""
        return SqlIys(self.conn)

    @cached_property
    def apikeys(self) -> SqlApiKeys:
        """API keys and the facade's audit log."""
        return SqlApiKeys(self.conn)

    @cached_property
    def imports(self) -> SqlImports:
        """Contact imports."""
        return SqlImports(self.conn)


class SqlUnitOfWork:
    """Opens transactions on a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @contextmanager
    def read(self) -> Iterator[SqlTransaction]:
        """A read transaction."""
        with self.store.read() as conn:
            yield SqlTransaction(conn)

    @contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        """A write transaction (SQLite: the process's writer, behind the write lock)."""
        with self.store.write() as conn:
            yield SqlTransaction(conn)

    def write_job(self, job: Callable[[SqlTransaction], T]) -> T:
        """job(tx) in a write transaction, batched with others on SQLite (group commit)."""
        return self.store.write_job(lambda conn: job(SqlTransaction(conn)))
