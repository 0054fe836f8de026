"""Where the login throttle counts: Redis when configured, else the application's database.

Both are `limits` storages, so every gunicorn worker (and every host) sees the same
counts. `SqlStorage` is the embedded default: it needs nothing but the database FinSMS
already has, SQLite (its writes queue like every other write) or PostgreSQL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, cast

from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from sqlalchemy import Connection, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from service.store.db import Store
from service.store.schema import rate_limits

# Expired rows a write removes besides its own work. A write adds one row, so expired
# rows cannot pile up while anything is counted, and no sweeper thread is needed; keys
# never hit again (a sprayed username) are swept by the writes of others.
SWEEP_BATCH = 8

_KEY_CHARS = 200  # the length of rate_limits.key

_LIVE = rate_limits.c.key == bindparam("key")
_IN_WINDOW = select(
    func.min(rate_limits.c.at), func.coalesce(func.sum(rate_limits.c.amount), 0)
).where(_LIVE, rate_limits.c.at > bindparam("since"))
_UNEXPIRED = select(
    func.coalesce(func.sum(rate_limits.c.amount), 0), func.max(rate_limits.c.expires_at)
).where(_LIVE, rate_limits.c.expires_at > bindparam("now"))
_EXPIRED_IDS = (
    select(rate_limits.c.id)
    .where(rate_limits.c.expires_at <= bindparam("now"))
    .limit(SWEEP_BATCH)
    .with_for_update(skip_locked=True)  # dropped on SQLite, where writers queue anyway
)
_SWEEP = delete(rate_limits).where(rate_limits.c.id.in_(_EXPIRED_IDS.scalar_subquery()))
_ADD = insert(rate_limits)
_CLEAR = delete(rate_limits).where(_LIVE)


class SqlStorage(Storage, MovingWindowSupport):
    """A `limits` storage in the `rate_limits` table: one row per acquired entry.

    Supports the moving window (exact: the entries themselves are kept, and at most
    `limit` of them per key since a full window refuses more) and the fixed window.
    """

    STORAGE_SCHEME = None  # built from a Store, not from a URL

    def __init__(
        self, store: Store, *, clock: Callable[[], float] = time.time, **options: Any
    ) -> None:
        super().__init__(None, **options)
        self.store = store
        self.clock = clock  # Unix seconds: the one time every process agrees on

    @property
    def base_exceptions(self) -> type[Exception]:
        """What the database raises."""
        return SQLAlchemyError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Add `amount` entries unless the key's moving window would then hold over `limit`."""
        if amount > limit:
            return False
        now = self.clock()
        with self.store.write() as conn:
            self._lock(conn, key)
            self._sweep(conn, now)
            params = {"key": _column_key(key), "since": now - expiry}
            used = conn.execute(_IN_WINDOW, params).one()[1]
            if used + amount > limit:
                return False
            self._add(conn, key, now, now + expiry, amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(oldest entry's time, entries) within the last `expiry` seconds."""
        now = self.clock()
        with self.store.read() as conn:
            oldest, count = conn.execute(
                _IN_WINDOW, {"key": _column_key(key), "since": now - expiry}
            ).one()
        return (oldest if oldest is not None else now), int(count)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Fixed window: add to the key's counter, which expires `expiry` after its first hit."""
        now = self.clock()
        with self.store.write() as conn:
            self._lock(conn, key)
            self._sweep(conn, now)
            count, ends = conn.execute(_UNEXPIRED, {"key": _column_key(key), "now": now}).one()
            self._add(conn, key, now, ends if ends is not None else now + expiry, amount)
        return int(count) + amount

    def get(self, key: str) -> int:
        """The key's fixed-window counter (0 once expired)."""
        return self._unexpired(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the key's fixed window ends (now if it has none)."""
        return self._unexpired(key)[1]

    def clear(self, key: str) -> None:
        """Forget the key's entries."""
        with self.store.write() as conn:
            conn.execute(_CLEAR, {"key": _column_key(key)})

    def reset(self) -> int | None:
        """Forget every key; the number of rows removed."""
        with self.store.write() as conn:
            return conn.execute(delete(rate_limits)).rowcount

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            self.store.ping()
        except SQLAlchemyError:
            return False
        return True

    def _unexpired(self, key: str) -> tuple[int, float]:
        now = self.clock()
        with self.store.read() as conn:
            count, ends = conn.execute(_UNEXPIRED, {"key": _column_key(key), "now": now}).one()
        return int(count), (ends if ends is not None else now)

    def _add(self, conn: Connection, key: str, at: float, expires_at: float, amount: int) -> None:
        row = {"key": _column_key(key), "at": at, "expires_at": expires_at, "amount": amount}
        conn.execute(_ADD, row)

    def _lock(self, conn: Connection, key: str) -> None:
        # Count-then-insert must not interleave for one key. SQLite's writers already
        # queue; PostgreSQL's READ COMMITTED would let two see the same count.
        if not self.store.is_sqlite:
            lock_id = int.from_bytes(_digest(key)[:8], "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    def _sweep(self, conn: Connection, now: float) -> None:
        conn.execute(_SWEEP, {"now": now})


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _column_key(key: str) -> str:
    """The key as stored: itself if the column takes it, else its start and a digest."""
    if len(key) <= _KEY_CHARS and "\x00" not in key:  # PostgreSQL text refuses NUL
        return key
    return key[: _KEY_CHARS - 33].replace("\x00", "") + "#" + _digest(key).hex()


def open_storage(store: Store | None, redis_url: str = "", redis_prefix: str = "finsms") -> Storage:
    """Redis (`limits`' own storage) when a URL is given, else the database's table; a
    platform without a database (the services' unit tests) counts in process memory."""
    if redis_url:
        return cast(Storage, storage_from_string(redis_url, key_prefix=redis_prefix))
    if store is None:
        return MemoryStorage()
    return SqlStorage(store)
