"""MO (mobile-originated) messages: what a subscriber wrote to a user's short number, the
opt-out keywords that make such a message an opt-out, and their normalisation.

Keywords match the first word of a message case-insensitively and without regard to the
Turkish dotted and dotless i: "İPTAL", "iptal", "IPTAL" and "ıptal" are one keyword. The
other Turkish letters fold to their ASCII base too ("ÇIKIŞ" = "cikis"): phones and the
GSM default alphabet often lose them, and a subscriber who typed "CIKIS" meant it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from service.domain.errors import invalid
from service.domain.queries import DateRange

# Letters folded before lower-casing: every i (İ, I, ı) is "i", and Turkish letters lose
# their marks. "İ".lower() is "i" plus a combining dot, hence the explicit table.
_FOLD = str.maketrans(
    {
        "İ": "i",
        "I": "i",
        "ı": "i",
        "Ç": "c",
        "ç": "c",
        "Ğ": "g",
        "ğ": "g",
        "Ö": "o",
        "ö": "o",
        "Ş": "s",
        "ş": "s",
        "Ü": "u",
        "ü": "u",
        "Â": "a",
        "â": "a",
        "Î": "i",
        "î": "i",
        "Û": "u",
        "û": "u",
    }
)
_WORD = re.compile(r"\w+")
KEYWORD_MAX = 32
# Short numbers ("2222", "3434") and, for operators that route replies to them, sender
# titles: what senders accept, without spaces (operators write destinations without them).
_SHORT_NUMBER = re.compile(r"[A-Z0-9.\-_&+']{2,16}")
SHORT_NUMBER_MAX = 16
SOURCE_MAX = 20  # digits of an international number, with room for a '+'
CARRIER_REF_MAX = 128
TEXT_MAX = 4000  # a concatenated MO of 25 parts: longer is not a subscriber's message


def fold(text: str) -> str:
    """Text as keywords compare it: Turkish letters and case folded, marks removed."""
    folded = unicodedata.normalize("NFC", text).translate(_FOLD).casefold()
    return "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))


def first_word(text: str) -> str | None:
    """The folded first word of a message ("İPTAL, lütfen" -> "iptal"); None if none."""
    match = _WORD.search(fold(text))
    return match.group(0) if match else None


def check_keyword(keyword: str) -> str:
    """A keyword as stored: one word, folded; ERR_INVALID_PARAM for anything else."""
    folded = fold(keyword.strip())
    if not folded or len(folded) > KEYWORD_MAX or _WORD.fullmatch(folded) is None:
        raise invalid("keyword", f"tek kelime, en fazla {KEYWORD_MAX} karakter")
    return folded


def short_number(destination: str) -> str:
    """A destination as short numbers are stored and looked up: no spaces, upper case."""
    return "".join(destination.split()).upper()


def check_short_number(number: str) -> str:
    """A short number (or sender title) a user may receive MO on; ERR_INVALID_PARAM else."""
    value = short_number(number)
    if _SHORT_NUMBER.fullmatch(value) is None:
        raise invalid("number", "2-16 karakter: rakam, harf ve . - _ & + '")
    return value


def stable_ref(carrier_ref: str) -> str:
    """The carrier's id as stored: a longer one than the column holds is replaced by its
    SHA-256, so two different long ids never collide as their prefixes would."""
    if len(carrier_ref) <= CARRIER_REF_MAX:
        return carrier_ref
    return "sha256:" + hashlib.sha256(carrier_ref.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class _MoFields:
    """What an MO message holds, whether about to be stored or read back."""

    uuid: str
    user_id: int | None
    link: str
    carrier_ref: str
    source: str
    destination: str
    text: str
    keyword: str | None
    state: int
    exit_type: int | None
    received_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class NewMoMessage(_MoFields):
    """An MO message to store: whose it is (None: no user has the destination), and the
    keyword it matched (then it is an opt-out, of exit type MO)."""


@dataclass(frozen=True)
class MoMessage(_MoFields):
    """A stored MO message as listings show it, with its user's uuid and name."""

    id: int
    user_uuid: str | None
    username: str | None


@dataclass(frozen=True)
class MoNumber:
    """A short number (or sender title) a user receives MO messages on."""

    number: str
    user_id: int
    created_at: datetime


@dataclass(frozen=True)
class OptOut:
    """A number that opted out of a user's messages, how and when."""

    user_id: int
    number: str
    exit_type: int
    created_at: datetime


@dataclass(frozen=True)
class MoFilter:
    """Which MO messages a listing shows: `keyword` matches the keyword, the text or the
    number (a part of any); dates are the reception's, naive UTC."""

    keyword: str | None = None
    dates: DateRange = field(default_factory=DateRange)
