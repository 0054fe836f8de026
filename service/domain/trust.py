"""trustDate: an OTP is not sent to a number whose SIM changed after the date the
customer trusts (a SIM swap is how OTPs are stolen). The rule, apart from how a link asks.

The spec says only "reject if the SIM changed after this date": such an item is rejected
(state -1) with the error SIM_CHANGED and refunded, as any rejection. When the check
cannot be made (the link has none, or its answer was "unknown"), a bank that asked for
the check would rather have no OTP than one sent to a swapped SIM, so the item is
rejected with SIM_CHECK_UNAVAILABLE, unless the operator chose to send such OTPs
unchecked (FINSMS_TRUST_DATE_UNCHECKED=send).
"""

from __future__ import annotations

SIM_CHANGED = "SIM_CHANGED"
SIM_CHECK_UNAVAILABLE = "SIM_CHECK_UNAVAILABLE"


def refusal(changed: bool | None, send_unchecked: bool) -> str | None:
    """The error that stops a message with a trustDate, or None to send it. `changed`:
    whether the SIM changed after the trustDate, None when nobody could tell."""
    if changed:
        return SIM_CHANGED
    if changed is None and not send_unchecked:
        return SIM_CHECK_UNAVAILABLE
    return None
