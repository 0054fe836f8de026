"""Who is calling: Argon2id passwords, a verified-credential cache, failure throttling."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TLRUCache, TTLCache
from limits import RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from service.domain.allowlist import address_allowed
from service.domain.errors import DomainError, Err
from service.domain.principal import Principal
from service.domain.text import is_storable
from service.services.ports import UnitOfWork


class Throttle:
    """Failures per key in a moving window of a `limits` storage; over the limit means wait.

    The moving window keeps each failure's time, so the limit is exact (a sliding window
    counter only estimates the previous window's share and could let a guess more through
    or refuse one early), and it is what both storages support: Redis natively, and
    SqlStorage, whose rows per key it bounds by the limit. The storage is shared by every
    worker process, so the limit holds for the whole server, not per worker.
    """

    def __init__(self, storage: Storage, limit: int, window: int, name: str) -> None:
        self.item = RateLimitItemPerSecond(limit, window, namespace=f"login-{name}")
        self.limiter = MovingWindowRateLimiter(storage)

    def count(self, key: str) -> Failures:
        """The key's failures in the window and the seconds it must wait (0: may try)."""
        stats = self.limiter.get_window_stats(self.item, _identifier(key))
        failures = self.item.amount - stats.remaining
        if stats.remaining > 0:
            return Failures(failures, 0)
        return Failures(failures, max(1, math.ceil(stats.reset_time - time.time())))

    def fail(self, key: str) -> None:
        """Record one failure for the key."""
        self.limiter.hit(self.item, _identifier(key))

    def clear(self, key: str) -> None:
        """Forget the key's failures (after a success)."""
        self.limiter.clear(self.item, _identifier(key))


@dataclass(frozen=True)
class Failures:
    """What the throttle knows of a key: failures in the window, seconds to wait."""

    count: int
    retry_after: int


def _identifier(key: str) -> str:
    # Usernames come from the request: any length, any character (NUL too). A digest is
    # a short, safe storage key, and keeps user names and addresses out of Redis.
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SignIns:
    """The addresses each account signed in from lately, in the throttle's storage (so
    every worker knows them): an account under attack stays open from those addresses."""

    # A process writes an address again after this long, restarting its `seconds`, so
    # an address in daily use stays known; in between, signing in from it writes nothing.
    REFRESH_SECONDS = 86400
    MAX_RECENT = 10_000

    def __init__(self, storage: Storage, seconds: int) -> None:
        self.storage = storage
        self.seconds = seconds
        self._recent: TTLCache[str, bool] = TTLCache(self.MAX_RECENT, self.REFRESH_SECONDS)
        self._lock = threading.Lock()

    def remember(self, account: str, address: str) -> None:
        """Note a successful sign-in of the account from the address."""
        key = self._key(account, address)
        with self._lock:
            if key in self._recent:
                return
        # A fixed-window counter expires `seconds` after its first hit: clear it first so
        # that it runs from this sign-in.
        self.storage.clear(key)
        self.storage.incr(key, self.seconds)
        with self._lock:  # only once written: a failed write is tried at the next sign-in
            self._recent[key] = True

    def knows(self, account: str, address: str) -> bool:
        """Whether the account signed in from the address within the last `seconds`."""
        return self.storage.get(self._key(account, address)) > 0

    @staticmethod
    def _key(account: str, address: str) -> str:
        return "finsms-sign-in/" + _identifier(account + "\0" + address)


@dataclass
class Verified:
    """A credential verified against `password_hash`, trusted without the database until
    `fresh_until` and without Argon2 until `valid_until` (monotonic seconds)."""

    password_hash: str
    principal: Principal
    fresh_until: float
    valid_until: float
    subject: int | None = None  # the API key verified (None: a user's password)
    allowed: tuple[str, ...] = ()  # the API key's own address allow-list
    until: datetime | None = None  # platform time the credential stops being valid


# An address may fail this many times the per-account limit (over all accounts): proxies
# and NATs put many honest clients behind one address.
ADDRESS_FACTOR = 10
# An account may fail this many times the per-address limit over all addresses, by
# default: guessing spread over many addresses (a botnet) meets a limit too.
ACCOUNT_FACTOR = 5


