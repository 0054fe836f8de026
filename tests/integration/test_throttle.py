"""The login throttle's storages: the database's table (SQLite, PostgreSQL) and Redis.

Redis is the one on 127.0.0.1:6379 (FINSMS_TEST_REDIS_URL); its tests are skipped when
it does not answer, unless FINSMS_REQUIRE_REDIS=1 (CI). Each test has a key prefix of
its own, removed afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select

from service.domain.errors import DomainError
from service.services.auth import Authenticator, Failures, SignIns, Throttle
from service.services.platform import Platform
from service.store.db import Store
from service.store.ratelimit import SWEEP_BATCH, SqlStorage, open_storage
from service.store.schema import rate_limits
from tests.conftest import PASSWORD, Database, add_customer, counted, database_for, make_platform
from tests.redis_helpers import redis_or_skip

OpenStorage = Callable[[], Storage]


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def open_shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStorage]:
    """Opens storages over one backend, the way each worker process opens its own."""
    stores: list[Store] = []
    if request.param == "redis":
        url, prefix = redis_or_skip(), f"finsms-test-{uuid.uuid4().hex}"

        def opener() -> Storage:
            return RedisStorage(url, key_prefix=prefix)
    else:
        db = database_for(request.param, request, tmp_path)

        def opener() -> Storage:
            stores.append(db.store(2))
            return open_storage(stores[-1])

    yield opener
    opener().reset()
    for store in stores:
        store.dispose()


@pytest.fixture
def shared(open_shared: OpenStorage) -> Storage:
    """One storage of each kind."""
    return open_shared()


def test_the_limit_is_exact_and_retry_after_is_within_the_window(shared: Storage) -> None:
    throttle = Throttle(shared, 3, 60, "t")
    assert throttle.count("k") == Failures(0, 0)
    for expected in (1, 2):
        throttle.fail("k")
        assert throttle.count("k").count == expected
        assert throttle.count("k").retry_after == 0
    throttle.fail("k")
    over = throttle.count("k")
    assert over.count == 3 and 59 <= over.retry_after <= 60
    throttle.fail("k")  # refused by the full window: the count stays at the limit
    assert throttle.count("k").count == 3


def test_a_failure_leaves_the_window_after_its_seconds(shared: Storage) -> None:
    throttle = Throttle(shared, 2, 1, "t")
    throttle.fail("k")
    throttle.fail("k")
    assert throttle.count("k").retry_after == 1
    time.sleep(1.1)
    assert throttle.count("k") == Failures(0, 0)


def test_clear_forgets_one_key_only(shared: Storage) -> None:
    throttle = Throttle(shared, 5, 60, "t")
    for key in ("a", "b", "b"):
        throttle.fail(key)
    throttle.clear("b")
    assert (throttle.count("a").count, throttle.count("b").count) == (1, 0)


def test_limits_of_other_names_and_sizes_count_apart(shared: Storage) -> None:
    pair, address = Throttle(shared, 2, 60, "pair"), Throttle(shared, 20, 60, "address")
    pair.fail("k")
    assert (pair.count("k").count, address.count("k").count) == (1, 0)


def test_every_process_sees_the_same_counts(open_shared: OpenStorage) -> None:
    # Two storages opened alike stand for two gunicorn workers.
    first, second = Throttle(open_shared(), 4, 60, "t"), Throttle(open_shared(), 4, 60, "t")
    for throttle in (first, second, first, second):
        throttle.fail("k")
    assert first.count("k").retry_after > 0 and second.count("k").retry_after > 0
    second.clear("k")
    assert first.count("k").count == 0


def test_any_user_name_is_a_usable_key(shared: Storage) -> None:
    throttle = Throttle(shared, 2, 60, "t")
    for key in ("x" * 100_000, "nul\0in\0it", "ğüşİöç\U0001f600", "", "\udcff"):
        throttle.fail(key)
        assert throttle.count(key).count == 1


def test_concurrent_hits_never_take_more_than_the_limit(shared: Storage) -> None:
    item, limiter = RateLimitItemPerSecond(5, 60), MovingWindowRateLimiter(shared)
    results: list[bool] = []
    barrier = threading.Barrier(10)

    def hit() -> None:
        barrier.wait()
        results.append(limiter.hit(item, "k"))

    threads = [threading.Thread(target=hit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 5 + [True] * 5


# The database's storage in detail (on SQLite and PostgreSQL).


class FakeClock:
    """Unix seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sql(db: Database) -> Iterator[tuple[SqlStorage, FakeClock]]:
    """A SqlStorage on each database, on a clock the test moves."""
    store, clock = db.store(2), FakeClock()
    yield SqlStorage(store, clock=clock), clock
    store.dispose()


