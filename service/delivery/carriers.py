"""What a carrier is: takes a batch of claimed items, later reports their delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from service.services.delivery import Claimed, Report, Submission


class Carrier(Protocol):
    """A link to an operator (or the simulator): submit now, reports later."""

    name: str

    def submit(self, batch: Sequence[Claimed]) -> list[Submission]:
        """Hand items to the operator; one answer per item, in any order."""
        ...

    def poll_reports(self) -> list[Report]:
        """Delivery reports that arrived since the last poll."""
        ...

    def requeue(self, reports: Sequence[Report]) -> None:
        """Take back reports that could not be applied; the next poll returns them."""
        ...

    def close(self) -> None:
        """Release the link."""
        ...
