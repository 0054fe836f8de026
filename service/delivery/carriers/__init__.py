"""Carriers: links to operators (and the simulator) and their routing.

What crosses a link (Submission, SubmitResult, DeliveryReceipt, InboundMessage) is
defined in service.domain.carrier, since the settlement service speaks it too; `base`
holds the Carrier protocol, `registry` builds links by name from settings, `router`
picks a link per operator, `simulator` is the built-in link.
"""

from service.domain.carrier import DeliveryReceipt, InboundMessage, Submission, SubmitResult

__all__ = ["DeliveryReceipt", "InboundMessage", "Submission", "SubmitResult"]