def _rows(storage: SqlStorage) -> int:
    with storage.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(rate_limits)).scalar_one())


def test_a_key_keeps_at_most_limit_rows(sql: tuple[SqlStorage, FakeClock]) -> None:
    storage, _ = sql
    accepted = [storage.acquire_entry("k", 5, 60) for _ in range(20)]
    assert accepted == [True] * 5 + [False] * 15
    assert _rows(storage) == 5
    assert storage.acquire_entry("k", 5, 60, amount=6) is False


def test_expired_rows_are_swept_by_later_writes(sql: tuple[SqlStorage, FakeClock]) -> None:
    storage, clock = sql
    for n in range(5 * SWEEP_BATCH):  # keys never hit again: a sprayed username each
        storage.acquire_entry(f"sprayed{n}", 10, 60)
    clock.now += 61
    for _ in range(5):
        storage.acquire_entry("live", 10, 60)
    assert _rows(storage) == 5


def test_the_moving_window_agrees_with_limits_own_memory_storage(
    sql: tuple[SqlStorage, FakeClock],
) -> None:
    storage, clock = sql
    memory = MemoryStorage()
    for _ in range(3):
        assert storage.acquire_entry("k", 3, 60) == memory.acquire_entry("k", 3, 60)
    assert storage.get_moving_window("k", 3, 60)[1] == memory.get_moving_window("k", 3, 60)[1]
    assert storage.get_moving_window("k", 3, 60) == (clock.now, 3)
    clock.now += 30
    assert storage.get_moving_window("k", 3, 20) == (clock.now, 0)


def test_the_fixed_window_counts_until_it_expires(sql: tuple[SqlStorage, FakeClock]) -> None:
    storage, clock = sql
    assert (storage.get("k"), storage.get_expiry("k")) == (0, clock.now)
    start = clock.now
    assert storage.incr("k", 10) == 1
    clock.now += 4
    assert storage.incr("k", 10, amount=2) == 3
    assert (storage.get("k"), storage.get_expiry("k")) == (3, start + 10)
    clock.now = start + 10
    assert storage.get("k") == 0
    assert storage.incr("k", 10) == 1 and storage.get_expiry("k") == clock.now + 10


def test_reset_empties_the_table_and_check_pings(sql: tuple[SqlStorage, FakeClock]) -> None:
    storage, _ = sql
    storage.acquire_entry("a", 5, 60)
    storage.incr("b", 60)
    assert storage.check() is True
    assert storage.reset() == 2 and _rows(storage) == 0


def test_keys_the_column_cannot_hold_are_stored_by_digest(
    sql: tuple[SqlStorage, FakeClock],
) -> None:
    storage, _ = sql
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    for key in (long_a, "nul\0key", long_b):
        assert storage.acquire_entry(key, 1, 60) is True
        assert storage.acquire_entry(key, 1, 60) is False  # the same key, found again
    storage.clear(long_a)
    assert storage.get_moving_window(long_a, 1, 60)[1] == 0
    assert storage.get_moving_window(long_b, 1, 60)[1] == 1


# The throttle in the Authenticator.


