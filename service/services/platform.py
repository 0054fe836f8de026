"""The platform: settings, unit of work, clock and authentication, shared by every adapter."""

from __future__ import annotations

import secrets
import threading

from service.config import Settings
from service.domain.principal import Principal
from service.services.auth import ACCOUNT_FACTOR, Authenticator
from service.services.cache import TtlCache
from service.services.clock import Clock, LocalTime
from service.services.operators import operator_lookup
from service.services.ports import UnitOfWork
from service.store.db import Store, UnusableDatabase
from service.store.migrate import SchemaNotCurrent, require_current
from service.store.ratelimit import open_storage
from service.store.uow import SqlUnitOfWork

# The database refusals an operator sees, for adapters to catch by name.
__all__ = ["Platform", "Principal", "SchemaNotCurrent", "UnusableDatabase"]


class Platform:
    """Everything a use case needs; adapters hold one and call services with it.

    By default its storage is the database of `settings.database_url` (or `store`);
    a `uow` given instead (the in-memory one of service.store.memory) runs the services
    without a database.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        uow: UnitOfWork | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None or uow is not None else Store(settings.database_url)
        self.uow: UnitOfWork = uow if uow is not None else SqlUnitOfWork(_required(self.store))
        self.clock = clock or Clock()
        self.local = LocalTime(settings.timezone)
        self.operators = operator_lookup(settings)  # who carries each number
        # The `limits` storage of the login throttle and the facade's rate limit: Redis, or
        # the database, so every worker process counts together.
        self.limit_storage = open_storage(self.store, settings.redis_url, settings.redis_prefix)
        secret = (settings.secret_key or secrets.token_hex(32)).encode()
        self.auth = Authenticator(
            self.uow,
            secret,
            cache_seconds=settings.auth_cache_seconds,
            fail_limit=settings.auth_fail_limit,
            fail_window=settings.auth_fail_window,
            account_fail_limit=settings.auth_account_fail_limit
            or settings.auth_fail_limit * ACCOUNT_FACTOR,
            known_address_seconds=settings.auth_known_address_days * 86400,
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            revalidate_seconds=settings.auth_revalidate_seconds,
            throttle_storage=self.limit_storage,
        )
        # Approved (user, sender) pairs; a revoked approval applies within this window.
        self.approved_senders = TtlCache(settings.auth_revalidate_seconds)
        # Rung when this process has queued an OTP due now: the dispatcher in the same
        # process (embedded) sends it at once instead of at its next idle poll.
        self.otp_doorbell = threading.Event()

    def migrate(self) -> None:
        """Bring the database schema up to date."""
        from service.store.migrate import upgrade

        upgrade(_required(self.store))

    def check_database(self, *, schema: bool = True) -> None:
        """Raise UnusableDatabase when the database cannot be reached, and with `schema`
        SchemaNotCurrent unless it is migrated to this version (creating nothing)."""
        store = _required(self.store)
        if schema:
            require_current(store)
        else:
            store.check_reachable()

    def database_name(self) -> str:
        """The database's URL without its password, for operators' messages."""
        return _required(self.store).engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the database's connections (and the SQLite checkpointer)."""
        if self.store is not None:
            self.store.dispose()

    def ping(self) -> None:
        """Raise unless the database answers (the health check)."""
        _required(self.store).ping()

    def authenticate(
        self, username: str | None, password: str | None, remote_addr: str | None = None
    ) -> Principal:
        """The caller behind these credentials, or ERR_UNAUTHORIZED_REQUEST."""
        return self.auth.authenticate(username, password, remote_addr)


def _required(store: Store | None) -> Store:
    if store is None:
        raise RuntimeError("this platform runs without a database")
    return store
