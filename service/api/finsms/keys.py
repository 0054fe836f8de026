"""Users manage their own API keys: /api/v1/keys/{create,list,revoke,rotate}, Basic Auth.

Outside the Node API's namespace on purpose: the Node API is a vendor's published
contract (v1.8.3) whose clients are generated from its WSDL; API keys exist only for the
FinSMS facade, so they live under its prefix and speak its style ({"Status": "OK"}).
The secret is in the answer of create and rotate only.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from service.api.basic_auth import basic_credentials
from service.api.finsms.requests import Body, json_response
from service.domain.apikeys import ApiKey
from service.domain.errors import DomainError, Err
from service.services import apikeys
from service.services.platform import Platform


def key_view(key: ApiKey, platform: Platform) -> dict[str, Any]:
    """A key as shown to its owner and operators: never a secret or a hash."""
    return {
        "Key": key.key,
        "User": key.username,
        "Label": key.label,
        "AllowedIPs": list(key.allowed_ips),
        "CreatedAt": platform.local.format(key.created_at),
        "RevokedAt": platform.local.format(key.revoked_at),
        "RotatedAt": platform.local.format(key.rotated_at),
        "PreviousSecretValidUntil": platform.local.format(key.previous_until)
        if key.previous_valid(platform.clock.now())
        else None,
        "LastUsedAt": platform.local.format(key.last_used_at),
        "LastUsedIP": key.last_used_ip,
    }


def make_keys_blueprint(platform: Platform) -> Blueprint:
    """The blueprint of /api/v1/keys for this platform."""
    bp = Blueprint("finsms_v1_keys", __name__)

    @bp.route("/api/v1/keys/<action>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def call(action: str) -> Response:
        try:
            if action not in ("create", "list", "revoke", "rotate"):
                raise DomainError(Err.ERR_NOT_FOUND, request.path)
            if request.method != "POST" and not (action == "list" and request.method == "GET"):
                raise DomainError(Err.ERR_METHOD_NOT_ALLOWED)
            username, password = basic_credentials(request.headers.get("Authorization"))
            principal = platform.authenticate(username, password, request.remote_addr)
            return json_response(_act(platform, principal.username, principal.user_id, action), 200)
        except DomainError as error:
            return _error(error)

    return bp


def _act(platform: Platform, username: str, user_id: int, action: str) -> dict[str, Any]:
    body = Body(_body())
    if action == "list":
        keys = apikeys.list_keys(platform, username)
        return {"Status": "OK", "Keys": [key_view(k, platform) for k in keys]}
    if action == "create":
        label, allowed = body.get("Label"), body.get("AllowedIPs") or []
        if label is not None and not isinstance(label, str):
            raise DomainError(Err.ERR_INVALID_PARAM, "Label: metin olmalı", field="Label")
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise DomainError(
                Err.ERR_INVALID_PARAM, "AllowedIPs: metin listesi", field="AllowedIPs"
            )
        issued = apikeys.create_key(platform, username, label, allowed)
        return {"Status": "OK", **key_view(issued.key, platform), "Secret": issued.secret}
    key = body.get("Key")
    if not isinstance(key, str):
        raise DomainError(Err.ERR_INVALID_PARAM, "Key: zorunlu", field="Key")
    if action == "revoke":
        return {"Status": "OK", **key_view(apikeys.revoke_key(platform, key, user_id), platform)}
    issued = apikeys.rotate_key(platform, key, user_id)
    return {"Status": "OK", **key_view(issued.key, platform), "Secret": issued.secret}


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde geçerli bir JSON değil.") from None
    if not isinstance(body, dict):
        raise DomainError(Err.ERR_BAD_REQUEST, "Gövde bir JSON nesnesi olmalı.")
    return body


def _error(error: DomainError) -> Response:
    response = json_response(
        {"Status": "Error", "Error": error.message, "Code": error.err.name}, error.err.status
    )
    if error.err == Err.ERR_UNAUTHORIZED_REQUEST:
        response.headers["WWW-Authenticate"] = 'Basic realm="FinSMS", charset="UTF-8"'
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