def _count_calls(monkeypatch: pytest.MonkeyPatch, obj: object, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(obj, name)
    monkeypatch.setattr(obj, name, counted(calls, real))
    return calls


def test_a_login_writes_only_when_it_has_failures_to_clear(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(db, auth_fail_limit=3, auth_revalidate_seconds=0)
    add_customer(platform)
    platform.authenticate("acme", PASSWORD, "10.0.0.1")  # remembers the address (once a day)
    writes = _count_calls(monkeypatch, platform.store, "write")
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert writes == []
    with pytest.raises(DomainError):
        platform.authenticate("acme", "wrong", "10.0.0.1")
    assert len(writes) == 3  # the pair, the address and the account
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert len(writes) == 4  # the pair's failure cleared
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert len(writes) == 4
    platform.store.dispose()


def test_a_success_clears_the_pair_so_the_limit_starts_over(db: Database) -> None:
    platform = make_platform(db, auth_fail_limit=3)
    add_customer(platform)
    for _ in range(2):
        with pytest.raises(DomainError):
            platform.authenticate("acme", "wrong", "10.0.0.1")
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    for _ in range(3):  # three more, not one, before the 429
        with pytest.raises(DomainError) as excinfo:
            platform.authenticate("acme", "wrong", "10.0.0.1")
        assert excinfo.value.err.name == "ERR_UNAUTHORIZED_REQUEST"
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate("acme", "wrong", "10.0.0.1")
    assert excinfo.value.err.name == "ERR_TOO_MANY_REQUESTS"
    platform.store.dispose()


def test_a_cached_credential_costs_no_database_round_trip(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(db, auth_revalidate_seconds=60)
    add_customer(platform)
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    reads = _count_calls(monkeypatch, platform.store, "read")
    writes = _count_calls(monkeypatch, platform.store, "write")
    for _ in range(10):
        platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert reads == [] and writes == []
    platform.store.dispose()


def test_the_credential_cache_is_bounded(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Authenticator, "MAX_CACHE", 2)
    platform = make_platform(db, auth_revalidate_seconds=60)
    for name in ("u1", "u2", "u3"):
        add_customer(platform, name, balance=0, sender=None)
    verifications = _count_calls(monkeypatch, platform.auth, "_verify")
    for name in ("u1", "u2", "u3", "u3", "u1"):
        platform.authenticate(name, PASSWORD)
    assert len(verifications) == 4  # u1 was dropped for u3 and hashed again
    platform.store.dispose()


def test_the_redis_setting_puts_the_counts_in_redis(db: Database) -> None:
    url, prefix = redis_or_skip(), f"finsms-test-{uuid.uuid4().hex}"
    platform = make_platform(db, auth_fail_limit=2, redis_url=url, redis_prefix=prefix)
    add_customer(platform)
    for _ in range(2):
        with pytest.raises(DomainError):
            platform.authenticate("acme", "wrong", "10.0.0.1")
    with pytest.raises(DomainError) as excinfo:
        platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert excinfo.value.err.name == "ERR_TOO_MANY_REQUESTS"
    storage = platform.auth.throttle.limiter.storage
    assert type(storage).__name__ == "RedisStorage"
    assert _rows(SqlStorage(platform.store)) == 0
    assert storage.reset() == 3  # the pair's key, the address's and the account's
    platform.store.dispose()


# Guessing at one account from many addresses (issue #9: 715 guesses from 20 addresses in
# 162 s met no 429), and the addresses an account signed in from, which keep working.


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def storage_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """make_platform arguments counting in each storage: a database's table, or Redis."""
    if request.param != "redis":
        yield {"db": database_for(request.param, request, tmp_path)}
        return
    url, prefix = redis_or_skip(), f"finsms-test-{uuid.uuid4().hex}"
    yield {
        "db": database_for("sqlite", request, tmp_path),
        "redis_url": url,
        "redis_prefix": prefix,
    }
    RedisStorage(url, key_prefix=prefix).reset()


def _status(platform: Platform, username: str, password: str, address: str) -> str:
    try:
        platform.authenticate(username, password, address)
    except DomainError as error:
        return error.err.name
    return "OK"


def test_an_account_guessed_at_from_many_addresses_is_throttled(
    storage_kind: dict[str, Any],
) -> None:
    # No credential cache: a cached right password skips the throttle (it is no guess).
    platform = make_platform(
        **storage_kind, auth_fail_limit=3, auth_account_fail_limit=6, auth_revalidate_seconds=0
    )
    add_customer(platform)
    platform.authenticate("acme", PASSWORD, "10.0.0.1")  # the customer's own address
    # Two guesses from each address: under the pair's limit (3) and the address's (30).
    guesses = [_status(platform, "ACME", "wrong", f"10.1.0.{n // 2}") for n in range(8)]
    assert guesses == ["ERR_UNAUTHORIZED_REQUEST"] * 6 + ["ERR_TOO_MANY_REQUESTS"] * 2
    # The right password from an address the account never signed in from waits too...
    assert _status(platform, "acme", PASSWORD, "10.2.0.1") == "ERR_TOO_MANY_REQUESTS"
    # ...but the customer's own address is not locked out by guessing from elsewhere.
    assert _status(platform, "acme", PASSWORD, "10.0.0.1") == "OK"
    assert _status(platform, "acme", "wrong", "10.0.0.1") == "ERR_UNAUTHORIZED_REQUEST"
    # Other accounts are not concerned.
    add_customer(platform, "other", sender="OTHER")
    assert _status(platform, "other", PASSWORD, "10.2.0.1") == "OK"


def test_the_account_limit_defaults_to_five_times_the_pair_limit(
    storage_kind: dict[str, Any],
) -> None:
    platform = make_platform(**storage_kind, auth_fail_limit=2)
    add_customer(platform)
    guesses = [_status(platform, "acme", "wrong", f"10.1.0.{n}") for n in range(11)]
    assert guesses == ["ERR_UNAUTHORIZED_REQUEST"] * 10 + ["ERR_TOO_MANY_REQUESTS"]


def test_a_known_address_is_known_to_every_worker(storage_kind: dict[str, Any]) -> None:
    settings: dict[str, Any] = dict(
        auth_fail_limit=2, auth_account_fail_limit=2, auth_revalidate_seconds=0
    )
    first, second = (make_platform(**storage_kind, **settings) for _ in range(2))
    add_customer(first)
    first.authenticate("acme", PASSWORD, "10.0.0.1")  # signed in through one worker
    for address in ("10.1.0.1", "10.1.0.2"):
        assert _status(second, "acme", "wrong", address) == "ERR_UNAUTHORIZED_REQUEST"
    assert _status(second, "acme", PASSWORD, "10.0.0.1") == "OK"  # known to the other
    assert _status(second, "acme", PASSWORD, "10.0.0.2") == "ERR_TOO_MANY_REQUESTS"


def test_an_unstorable_user_name_counts_against_its_account(
    storage_kind: dict[str, Any],
) -> None:
    platform = make_platform(**storage_kind, auth_fail_limit=5, auth_account_fail_limit=2)
    guesses = [_status(platform, "a\0b", "pw", f"10.1.0.{n}") for n in range(3)]
    assert guesses == ["ERR_UNAUTHORIZED_REQUEST"] * 2 + ["ERR_TOO_MANY_REQUESTS"]


def test_sign_in_addresses_are_forgotten_after_their_time(open_shared: OpenStorage) -> None:
    sign_ins = SignIns(open_shared(), seconds=1)
    sign_ins.remember("acme", "10.0.0.1")
    other_worker = SignIns(open_shared(), seconds=1)
    assert other_worker.knows("acme", "10.0.0.1")
    assert not other_worker.knows("acme", "10.0.0.2") and not other_worker.knows("x", "10.0.0.1")
    time.sleep(1.1)
    assert not other_worker.knows("acme", "10.0.0.1")


def test_a_sign_in_address_is_written_once_a_day_per_worker(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform(db, auth_revalidate_seconds=0)
    add_customer(platform)
    platform.authenticate("acme", PASSWORD, "10.0.0.1")
    writes = _count_calls(monkeypatch, platform.store, "write")
    for _ in range(3):
        platform.authenticate("acme", PASSWORD, "10.0.0.1")
    assert writes == []
    platform.authenticate("acme", PASSWORD, "10.0.0.2")  # a new address is remembered
    assert writes
