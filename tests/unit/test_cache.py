"""The TTL cache behind approved senders: entries expire, size is bounded."""

from __future__ import annotations

import time

from service.services.cache import TtlCache


def test_an_entry_is_forgotten_after_its_seconds() -> None:
    cache = TtlCache(0.05)
    cache.put("k", "v")
    assert cache.get("k") == "v"
    time.sleep(0.06)
    assert cache.get("k") is None


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache = TtlCache(60, max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_clear_forgets_everything() -> None:
    cache = TtlCache(60)
    cache.put("a", 1)
    cache.clear()
    assert cache.get("a") is None


def test_zero_seconds_caches_nothing() -> None:
    cache = TtlCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None
