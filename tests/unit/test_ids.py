"""Package UUIDs: valid version-7 UUIDs, unique, ordered by creation time."""

from __future__ import annotations

import uuid
from unittest import mock

from service.domain.ids import uuid7


def test_uuid7_is_a_valid_rfc_9562_version_7_uuid() -> None:
    value = uuid.UUID(uuid7())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_carries_the_creation_millisecond_in_its_leading_bits() -> None:
    with mock.patch("service.domain.ids.time.time_ns", return_value=1_795_000_000_123_456_789):
        value = uuid.UUID(uuid7())
    assert value.int >> 80 == 1_795_000_000_123


def test_uuid7_sorts_by_creation_time_and_never_repeats() -> None:
    made: list[str] = []
    for step in range(50):
        with mock.patch(
            "service.domain.ids.time.time_ns", return_value=(1_795_000_000_000 + step) * 1_000_000
        ):
            made.extend(uuid7() for _ in range(20))
    assert len(set(made)) == len(made)
    firsts = [made[i] for i in range(0, len(made), 20)]
    assert firsts == sorted(firsts)
