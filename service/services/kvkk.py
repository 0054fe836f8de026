"""KVKK consent links: sending one (/sms/create-kvkk), opening it and answering it.

Sending goes through the package-creation steps of service.services.sms: the recipient's
text is the template with the names filled and SHORT_LINK replaced by the link, so the
package is priced as sent. The link row is written in the package's transaction.

An answer is recorded on the link (once: a second answer leaves the first) and handed to
a ConsentSink in the same transaction, as a consent from source HS_WEB.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from service.config import Settings
from service.domain import kvkk as rules
from service.domain.constants import Encoding, IysSource, SendingType, SmsType
from service.domain.errors import DomainError, Err
from service.domain.iys import ConsentStatus
from service.domain.kvkk import Answer, KvkkLink, KvkkRequest, LinkState, NewLink
from service.domain.principal import Principal
from service.domain.sending import Recipient, SendRequest
from service.services import iys, sms
from service.services.platform import Platform
from service.services.ports import Tx

# Tries with a fresh token when one is taken (2^-59 per pair: in practice never).
_TOKEN_TRIES = 3
USER_AGENT_MAX = 300
ADDRESS_MAX = 45


class ConsentSink(Protocol):
    """Where an answer on the page goes as a consent, inside the answer's transaction."""

    def record(
        self, tx: Tx, user_id: int, number: str, approved: bool, source: str, at: datetime
    ) -> None:
        """Record that `number` gave (approved) or refused consent to the user's messages."""
        ...


class IysConsent:
    """The answer as the user's İYS consent of the number (approved: ONAY, refused: RET,
    with the page's source, HS_WEB), which the İYS sync then sends to İYS; and the answered
    link row stamped with that source."""

    def record(
        self, tx: Tx, user_id: int, number: str, approved: bool, source: str, at: datetime
    ) -> None:
        """Record the consent (or refusal) and stamp the link answered at `at`."""
        status = ConsentStatus.ONAY if approved else ConsentStatus.RET
        iys.record_consent(tx, iys.consent(user_id, number, status, IysSource[source], at), at)
        tx.kvkk.record_consent(user_id, number, source, at)


DEFAULT_SINK: ConsentSink = IysConsent()


class _TokenTaken(Exception):
    """The drawn token is stored already: the package is undone and drawn again."""


def new_token() -> str:
    """A fresh, unguessable token: TOKEN_LENGTH characters of base62 from `secrets`."""
    return "".join(secrets.choice(rules.TOKEN_ALPHABET) for _ in range(rules.TOKEN_LENGTH))


def link_base(settings: Settings) -> str:
    """The base URL links point at; KVKK packages are refused until it is configured
    (the default, localhost, would send recipients a link that cannot open)."""
    if not settings.public_url or not settings.secret_key:
        raise DomainError(
            Err.ERR_USER_NOT_AUTHORIZED,
            "KVKK izin linkleri bu sunucuda kapalı: FINSMS_PUBLIC_URL ve FINSMS_SECRET_KEY "
            "ayarlanmalı.",
        )
    return settings.base_url


def create(
    platform: Platform,
    principal: Principal,
    req: KvkkRequest,
    *,
    tokens: Callable[[], str] = new_token,
) -> int:
    """Send a KVKK consent SMS with a fresh link and store the link; the package id."""
    base = link_base(platform.settings)
    for _ in range(_TOKEN_TRIES):
        token = tokens()
        send = send_request(req, rules.link_url(base, token))
        try:
            return sms.create_package(
                platform, principal, send, on_written=_writer(platform, principal, req, token)
            )
        except _TokenTaken:
            continue
    raise DomainError(Err.ERR_SMS_PKG_CREATING_FAILED, "KVKK linki oluşturulamadı.")


def send_request(req: KvkkRequest, link: str) -> SendRequest:
    """The package to send: one recipient whose text carries the names and the link."""
    return SendRequest(
        sms_type=SmsType.NORMAL,
        sending_type=SendingType.SINGLE,
        otp=False,
        sender=req.sender,
        content=req.content,
        encoding=Encoding(req.encoding),
        validity=req.validity,
        title="KVKK izin linki",
        sending_date=None,
        periodic=None,
        push_url=req.push_url,
        commercial=None,
        custom_id=None,
        trust_date=None,
        recipients=(Recipient(req.number, rules.fill_text(req, link)),),
    )


def _writer(
    platform: Platform, principal: Principal, req: KvkkRequest, token: str
) -> sms.OnWritten:
    def write(tx: Tx, package_id: int) -> None:
        now = platform.clock.now()
        link = NewLink(
            token=token,
            user_id=principal.user_id,
            package_id=package_id,
            number=req.number,
            first_name=req.first_name,
            last_name=req.last_name,
            sender=req.sender or "",
            created_at=now,
            expires_at=now + timedelta(days=platform.settings.kvkk_link_days),
        )
        if not tx.kvkk.add(link):
            raise _TokenTaken

    return write


@dataclass(frozen=True)
class Opened:
    """A link as the page shows it: the link and where it stands now."""

    link: KvkkLink
    state: LinkState


def open_link(platform: Platform, token: str) -> Opened:
    """The link of a token and its state; ERR_NOT_FOUND for a forged or unknown one."""
    with platform.uow.read() as tx:
        link = _find(tx, token)
    return Opened(link, link.state(platform.clock.now()))


def answer(
    platform: Platform,
    token: str,
    approved: bool,
    client_address: str | None,
    user_agent: str | None,
    *,
    sink: ConsentSink = DEFAULT_SINK,
) -> Opened:
    """Record the answer of an open link and hand it to the sink as an HS_WEB consent;
    an answered or expired link is left as it is. The link as it stands after."""
    now = platform.clock.now()
    choice = Answer.APPROVED if approved else Answer.REFUSED
    with platform.uow.write() as tx:
        link = _find(tx, token)
        address = (client_address or "")[:ADDRESS_MAX] or None
        agent = (user_agent or "")[:USER_AGENT_MAX] or None
        if tx.kvkk.answer(token, choice.value, now, address, agent):
            sink.record(tx, link.user_id, link.number, approved, rules.SOURCE_WEB, now)
        link = _find(tx, token)
    return Opened(link, link.state(now))


def _find(tx: Tx, token: str) -> KvkkLink:
    link = tx.kvkk.by_token(token) if rules.is_token(token) else None
    if link is None:
        raise DomainError(Err.ERR_NOT_FOUND, "KVKK linki bulunamadı.")
    return link
