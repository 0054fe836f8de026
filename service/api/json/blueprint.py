"""The Node API over JSON: Basic Auth, parse the body, call the service, wrap the envelope.

Every function of service.api.node.registry is served at `/<group>/<function>`. Bodies
may be empty, the JSON literal "", an empty list (PHP's empty array) or an object; GET
functions also read the query string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, request

from service.api.basic_auth import basic_credentials
from service.api.node.params import INT_DIGITS, Params
from service.api.node.registry import BY_PATH
from service.domain.errors import DomainError, Err
from service.domain.principal import Principal
from service.services.platform import Platform

# Longer integer literals (sign and zeros included) reach the handlers as text.
MAX_INT_LITERAL = 4 * INT_DIGITS


def envelope(data: Any = None, error: DomainError | None = None) -> Response:
    """The Node API envelope; on error `data` is null and the HTTP status is err.status."""
    if error is None:
        body, status = {"err": None, "data": data}, 200
    else:
        body, status = {"err": error.as_wire(), "data": None}, error.err.status
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )
    if error is not None:
        _error_headers(response, error)
    return response


def _error_headers(response: Response, error: DomainError) -> None:
    if error.err == Err.ERR_UNAUTHORIZED_REQUEST:
        response.headers["WWW-Authenticate"] = 'Basic realm="FinSMS", charset="UTF-8"'
    if error.err == Err.ERR_REQUEST_TOO_LARGE:
        # The rest of the body is still on the connection: it must not be read as the
        # next request.
        response.headers["Connection"] = "close"
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)


def method_not_allowed(allowed: Iterable[str]) -> Response:
    """405 in the envelope, with the Allow header HTTP requires."""
    response = envelope(error=DomainError(Err.ERR_METHOD_NOT_ALLOWED))
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def make_blueprint(platform: Platform) -> Blueprint:
    """The blueprint serving every Node API function for this platform."""
    bp = Blueprint("node_api", __name__)

    # Every method reaches the handler, which answers 405 naming the function's own.
    @bp.route("/<group>/<function>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def call(group: str, function: str) -> Response:
        path = f"{group}/{function}".lower()
        op = BY_PATH.get(path)
        try:
            if op is None:
                raise DomainError(Err.ERR_NOT_FOUND, f"/{path}")
            if request.method not in op.methods:
                return method_not_allowed(op.methods)
            principal = _authenticate(platform)
            return envelope(op(platform, principal, _params()))
        except DomainError as error:
            return envelope(error=error)

    return bp


def _authenticate(platform: Platform) -> Principal:
    username, password = basic_credentials(request.headers.get("Authorization"))
    return platform.authenticate(username, password, request.remote_addr)


def _params() -> Params:
    # A repeated query parameter (?ids=1&ids=2) is a list.
    fields: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in request.args.lists()}
    raw = _body()
    # A UTF-8 byte-order mark (Windows editors, some .NET clients) is not part of the body.
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if start in (b"{", b"[", b'"') or raw.strip() == b"null" or request.is_json:
        # Clients send JSON bodies under any Content-Type (curl -d says form-urlencoded).
        fields.update(_json_body(raw))
    elif raw.strip():
        fields.update(request.form.items())
    return Params(fields)


def _body() -> bytes:
    """The request body whole, or ERR_REQUEST_TOO_LARGE: never the first part of it."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    # A body with a Content-Length over the limit was refused before it was read. One sent
    # chunked (no length; the server set wsgi.input_terminated) is read up to the limit,
    # where werkzeug stops without a word: one byte more in the server's stream means it
    # was cut, and a cut body must not be taken for the request.
    unsized = request.content_length is None and limit is not None
    if unsized and len(raw) >= (limit or 0) and request.environ["wsgi.input"].read(1):
        raise DomainError(Err.ERR_REQUEST_TOO_LARGE)
    return raw


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = _loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde geçerli bir JSON değil.") from None
    # PHP's json_encode([]) is "[]": Guzzle's `json => []` sends it for "no parameters".
    if body is None or body == "" or body == []:
        return {}
    if not isinstance(body, dict):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde bir JSON nesnesi olmalı.")
    return body


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        # A number literal of more than 4,300 digits is valid JSON that int() refuses; read
        # again with such numbers as their digits, so that the field they were sent in is
        # named (no field holds them). Not the first time: a parse_int hook costs the
        # decoder its fast path, on packages of 100,000 numbers too.
        return json.loads(raw, parse_int=_int_or_digits)


def _int_or_digits(text: str) -> int | str:
    return text if len(text) > MAX_INT_LITERAL else int(text)
