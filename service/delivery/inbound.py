"""The dispatcher's inbound handler: MO messages from carrier links into the MO store.

It keeps the dispatcher's InboundHandler shape, a callable taking a batch of messages, and
returns only once they are committed (service.services.mo.receive); on an error it
raises, so the link does not acknowledge them and the operator delivers them again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service.domain.carrier import InboundMessage
from service.services import mo

log = logging.getLogger("finsms.inbound")


class StoredInbound:
    """Stores each batch of MO messages (once per link and carrier reference) and keeps
    counts of what came of them."""

    def __init__(self, host: mo.Host, sink: mo.OptOutSink | None = None) -> None:
        self.host = host
        self.sink = sink
        self.stored = self.duplicates = self.unrouted = self.opted_out = 0

    def __call__(self, messages: Sequence[InboundMessage]) -> None:
        """Store the batch in one transaction; raise if it is not stored."""
        if not messages:
            return
        result = mo.receive(self.host, messages, self.sink)
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.unrouted += result.unrouted
        self.opted_out += result.opted_out
        log.info(
            "%d MO messages stored (%d redelivered, %d unrouted, %d opt-outs)",
            result.stored,
            result.duplicates,
            result.unrouted,
            result.opted_out,
        )
