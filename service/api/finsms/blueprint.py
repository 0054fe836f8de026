"""The FinSMS v1 facade over HTTP: /api/v1/sms/{send,send-advanced,send-multi,report}.

Every request: JSON body → rate limit of its key → key and secret → the facade's service
→ the documented body. Errors are {"MessageId": 0, "Status": "Error", "Error": …} on
sends and {"Status": "Error", "Error": …, "Report": []} on reports, with the documented
statuses: 400 for every bad request, 401, 404, 429 (with Retry-After), 500. Each request
is written to the audit log; a successful send's entry in the package's own transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from service.api.finsms.requests import Body, json_response, multi_request, send_request
from service.domain import facade as words
from service.domain.apikeys import NewAudit, is_key
from service.domain.errors import DomainError, Err
from service.services import apikeys, facade
from service.services.apikeys import KeyCaller, KeyVerifier, RateLimiter
from service.services.platform import Platform
from service.services.ports import Tx

log = logging.getLogger("finsms.facade")

# Statuses the documentation lists; any other 4xx of the domain is a bad request (400).
_KEPT_STATUSES = frozenset({400, 401, 404, 413, 429})
_MESSAGES = {Err.ERR_SMS_PKG_NOT_FOUND: "SMS mesajı bulunamadı"}


class _Request:
    """One facade request: its caller once known, and whether its audit entry is written."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.caller: KeyCaller | None = None
        self.key: str | None = None
        self.logged = False


Handler = Callable[[Platform, KeyCaller, Body, Callable[[Tx], None]], dict[str, Any]]


def _send(
    platform: Platform, caller: KeyCaller, body: Body, also: Callable[[Tx], None]
) -> dict[str, Any]:
    package_id = facade.send(platform, caller.principal, send_request(body, advanced=False), also)
    return {"MessageId": str(package_id), "Status": "OK"}


def _send_advanced(
    platform: Platform, caller: KeyCaller, body: Body, also: Callable[[Tx], None]
) -> dict[str, Any]:
    package_id = facade.send(platform, caller.principal, send_request(body, advanced=True), also)
    return {"MessageId": str(package_id), "Status": "OK"}


def _send_multi(
    platform: Platform, caller: KeyCaller, body: Body, also: Callable[[Tx], None]
) -> dict[str, Any]:
    req, failed = multi_request(body)
    message_id = str(facade.send(platform, caller.principal, req, also))
    if len(req.recipients) == 1 and not failed:
        return {"MessageId": message_id, "Status": "OK"}
    # One request is one package, charged as a whole: its one id reports every message.
    return {
        "MessageIds": [message_id],
        "Status": "OK",
        "SuccessCount": len(req.recipients),
        "FailedCount": failed,
    }


def _report(
    platform: Platform, caller: KeyCaller, body: Body, _also: Callable[[Tx], None]
) -> dict[str, Any]:
    message_id = body.get("MessageId")
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id.strip():
        raise DomainError(Err.ERR_INVALID_PARAM, "MessageId: zorunlu", field="MessageId")
    items = facade.report(platform, caller.principal, message_id.strip())
    return {
        "Status": "OK",
        "Report": [
            {
                "GSM": i.target,
                "State": words.report_state(i.state),
                "Network": words.network(i.target, i.operator),
            }
            for i in items
        ],
    }


ENDPOINTS: dict[str, Handler] = {
    "send": _send,
    "send-advanced": _send_advanced,
    "send-multi": _send_multi,
    "report": _report,
}


def make_facade_blueprint(platform: Platform) -> Blueprint:
    """The blueprint of /api/v1/sms for this platform."""
    bp = Blueprint("finsms_v1", __name__)
    verifier = KeyVerifier(platform)
    limiter = RateLimiter(platform.limit_storage, platform.settings.facade_rate_limit)

    @bp.route("/api/v1/sms/<endpoint>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def call(endpoint: str) -> Response:
        name = endpoint.lower()
        state = _Request(name if name in ENDPOINTS else "unknown")
        try:
            response = _serve(platform, verifier, limiter, state)
        except DomainError as error:
            response = _error(state.endpoint, error)
        except Exception:
            log.exception("facade request failed")
            response = _error(state.endpoint, DomainError(Err.ERR_INTERNAL_SERVER))
        _audit(platform, verifier, state, response.status_code)
        return response

    return bp


def _serve(
    platform: Platform, verifier: KeyVerifier, limiter: RateLimiter, state: _Request
) -> Response:
    handler = ENDPOINTS.get(state.endpoint)
    if handler is None:
        raise DomainError(Err.ERR_NOT_FOUND, request.path)
    if request.method != "POST":
        raise DomainError(Err.ERR_METHOD_NOT_ALLOWED)
    body = Body(_json_body())
    user = body.get("User")
    state.key = user if is_key(user) else None
    # Counted per key before the secret is checked: a flood of wrong secrets is limited
    # too, and costs no Argon2 hash beyond the limit. Bodies without a key count per address.
    limiter.hit(state.key or f"address:{request.remote_addr}")
    state.caller = caller = verifier.verify(user, body.get("Pass"), request.remote_addr)

    written: list[bool] = []

    def also(tx: Tx) -> None:
        apikeys.record(tx, verifier, _entry(platform, state, 200))
        written.append(True)

    response = json_response(handler(platform, caller, body, also), 200)
    state.logged = bool(written)  # only once the package's transaction committed
    return response


def _json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde boş.")
    try:
        body = json.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde geçerli bir JSON değil.") from None
    if not isinstance(body, dict):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde bir JSON nesnesi olmalı.")
    return body


def _error(endpoint: str, error: DomainError) -> Response:
    status = error.err.status
    if status >= 500:
        status = 500
    elif status not in _KEPT_STATUSES and status != 405:
        status = 400
    message = _MESSAGES.get(error.err, error.message)
    if endpoint == "report":
        body: dict[str, Any] = {"Status": "Error", "Error": message, "Report": []}
    else:
        body = {"MessageId": 0, "Status": "Error", "Error": message}
    response = json_response(body, status)
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    if status == 405:
        response.headers["Allow"] = "POST"
    return response


def _entry(platform: Platform, state: _Request, status: int) -> NewAudit:
    caller = state.caller
    return NewAudit(
        key_id=caller.key_id if caller else None,
        key=caller.key if caller else state.key,
        endpoint=state.endpoint,
        status=status,
        at=platform.clock.now(),
        address=(request.remote_addr or "")[:64] or None,
    )


def _audit(platform: Platform, verifier: KeyVerifier, state: _Request, status: int) -> None:
    if state.logged:
        return
    try:
        apikeys.record_alone(platform, verifier, _entry(platform, state, status))
    except Exception:
        # The answer is given already: a failed audit write is logged, never a 500.
        log.exception("facade audit entry not written")