class Authenticator:
    """Checks username and password; a cache hit costs no Argon2 hash.

    A verified credential is trusted for `revalidate_seconds` without reading the user
    row; after that the row is read again (a changed password or a deactivated user then
    fails). A password changed through this process's `forget` fails at once.
    """

    MAX_CACHE = 10_000

    def __init__(
        self,
        uow: UnitOfWork,
        secret: bytes,
        *,
        cache_seconds: float,
        fail_limit: int,
        fail_window: float,
        account_fail_limit: int,
        known_address_seconds: int,
        time_cost: int,
        memory_kib: int,
        revalidate_seconds: float = 1.0,
        throttle_storage: Storage,
    ) -> None:
        self.uow = uow
        self.secret = secret
        self.cache_seconds = cache_seconds
        self.revalidate_seconds = revalidate_seconds
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Counted where every worker sees them: Redis, or by default the database.
        storage = throttle_storage
        self.throttle = Throttle(storage, fail_limit, int(fail_window), "pair")
        self.address_throttle = Throttle(
            storage, fail_limit * ADDRESS_FACTOR, int(fail_window), "address"
        )
        self.account_throttle = Throttle(storage, account_fail_limit, int(fail_window), "account")
        self.sign_ins = SignIns(storage, known_address_seconds)
        # Least recently used dropped first; an entry leaves at its `valid_until`, which a
        # revalidation keeps (it does not restart the Argon2-free period).
        self._cache: TLRUCache[bytes, Verified] = TLRUCache(self.MAX_CACHE, _valid_until)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe
        self._dummy_hash = self.hasher.hash("finsms-dummy-password")

    def hash_password(self, password: str) -> str:
        """An Argon2id hash of the password."""
        return self.hasher.hash(password)

    def forget(self, username: str) -> None:
        """Drop every cached credential of a user (after a password change)."""
        with self._lock:
            for key in [k for k, v in self._cache.items() if v.principal.username == username]:
                self._cache.pop(key, None)

    def authenticate(
        self, username: str | None, password: str | None, remote_addr: str | None = None
    ) -> Principal:
        """The principal for these credentials, if its IP allow-list admits the address;
        one identical error for every wrong guess."""
        principal = self._identify(username, password, remote_addr)
        # After the password: the allow-list tells nothing to someone who does not know it,
        # and a right password from the wrong address is no failed guess.
        if not address_allowed(remote_addr, principal.allowed_ips):
            raise DomainError(
                Err.ERR_USER_NOT_AUTHORIZED, "İstek izin verilen bir IP adresinden gelmiyor."
            )
        return principal

    def _identify(
        self, username: str | None, password: str | None, remote_addr: str | None
    ) -> Principal:
        username, password = username or "", password or ""
        # Text no user can have (NUL, a lone surrogate) is a wrong guess like any other, on
        # every adapter and database: it must reach neither the user lookup (PostgreSQL
        # refuses NUL), the cache key's encoding nor Argon2 (UTF-8 refuses surrogates).
        storable = is_storable(username) and is_storable(password)
        key = hmac.new(
            self.secret, f"{username}\0{password}".encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        with self._lock:
            entry = self._cache.get(key) if storable else None
        if entry is not None and entry.fresh_until > time.monotonic():
            return entry.principal
        # Failures count per account *and* address, so nobody can lock a customer out by
        # guessing from elsewhere; an address spraying many accounts has a looser limit,
        # and an account guessed at from many addresses one of its own (see _account_wait).
        # NUL separates: a colon could come from either side (user names, IPv6 addresses).
        account, address = username.lower(), remote_addr or "-"
        pair = f"{account}\0{address}"
        pair_failures = self.throttle.count(pair)
        wait = max(
            pair_failures.retry_after,
            self.address_throttle.count(address).retry_after,
            self._account_wait(account, address),
        )
        if wait:
            raise DomainError(Err.ERR_TOO_MANY_REQUESTS, retry_after=wait)
        principal = self._check(key, entry, username, password) if storable else None
        if principal is None:
            for throttle, counted in (
                (self.throttle, pair),
                (self.address_throttle, address),
                (self.account_throttle, account),
            ):
                throttle.fail(counted)
            raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST)
        if pair_failures.count:  # a success writes only when there is something to clear
            self.throttle.clear(pair)
        # The account's failures stay: a success must not give guessers a fresh allowance.
        self.sign_ins.remember(account, address)
        return principal

    def _account_wait(self, account: str, address: str) -> int:
        """Seconds the address must wait because the account is guessed at from everywhere;
        0 from an address the account signed in from lately, so its owner stays in."""
        wait = self.account_throttle.count(account).retry_after
        if wait and self.sign_ins.knows(account, address):
            return 0
        return wait

    def principal_of(self, username: str) -> Principal:
        """The principal of a user by name, without credentials (for operators' tools)."""
        with self.uow.read() as tx:
            row = tx.users.credential(username)
        if row is None:
            raise DomainError(Err.ERR_USER_NOT_FOUND, username)
        return row.principal

    def _check(
        self, key: bytes, entry: Verified | None, username: str, password: str
    ) -> Principal | None:
        with self.uow.read() as tx:
            row = tx.users.credential(username)
        if row is None or not row.active:
            self._verify(self._dummy_hash, password)  # same cost as a real miss
            return None
        now = time.monotonic()
        # The entry names the hash it was verified against: a changed password misses.
        known = (
            entry is not None
            and entry.password_hash == row.password_hash
            and entry.valid_until > now
        )
        if not known and not self._verify(row.password_hash, password):
            return None
        principal = row.principal
        self._remember(
            key,
            Verified(
                row.password_hash,
                principal,
                now + self.revalidate_seconds,
                entry.valid_until if known and entry else now + self.cache_seconds,
            ),
        )
        return principal

    def _remember(self, key: bytes, verified: Verified) -> None:
        with self._lock:
            self._cache[key] = verified

    # The verified-credential cache for other credentials (the facade's API keys): their
    # services check their own rules, and share the cache, its key and its bounds.

    def credential_key(self, *parts: str) -> bytes:
        """The cache key of a credential: a keyed hash, never the secret itself."""
        text = "\0".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self.secret, text, hashlib.sha256).digest()

    def cached(self, key: bytes) -> Verified | None:
        """The cached verification of a credential, if any."""
        with self._lock:
            return self._cache.get(key)

    def remember(self, key: bytes, verified: Verified) -> None:
        """Cache a verified credential."""
        self._remember(key, verified)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether the password matches the Argon2 hash (one hash: costly)."""
        return self._verify(password_hash, password)

    def forget_subject(self, subject: int) -> None:
        """Drop the cached verifications of one API key (revoked or rotated here)."""
        with self._lock:
            for key in [k for k, v in self._cache.items() if v.subject == subject]:
                self._cache.pop(key, None)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _valid_until(_key: bytes, verified: Verified, _now: float) -> float:
    return verified.valid_until
