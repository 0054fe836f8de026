"""API keys of the FinSMS v1 facade: issue, list, revoke, rotate, verify, limit, audit.

A key is a public identifier ("fk_" and 32 hex digits) and a secret shown once, stored
as an Argon2id hash like a password. Verifying shares the Authenticator's cache of
verified credentials: a known key and secret cost no Argon2 hash, and the key row is
read again every `auth_revalidate_seconds` (a key revoked elsewhere fails then). A
rotated key accepts its previous secret until the grace period ends.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import limits
from cachetools import TTLCache
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from service.domain.allowlist import address_allowed, parse_network
from service.domain.apikeys import KEY_PREFIX, ApiKey, AuditEntry, NewAudit, check_label, is_key
from service.domain.errors import DomainError, Err
from service.domain.principal import Principal
from service.domain.text import is_storable
from service.services.auth import Verified
from service.services.platform import Platform
from service.services.ports import Tx

# A key's last use is written at most this often per process: a timestamp, not a counter.
TOUCH_SECONDS = 60.0
AUDIT_LIMIT_MAX = 10_000


@dataclass(frozen=True)
class IssuedKey:
    """A key just created or rotated, with its secret: the only time it is shown."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class KeyCaller:
    """Who a facade request comes from: the key's owner and the key."""

    principal: Principal
    key_id: int
    key: str


def create_key(
    platform: Platform,
    username: str,
    label: str | None = None,
    allowed_ips: Sequence[str] = (),
) -> IssuedKey:
    """A new key for a user (an operator's command, or the user's own request)."""
    label = check_label(label)
    networks = sorted({parse_network(n) for n in allowed_ips})
    key, secret = KEY_PREFIX + secrets.token_hex(16), secrets.token_urlsafe(32)
    secret_hash = platform.auth.hash_password(secret)
    now = platform.clock.now()
    with platform.uow.write() as tx:
        user = tx.users.by_name(username)
        if user is None:
            raise DomainError(Err.ERR_USER_NOT_FOUND, username)
        tx.apikeys.add(user.id, key, secret_hash, label, networks, now)
        stored = tx.apikeys.by_key(key)
    assert stored is not None
    return IssuedKey(stored, secret)


def list_keys(platform: Platform, username: str | None) -> list[ApiKey]:
    """A user's keys (None: every user's), oldest first."""
    with platform.uow.read() as tx:
        return tx.apikeys.of_user(_user_id(tx, username))


def revoke_key(platform: Platform, key: str, owner: int | None = None) -> ApiKey:
    """Revoke a key (of `owner` when given); it fails everywhere within the cache's
    revalidation period, in this process at once."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        found = _owned(tx, key, owner)
        if not tx.apikeys.revoke(found.id, now):
            raise DomainError(Err.ERR_API_KEY_NOT_FOUND, "Anahtar zaten iptal edilmiş.")
        revoked = tx.apikeys.by_key(key)
    platform.auth.forget_subject(found.id)
    assert revoked is not None
    return revoked


def rotate_key(platform: Platform, key: str, owner: int | None = None) -> IssuedKey:
    """A new secret for a key; the previous one works for `apikey_grace_hours` more."""
    secret = secrets.token_urlsafe(32)
    secret_hash = platform.auth.hash_password(secret)
    now = platform.clock.now()
    grace = now + timedelta(hours=platform.settings.apikey_grace_hours)
    with platform.uow.write() as tx:
        found = _owned(tx, key, owner)
        if found.revoked_at is not None or not tx.apikeys.rotate(
            found.id, found.secret_hash, secret_hash, grace, now
        ):
            raise DomainError(Err.ERR_API_KEY_NOT_FOUND, "Anahtar iptal edilmiş.")
        rotated = tx.apikeys.by_key(key)
    platform.auth.forget_subject(found.id)
    assert rotated is not None
    return IssuedKey(rotated, secret)


def audit_log(
    platform: Platform,
    *,
    key: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest facade requests, of one key or of one user's keys, since a time."""
    if not 1 <= limit <= AUDIT_LIMIT_MAX:
        raise DomainError(Err.ERR_INVALID_PARAM, f"limit: 1-{AUDIT_LIMIT_MAX}", field="limit")
    with platform.uow.read() as tx:
        return tx.apikeys.audit(key, _user_id(tx, username), since, limit)


def _user_id(tx: Tx, username: str | None) -> int | None:
    if username is None:
        return None
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user.id


def _owned(tx: Tx, key: str, owner: int | None) -> ApiKey:
    """A key by identifier; another user's key is not found, like an unknown one."""
    found = tx.apikeys.by_key(key) if is_key(key) else None
    if found is None or (owner is not None and found.user_id != owner):
        raise DomainError(Err.ERR_API_KEY_NOT_FOUND, field="key")
    return found


