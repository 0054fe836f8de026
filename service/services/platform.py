"""The platform: settings, store, clock and authentication, shared by every adapter."""

from __future__ import annotations

import secrets
from typing import Any

from service.config import Settings
from service.domain.params import Params
from service.services.auth import Authenticator, Principal
from service.services.cache import TtlCache
from service.services.clock import Clock, LocalTime
from service.services.registry import Operation
from service.store.db import Store
from service.store.ratelimit import open_storage

__all__ = ["Platform", "Principal"]


class Platform:
    """Everything a use case needs; adapters hold one and call through it."""

    def __init__(
        self, settings: Settings, *, store: Store | None = None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings.database_url)
        self.clock = clock or Clock()
        self.local = LocalTime(settings.timezone)
        secret = (settings.secret_key or secrets.token_hex(32)).encode()
        self.auth = Authenticator(
            self.store,
            secret,
            cache_seconds=settings.auth_cache_seconds,
            fail_limit=settings.auth_fail_limit,
            fail_window=settings.auth_fail_window,
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            revalidate_seconds=settings.auth_revalidate_seconds,
            throttle_storage=open_storage(self.store, settings.redis_url, settings.redis_prefix),
        )
        # Approved (user, sender) pairs; a revoked approval applies within this window.
        self.approved_senders = TtlCache(settings.auth_revalidate_seconds)

    def migrate(self) -> None:
        """Bring the database schema up to date."""
        from service.store.migrate import upgrade

        upgrade(self.store)

    def authenticate(
        self, username: str | None, password: str | None, remote_addr: str | None = None
    ) -> Principal:
        """The caller behind these credentials, or ERR_UNAUTHORIZED_REQUEST."""
        return self.auth.authenticate(username, password, remote_addr)

    def invoke(self, op: Operation, principal: Principal, params: Params) -> dict[str, Any]:
        """Run one Node API function for the principal; returns the envelope's data."""
        return op.handler()(self, principal, params)
