"""A small thread-safe cache whose entries expire after a fixed number of seconds."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache


class TtlCache:
    """Remembers values for `seconds`; bounded, least recently used dropped first."""

    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._data: TTLCache[Hashable, Any] = TTLCache(max_entries, seconds)
        # cachetools' caches are not thread-safe: a get may expire entries (a mutation).
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value if present and fresh, else None."""
        with self._lock:
            return self._data.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        """Remember a value."""
        with self._lock:
            self._data[key] = value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
