"""Reading the facade's request bodies into SendRequests (field names as documented)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response

from service.domain import facade as words
from service.domain.constants import Encoding, SendingType, SmsType
from service.domain.errors import DomainError, Err, invalid
from service.domain.phone import normalize
from service.domain.sending import Recipient, SendRequest
from service.domain.text import check_text

# The most numbers or messages one request may carry (the Node API's package bound).
MAX_RECIPIENTS = 100_000


class Body:
    """A request body; fields found by their documented name in any letter case."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = {str(k).lower(): v for k, v in fields.items()}

    def get(self, name: str) -> Any:
        """The value of a field, None when absent."""
        return self.fields.get(name.lower())


def message(value: Any, field: str = "Message") -> str:
    """A message text: required, text a database can store."""
    if not isinstance(value, str) or not value:
        raise invalid(field, "zorunlu bir metin")
    return check_text(value, field)


def numbers(value: Any) -> tuple[Recipient, ...]:
    """Numbers: at least one, each in one of the documented forms; any invalid is 400."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise invalid("Numbers", "en az bir numara gerekli")
    if len(value) > MAX_RECIPIENTS:
        raise invalid("Numbers", f"en fazla {MAX_RECIPIENTS} numara")
    found: list[Recipient] = []
    for position, entry in enumerate(value):
        target = normalize(entry)
        if target is None:
            raise DomainError(
                Err.ERR_INVALID_PARAM, f"Numbers[{position}]: geçersiz numara", field="Numbers"
            )
        found.append(Recipient(target))
    return tuple(found)


def messages(value: Any) -> tuple[tuple[Recipient, ...], int]:
    """Messages of send-multi: the valid ones as recipients with their own text, and how
    many entries were invalid (a bad number or text); none at all is 400."""
    if not isinstance(value, list) or not value:
        raise invalid("Messages", "en az bir mesaj gerekli")
    if len(value) > MAX_RECIPIENTS:
        raise invalid("Messages", f"en fazla {MAX_RECIPIENTS} mesaj")
    found: list[Recipient] = []
    for entry in value:
        recipient = _entry(entry)
        if recipient is not None:
            found.append(recipient)
    return tuple(found), len(value) - len(found)


def _entry(entry: Any) -> Recipient | None:
    if not isinstance(entry, Mapping):
        return None
    body = Body(entry)
    target, text = normalize(body.get("GSM")), body.get("Message")
    if target is None or not isinstance(text, str) or not text:
        return None
    try:
        return Recipient(target, check_text(text, "Message"))
    except DomainError:
        return None


def send_request(body: Body, *, advanced: bool) -> SendRequest:
    """The SendRequest of /send (advanced=False: only Message and Numbers) or of
    /send-advanced."""
    recipients = numbers(body.get("Numbers"))
    content = message(body.get("Message"))
    sending = SendingType.SINGLE if len(recipients) == 1 else SendingType.ONE_TO_MANY
    return _request(body if advanced else Body({}), sending, content, recipients)


def multi_request(body: Body) -> tuple[SendRequest, int]:
    """The SendRequest of /send-multi, and how many of its entries were invalid."""
    recipients, failed = messages(body.get("Messages"))
    options = _request(body, SendingType.MANY_TO_MANY, None, recipients) if recipients else None
    if options is None:
        raise DomainError(Err.ERR_EMPTY_SMS_PACKAGE, "Geçerli mesaj yok.", field="Messages")
    return options, failed


def _request(
    options: Body, sending: SendingType, content: str | None, recipients: tuple[Recipient, ...]
) -> SendRequest:
    encoding: Encoding = words.coding(options.get("Coding"))
    return SendRequest(
        sms_type=SmsType.NORMAL,
        sending_type=sending,
        otp=False,
        sender=words.sender(options.get("From")),
        content=content,
        encoding=encoding,
        validity=words.validity(options.get("ValidityPeriod")),
        title=None,
        sending_date=words.start_date(options.get("StartDate")),
        periodic=None,
        push_url=None,
        commercial=None,
        custom_id=None,
        trust_date=None,
        recipients=recipients,
    )


def json_response(body: dict[str, Any], status: int) -> Response:
    """A facade answer: compact JSON, Turkish letters as they are."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status=status, mimetype="application/json")
