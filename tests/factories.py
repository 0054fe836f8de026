"""Builders of the typed requests tests and benchmarks hand to the services."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict, Unpack

from service.domain.constants import Encoding, SendingType, SmsType
from service.domain.packages import Periodic
from service.domain.sending import Recipient, SendRequest


class SendRequestChanges(TypedDict, total=False):
    """Any field of a SendRequest, to override the factory's default."""

    sms_type: SmsType
    sending_type: SendingType
    otp: bool
    sender: str | None
    content: str | None
    encoding: Encoding
    validity: int
    title: str | None
    sending_date: datetime | None
    periodic: Periodic | None
    push_url: str | None
    commercial: bool | None
    custom_id: str | None
    trust_date: datetime | None
    recipients: tuple[Recipient, ...]
    invalid_count: int
    group_uuids: tuple[str, ...]
    custom_fields: tuple[str, ...]


def send_request(numbers: Iterable[str], **changes: Unpack[SendRequestChanges]) -> SendRequest:
    """A plain bulk SMS (1-N, sender ACME, sent now) to these numbers, with `changes` applied."""
    plain = SendRequest(
        sms_type=SmsType.NORMAL,
        sending_type=SendingType.ONE_TO_MANY,
        otp=False,
        sender="ACME",
        content="Kampanya",
        encoding=Encoding.DEFAULT,
        validity=1440,
        title="Kampanya",
        sending_date=None,
        periodic=None,
        push_url=None,
        commercial=None,
        custom_id=None,
        trust_date=None,
        recipients=tuple(Recipient(n) for n in numbers),
    )
    return dataclasses.replace(plain, **changes)