class KeyVerifier:
    """Checks a key and secret; a cached verification costs no Argon2 hash."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def verify(self, key: object, secret: object, address: str | None) -> KeyCaller:
        """The caller behind a key and secret; ERR_UNAUTHORIZED_REQUEST for any wrong
        pair, a revoked key, an inactive user or an address the key does not allow."""
        if not (is_key(key) and isinstance(secret, str) and secret and is_storable(secret)):
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST, "API anahtarı veya şifresi hatalı.")
        assert isinstance(key, str)
        auth = self.platform.auth
        cache_key = auth.credential_key("finsms-api-key", key, secret)
        entry = auth.cached(cache_key)
        if entry is None or entry.fresh_until <= time.monotonic() or self._expired(entry):
            entry = self._check(cache_key, entry, key, secret)
        principal, key_id, allowed = entry.principal, entry.subject, entry.allowed
        if not (
            address_allowed(address, allowed) and address_allowed(address, principal.allowed_ips)
        ):
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST, "Bu adresten izin yok.")
        assert key_id is not None
        return KeyCaller(principal, key_id, key)

    def _check(self, cache_key: bytes, entry: Verified | None, key: str, secret: str) -> Verified:
        now, mono = self.platform.clock.now(), time.monotonic()
        with self.platform.uow.read() as tx:
            row = tx.apikeys.by_key(key)
            credential = tx.users.credential(row.username) if row is not None else None
        if row is None or row.revoked_at is not None or credential is None or not credential.active:
            # No Argon2 hash to even out the timing: a key is an identifier, not a secret
            # (128 random bits, not guessable), and random keys each have a rate-limit
            # bucket of their own, so a hash per unknown key would be unbounded work.
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST, "API anahtarı veya şifresi hatalı.")
        accepted = [row.secret_hash, *([row.previous_hash] if row.previous_valid(now) else [])]
        known = entry is not None and entry.password_hash in accepted and entry.valid_until > mono
        matched = entry.password_hash if known and entry else self._match(accepted, secret)
        if matched is None:
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST, "API anahtarı veya şifresi hatalı.")
        verified = Verified(
            matched,
            credential.principal,
            mono + self.platform.settings.auth_revalidate_seconds,
            entry.valid_until
            if known and entry
            else mono + self.platform.settings.auth_cache_seconds,
            row.id,
            row.allowed_ips,
            # The previous secret of a rotated key: no longer valid after its grace period.
            row.previous_until if matched != row.secret_hash else None,
        )
        self.platform.auth.remember(cache_key, verified)
        return verified

    def _expired(self, entry: Verified) -> bool:
        """Whether a cached previous secret's grace period is over (on the platform's clock,
        so at once, not at the next revalidation)."""
        return entry.until is not None and entry.until <= self.platform.clock.now()

    def _match(self, hashes: list[str | None], secret: str) -> str | None:
        for candidate in hashes:
            if candidate is not None and self.platform.auth.verify(candidate, secret):
                return candidate
        return None

    def due_touch(self, key_id: int) -> bool:
        """Whether this process should record the key's last use now (once a minute)."""
        mono = time.monotonic()
        with self._lock:
            if self._touched.get(key_id, -math.inf) + TOUCH_SECONDS > mono:
                return False
            self._touched[key_id] = mono
            return True


class RateLimiter:
    """Requests per key in a moving window of the shared `limits` storage (Redis or the
    database), so the limit holds for every worker process together.

    A high limit is taken in chunks: a process acquires 1/100 of the limit at once and
    spends it locally within the window it was counted in (after that the storage no
    longer counts it either), so a key allowed thousands of requests a second costs one
    storage write per chunk, not per request. Below 200 a window the chunk is 1 and the
    count exact. With chunks, a window may admit up to one chunk per process more than
    the limit (permits counted just before it, spent in it), or refuse up to one chunk
    per process early (permits a process holds and has not spent).
    """

    CHUNK_DIVISOR = 100
    MAX_KEYS = 10_000

    def __init__(self, storage: Storage, rate: str) -> None:
        self.item = limits.parse(rate)
        self.item.namespace = "finsms-api-key"
        self.limiter = MovingWindowRateLimiter(storage)
        self.chunk = max(1, self.item.amount // self.CHUNK_DIVISOR)
        self.lease_seconds = float(self.item.get_expiry())
        # Permits this process holds per key, and until when (monotonic) it may spend them.
        self._held: TTLCache[str, tuple[int, float]] = TTLCache(self.MAX_KEYS, self.lease_seconds)
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one request of a key; ERR_RATE_LIMITED with Retry-After when over."""
        if self.chunk > 1 and self._spend_held(key):
            return
        if self.limiter.hit(self.item, key, cost=self.chunk):
            if self.chunk > 1:
                with self._lock:
                    self._held[key] = (self.chunk - 1, time.monotonic() + self.lease_seconds)
            return
        # Near the limit a whole chunk no longer fits: the last permits go one by one.
        if self.chunk > 1 and self.limiter.hit(self.item, key):
            return
        stats = self.limiter.get_window_stats(self.item, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise DomainError(Err.ERR_RATE_LIMITED, retry_after=wait)

    def _spend_held(self, key: str) -> bool:
        with self._lock:
            held, until = self._held.get(key, (0, 0.0))
            if held <= 0 or until <= time.monotonic():
                return False
            self._held[key] = (held - 1, until)
            return True


def audit_writes(verifier: KeyVerifier, entry: NewAudit) -> list[tuple[int, datetime, str | None]]:
    """The last-use writes that go with an audit entry (at most one a minute per key)."""
    if entry.key_id is None or entry.status == 401 or not verifier.due_touch(entry.key_id):
        return []
    return [(entry.key_id, entry.at, entry.address)]


def record(tx: Tx, verifier: KeyVerifier, entry: NewAudit) -> None:
    """Write an audit entry and, when due, the key's last use, in `tx`."""
    tx.apikeys.log([entry])
    tx.apikeys.touch(audit_writes(verifier, entry))


def record_alone(platform: Platform, verifier: KeyVerifier, entry: NewAudit) -> None:
    """Write an audit entry in a transaction of its own (batched on SQLite)."""
    platform.uow.write_job(lambda tx: record(tx, verifier, entry))
