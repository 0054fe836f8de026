"""A small thread-safe cache whose entries expire after a fixed number of seconds."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class TtlCache:
    """Remembers values for `seconds`; bounded, oldest dropped first."""

    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value if present and fresh, else None."""
        with self._lock:
            entry = self._data.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember a value."""
        with self._lock:
            self._data[key] = (time.monotonic() + self.seconds, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
