"""KVKK consent links: the request, the link record and the rules about them (no I/O).

A KVKK package is one SMS to one person whose text greets them by name and carries a
link to a consent page served by FinSMS itself (`<public URL>/k/<token>`). The token is
10 base62 characters (62^10 ≈ 2^59.5): unguessable, and short enough that the link costs
no second SMS part in a normal-length text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

TOKEN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_LENGTH = 10
LINK_PATH = "/k/"
SHORT_LINK = "SHORT_LINK"
FIRST_NAME = "FIRST_NAME"
LAST_NAME = "LAST_NAME"
NAME_MAX = 50
# The İYS source type of a consent given on the page (spec: İYS Kaynak Tipleri, 7).
SOURCE_WEB = "HS_WEB"
_TOKEN_SHAPE = re.compile(f"[0-9A-Za-z]{{{TOKEN_LENGTH}}}")


class Answer(StrEnum):
    """What the person answered on the page."""

    APPROVED = "approved"
    REFUSED = "refused"


class LinkState(StrEnum):
    """Where a link stands when it is opened."""

    OPEN = "open"
    ANSWERED = "answered"
    EXPIRED = "expired"


@dataclass(frozen=True)
class KvkkRequest:
    """A checked /sms/create-kvkk request: one recipient, their names and the text."""

    number: str
    first_name: str
    last_name: str
    sender: str | None
    content: str  # contains SHORT_LINK; FIRST_NAME / LAST_NAME are filled per recipient
    encoding: int
    validity: int
    push_url: str | None


@dataclass(frozen=True)
class _LinkFields:
    """What a consent link holds, whether about to be written or read back."""

    token: str
    user_id: int
    package_id: int
    number: str
    first_name: str
    last_name: str
    sender: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewLink(_LinkFields):
    """A link to write, with the package that carries it."""


@dataclass(frozen=True)
class KvkkLink(_LinkFields):
    """A stored link and, once answered, its answer."""

    id: int
    answered_at: datetime | None = None
    answer: str | None = None
    client_address: str | None = None
    user_agent: str | None = None
    consent_source: str | None = None

    def state(self, now: datetime) -> LinkState:
        """Answered (for good), expired (unanswered past expires_at) or open."""
        if self.answered_at is not None:
            return LinkState.ANSWERED
        return LinkState.EXPIRED if now >= self.expires_at else LinkState.OPEN


def is_token(value: str) -> bool:
    """Whether a string has the shape of a token (anything else is not looked up)."""
    return bool(_TOKEN_SHAPE.fullmatch(value))


def link_url(base_url: str, token: str) -> str:
    """The link that replaces SHORT_LINK: `<base>/k/<token>`."""
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"


def fill_text(req: KvkkRequest, link: str) -> str:
    """The text as sent: names filled and SHORT_LINK replaced, in one pass (a name that
    spells SHORT_LINK stays a name)."""
    values = {FIRST_NAME: req.first_name, LAST_NAME: req.last_name, SHORT_LINK: link}
    pattern = re.compile("|".join(re.escape(key) for key in values))
    return pattern.sub(lambda m: values[m.group(0)], req.content)
