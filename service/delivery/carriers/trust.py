"""The trustDate guard in front of a carrier link: asks the link's SIM-change check
(SimSwapCheck) for each message that carries a trustDate, answers a rejection for those
the rule (service.domain.trust) stops, and hands the rest to the link.

The router puts it in front of a link only for a group of messages that has a trustDate
in it, so bulk traffic never pays for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service.delivery.carriers.base import Carrier, LinkEvents, SimSwapCheck
from service.domain import trust
from service.domain.carrier import Submission, SubmitResult

log = logging.getLogger("finsms.carriers")


class TrustGuard:
    """A carrier link whose submit first checks trustDates; everything else is the link's."""

    def __init__(self, link: Carrier, send_unchecked: bool = False) -> None:
        self.link = link
        self.name = link.name
        self.send_unchecked = send_unchecked

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Reject the messages whose SIM changed after their trustDate (or, by the rule,
        could not be checked); the link submits the others."""
        refused: list[SubmitResult] = []
        passed: list[Submission] = []
        for submission in batch:
            error = self._refusal(submission)
            if error is None:
                passed.append(submission)
            else:
                refused.append(SubmitResult(submission.item_id, False, error=error))
        return refused + (self.link.submit(passed) if passed else [])

    def _refusal(self, submission: Submission) -> str | None:
        if submission.trust_date is None:
            return None
        return trust.refusal(self._changed(submission), self.send_unchecked)

    def _changed(self, submission: Submission) -> bool | None:
        assert submission.trust_date is not None
        if not isinstance(self.link, SimSwapCheck):
            return None
        try:
            return self.link.sim_changed_since(submission.target, submission.trust_date)
        except Exception:  # an operator that cannot answer is an unknown, not a crash
            log.warning("SIM-change check failed on link %s", self.name, exc_info=True)
            return None

    # Everything but submit is the link's own.

    def open(self, events: LinkEvents) -> None:
        """The link's."""
        self.link.open(events)

    def poll(self) -> None:
        """The link's."""
        self.link.poll()

    def available(self) -> bool:
        """The link's."""
        return self.link.available()

    def close(self) -> None:
        """The link's."""
        self.link.close()


def guarded(link: Carrier, batch: Sequence[Submission], send_unchecked: bool) -> Carrier:
    """The link, behind a TrustGuard when any message of the batch has a trustDate."""
    if any(s.trust_date is not None for s in batch):
        return TrustGuard(link, send_unchecked)
    return link
