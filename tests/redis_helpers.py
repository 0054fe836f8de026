"""The test Redis: its URL, and skipping (or failing, in CI) when it does not answer."""

from __future__ import annotations

import os
from functools import cache

import pytest

REDIS_URL = os.environ.get("FINSMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("FINSMS_REQUIRE_REDIS") == "1"


@cache
def redis_reachable() -> bool:
    """Whether the test Redis answers a PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping())
    except redis.RedisError:
        return False


def redis_or_skip() -> str:
    """The test Redis's URL; skips the test when unreachable (fails if it is required)."""
    if not redis_reachable():
        if REQUIRE_REDIS:
            pytest.fail(f"Redis required (FINSMS_REQUIRE_REDIS=1) but {REDIS_URL} is unreachable")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL
