"""The FinSMS v1 facade's own vocabulary: codings, report states and network names.

The facade speaks of a package's recipients in words, not numbers. Item states map to
the four documented states; the mapping of the states the documentation does not name:

- WAITING, SENDING, SENT (not reported yet) → "Rapor Bekliyor"
- DELIVERED → "İletildi"
- UNDELIVERED, REJECTED (by the carrier or the platform) and CANCELLED (never sent)
  → "İletilmedi": the message did not reach the number, and is refunded
- TIMED_OUT → "Zaman Aşımı"

Networks: the operator recorded with the item (Turkcell, Vodafone, Türk Telekom; Netgsm,
a virtual operator on Türk Telekom's network, is "TTMobile"); the Northern Cyprus
operators use Turkish prefixes, KKTCell 533 8xx and Telsim 542 8xx, and are told apart
by the number; a number of no known operator is "Şebeke Dışı".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.domain.constants import Encoding, ItemState, Operator
from service.domain.errors import invalid
from service.domain.text import check_text

WAITING = "Rapor Bekliyor"
DELIVERED = "İletildi"
NOT_DELIVERED = "İletilmedi"
TIMED_OUT = "Zaman Aşımı"

_STATES: dict[int, str] = {
    ItemState.WAITING: WAITING,
    ItemState.SENDING: WAITING,
    ItemState.SENT: WAITING,
    ItemState.DELIVERED: DELIVERED,
    ItemState.UNDELIVERED: NOT_DELIVERED,
    ItemState.REJECTED: NOT_DELIVERED,
    ItemState.CANCELLED: NOT_DELIVERED,
    ItemState.TIMED_OUT: TIMED_OUT,
}

OUT_OF_NETWORK = "Şebeke Dışı"
_NETWORKS: dict[int, str] = {
    Operator.TURKCELL: "Turkcell",
    Operator.VODAFONE: "Vodafone",
    Operator.TURKTELEKOM: "TTMobile",
    Operator.NETGSM: "TTMobile",
}
# Northern Cyprus: number prefixes (after 90) inside Turkcell's and Vodafone's ranges.
_CYPRUS = {"5338": "KKTCell", "5428": "Telsim"}

CODINGS = {"default": Encoding.DEFAULT, "turkish": Encoding.TURKISH}
SENDER_MAX = 11
# The documented default validity (1140 minutes, as written) and the platform's range.
VALIDITY_DEFAULT = 1140
VALIDITY_RANGE = (60, 1440)


def report_state(state: int) -> str:
    """The facade's state string of an item state."""
    return _STATES[state]


def network(target: str, operator: int | None) -> str:
    """The facade's network string of a normalised number and its recorded operator."""
    cyprus = _CYPRUS.get(target[2:6])
    if cyprus is not None:
        return cyprus
    return _NETWORKS.get(operator, OUT_OF_NETWORK) if operator is not None else OUT_OF_NETWORK


def coding(value: Any) -> Encoding:
    """The encoding of a Coding value ("default" or "turkish", any case; none: default)."""
    if value is None or value == "":
        return Encoding.DEFAULT
    if not isinstance(value, str) or value.strip().lower() not in CODINGS:
        raise invalid("Coding", '"default" veya "turkish" olmalı')
    return CODINGS[value.strip().lower()]


def validity(value: Any) -> int:
    """ValidityPeriod in minutes: the documented default, else within the platform's range."""
    if value is None or value == "":
        return VALIDITY_DEFAULT
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid("ValidityPeriod", "dakika olarak bir tamsayı olmalı")
    try:
        minutes = int(value)
    except ValueError:
        raise invalid("ValidityPeriod", "dakika olarak bir tamsayı olmalı") from None
    low, high = VALIDITY_RANGE
    if not low <= minutes <= high:
        raise invalid("ValidityPeriod", f"{low} ile {high} dakika arasında olmalı")
    return minutes


def start_date(value: Any) -> datetime | None:
    """StartDate in ISO 8601 (aware, or naive platform local time); None: now."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid("StartDate", "ISO 8601 tarih olmalı")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise invalid("StartDate", "ISO 8601 tarih olmalı") from None
    return when


def sender(value: Any) -> str | None:
    """From: a sender title of at most 11 characters; none: the user's default."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > SENDER_MAX:
        raise invalid("From", f"en fazla {SENDER_MAX} karakterlik bir metin olmalı")
    return check_text(value, "From")
