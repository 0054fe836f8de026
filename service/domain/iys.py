"""İYS (İleti Yönetim Sistemi): consents to commercial messages, and their rules.

Commercial electronic messages in Turkey may go only to recipients whose consent (ONAY)
is registered in İYS. A consent is İYS's: per service provider (İYS code) and brand
(brand code) × recipient address × channel (here always MESAJ, SMS). FinSMS keeps each
user's consents and their synchronisation state with İYS (the spec's İYS states), and a
commercial package goes only to recipients with an approved consent: ONAY, and accepted
by İYS (state ACCEPTED). A consent recorded but not yet accepted does not count: İYS is
the register the law names, and until it has the consent the provider cannot show one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from service.domain.constants import IysRecipientType, IysSource, IysState
from service.domain.errors import DomainError, Err, invalid

CONSENT_TYPE = "MESAJ"  # İYS channel of SMS; ARAMA and EPOSTA are not ours
CODE_MAX = 16
ERROR_MAX = 200
# Backoff between failed synchronisations of a consent: 30 s, 1 min, 2 min… at most 1 h.
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
# A consent claimed by a worker that died is taken again after this long.
SYNC_LEASE = timedelta(minutes=5)
_CODE = re.compile(r"[0-9]{1,16}")


class ConsentStatus(StrEnum):
    """İYS consent status: approved or refused."""

    ONAY = "ONAY"
    RET = "RET"


@dataclass(frozen=True)
class IysSettings:
    """A user's İYS settings: its İYS (service provider) code and brand code."""

    user_id: int
    iys_code: str | None
    brand_code: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Brand:
    """Where a consent is registered in İYS: a provider's code and one of its brands."""

    iys_code: str
    brand_code: str


@dataclass(frozen=True)
class NewConsent:
    """A consent as recorded: from a contact, a KVKK page answer, an MO opt-out…"""

    user_id: int
    recipient: str  # 905xxxxxxxxx
    status: ConsentStatus
    source: IysSource
    recipient_type: IysRecipientType
    consent_date: datetime  # naive UTC
    exit_type: int | None = None  # ExitType of a refusal (MO, WEB)


@dataclass(frozen=True)
class Consent:
    """A stored consent and where its synchronisation with İYS stands."""

    id: int
    user_id: int
    recipient: str
    type: str
    recipient_type: int
    source: int
    status: str
    consent_date: datetime
    exit_type: int | None
    iys_state: int
    attempts: int
    next_sync_at: datetime | None
    last_sync_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SyncResult:
    """İYS's answer on one consent: accepted, rejected (with its error), or not known
    (the call failed: try again later)."""

    recipient: str
    state: IysState  # ACCEPTED, REJECTED; WAITING_SYNC when it is to be retried
    error: str | None = None
    reference: str | None = None  # İYS's transaction id


def check_code(value: str, field: str) -> str:
    """An İYS or brand code: digits, as İYS issues them."""
    text = value.strip()
    if not _CODE.fullmatch(text):
        raise invalid(field, "rakamlardan oluşmalı (en fazla 16)")
    return text


def brand_of(settings: IysSettings | None) -> Brand:
    """The brand a user's commercial messages and consents belong to, or the spec's error
    for what is missing."""
    if settings is None or not settings.iys_code:
        raise DomainError(Err.ERR_USER_IYS_SETTINGS_NOT_FOUND)
    if not settings.brand_code:
        raise DomainError(Err.ERR_USER_BRAND_CODE_NOT_FOUND)
    return Brand(settings.iys_code, settings.brand_code)


def first_source_allowed(source: IysSource) -> bool:
    """HS_KARAR (the provider's own refusal) may not be a consent's first insertion."""
    return source != IysSource.HS_KARAR


def retry_after(attempts: int) -> timedelta:
    """How long to wait before the next try, after `attempts` failed ones."""
    # Capped exponent: a consent failing for days must not overflow the multiplication.
    step: timedelta = RETRY_FIRST * (2 ** min(max(attempts - 1, 0), 16))
    return min(step, RETRY_MAX)


def clip_error(text: str) -> str:
    """An error as stored: one line, bounded."""
    return " ".join(text.split())[:ERROR_MAX]


def recorded_fields(new: NewConsent, now: datetime) -> dict[str, Any]:
    """What recording a consent (new or changed) sets: what it says, and waiting to be
    sent to İYS now, with no attempt and no error yet."""
    return {
        "recipient_type": int(new.recipient_type),
        "source": int(new.source),
        "status": new.status.value,
        "consent_date": new.consent_date,
        "exit_type": new.exit_type,
        "iys_state": int(IysState.WAITING_SYNC),
        "next_sync_at": now,
        "last_error": None,
        "attempts": 0,
        "updated_at": now,
    }
