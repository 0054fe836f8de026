"""Public identifiers for rows: time-ordered UUIDs (RFC 9562 version 7)."""

from __future__ import annotations

import os
import time
import uuid

_VERSION_MASK = ~(0xF << 76)
_VARIANT_MASK = ~(0x3 << 62)


def uuid7() -> str:
    """A random UUID whose leading 48 bits are the Unix time in milliseconds.

    Random version-4 UUIDs land on a random page of their unique index; on a table that
    grows by millions of packages that is a page read and written per insert. Version 7
    UUIDs arrive in order and are appended at the index's right edge.
    """
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & _VERSION_MASK) | (0x7 << 76)
    value = (value & _VARIANT_MASK) | (0x2 << 62)
    return str(uuid.UUID(int=value))
