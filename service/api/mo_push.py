"""MO messages pushed over HTTP: operators and aggregators that POST (or GET) each MO to
a URL instead of sending it over SMPP.

`/mo/push/<link>` takes one message: its id (the operator's, what makes a redelivery the
same message), the subscriber's number, the short number written to and the text, as a
JSON object, a form or query parameters, field names in any case and under the names
aggregators use (FIELDS). The caller proves it is the link's operator with the link's
token (FINSMS_MO_PUSH_TOKENS, `LINK=TOKEN,...`), sent as `Authorization: Bearer TOKEN`
or, for gateways that can only be given a URL, as `?token=TOKEN`; it is compared in
constant time, and an unknown link is refused like a wrong token.

200 only once the message is committed (a redelivery is 200 too, and stores nothing);
400 with the field for bad input; 401 for a wrong token; 503 when it could not be stored,
so the operator tries again. Never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, Response, request

from service.api.json.blueprint import envelope
from service.api.node.params import Params
from service.config import SettingsError
from service.domain.carrier import InboundMessage
from service.domain.errors import DomainError, Err, invalid
from service.domain.mo import CARRIER_REF_MAX, SHORT_NUMBER_MAX, SOURCE_MAX, TEXT_MAX
from service.services import mo
from service.services.platform import Platform

log = logging.getLogger("finsms.mo_push")

# Each field and the names aggregators send it under, in order of preference.
FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "msgid", "messageId", "message_id", "moId", "smsId"),
    "from": ("from", "source", "gsm", "msisdn", "originator", "sender"),
    "to": ("to", "destination", "shortNr", "shortcode", "receiver", "recipient"),
    "text": ("text", "msg", "message", "content", "body"),
    "date": ("date", "receivedAt", "received_at", "time"),
}
_LIMITS = {"id": CARRIER_REF_MAX, "from": SOURCE_MAX, "to": SHORT_NUMBER_MAX, "text": TEXT_MAX}
_LINK_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
TOKEN_MIN = 16


def parse_tokens(text: str) -> dict[str, bytes]:
    """{link: SHA-256 of its token} from FINSMS_MO_PUSH_TOKENS; SettingsError names it."""
    tokens: dict[str, bytes] = {}
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        link, sep, token = (part.strip() for part in chunk.partition("="))
        if not sep or not link or not set(link) <= _LINK_CHARS or len(link) > 32:
            raise SettingsError(f"FINSMS_MO_PUSH_TOKENS: bad entry for link {link!r}: LINK=TOKEN")
        if len(token) < TOKEN_MIN:
            raise SettingsError(
                f"FINSMS_MO_PUSH_TOKENS: the token of {link!r} must have {TOKEN_MIN}+ characters"
            )
        tokens[link] = _digest(token)
    return tokens


def _digest(token: str) -> bytes:
    # Digests have one length: compare_digest then leaks nothing about the token's.
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def make_mo_push_blueprint(platform: Platform) -> Blueprint:
    """The blueprint of /mo/push/<link> for this platform."""
    bp = Blueprint("mo_push", __name__)
    tokens = parse_tokens(platform.settings.mo_push_tokens)

    @bp.route("/mo/push/<link>", methods=["GET", "POST"])
    def push(link: str) -> Response:
        try:
            _authorise(tokens, link)
            message = _message(platform, link, _fields())
        except DomainError as error:
            return envelope(error=error)
        try:
            result = mo.receive(platform, [message])
        except Exception:  # not stored: the operator must try again, and must be told so
            log.exception("MO pushed on %s not stored", link)
            return envelope(error=DomainError(Err.ERR_SYSTEM_MAINTENANCE, "Kaydedilemedi."))
        return envelope({"status": 1, "duplicate": bool(result.duplicates)})

    return bp


def _authorise(tokens: dict[str, bytes], link: str) -> None:
    """The request carries the link's token; an unknown link is refused the same way."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else request.args.get("token", "")
    expected = tokens.get(link, b"")
    if not (given and expected and hmac.compare_digest(_digest(given), expected)):
        raise DomainError(Err.ERR_UNAUTHORIZED_REQUEST, "MO bağlantı anahtarı hatalı.")


def _fields() -> Params:
    """The request's fields: query, then a JSON object or a form in the body."""
    fields: dict[str, Any] = {k: v for k, v in request.args.items() if k != "token"}
    raw = request.get_data(cache=True)
    if raw.strip():
        body = request.get_json(force=True, silent=True) if _looks_json(raw) else None
        if body is None and _looks_json(raw):
            raise DomainError(Err.ERR_BAD_REQUEST, "Gövde geçerli bir JSON değil.")
        if isinstance(body, dict):
            fields.update(body)
        elif body is not None:
            raise DomainError(Err.ERR_BAD_REQUEST, "Gövde bir JSON nesnesi olmalı.")
        else:
            fields.update(request.form.items())
    return Params(fields)


def _looks_json(raw: bytes) -> bool:
    return raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[", b'"')


def _message(platform: Platform, link: str, params: Params) -> InboundMessage:
    """The InboundMessage a push describes; ERR_INVALID_PARAM naming a missing or wrong
    field."""
    values = {name: _field(params, name) for name in ("id", "from", "to", "text")}
    date = _first(params, "date")
    local = params.date(date) if date else None
    at = platform.local.to_utc(local) if local else platform.clock.now()
    return InboundMessage(
        source=values["from"],
        destination=values["to"],
        text=values["text"],
        received_at=at,
        link=link,
        carrier_ref=values["id"],
    )


def _first(params: Params, name: str) -> str | None:
    """The first of a field's names the request carries."""
    return next((key for key in FIELDS[name] if params.given(key)), None)


def _field(params: Params, name: str) -> str:
    key = _first(params, name)
    value = params.str(key) if key else None
    if not value:
        raise invalid(name, "zorunlu")
    if len(value) > _LIMITS[name]:
        raise invalid(name, f"en fazla {_LIMITS[name]} karakter")
    return value
