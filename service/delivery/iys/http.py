"""The HTTP client of İYS's consent API (https://api.iys.org.tr).

- Token: POST /oauth2/token, form grant_type=password, username, password → access_token
  and expires_in; kept until a minute before it expires, fetched again after a 401.
- Add: POST /sps/{iysCode}/brands/{brandCode}/consents, one consent as JSON:
  recipient "+905…", recipientType BIREYSEL/TACIR, source HS_…, status ONAY/RET,
  type MESAJ, consentDate "YYYY-MM-DD HH:mm:ss" in Turkish time; 200 with transactionId.
- Status: POST /sps/{iysCode}/brands/{brandCode}/consents/status with recipient, type
  and recipientType → {status}; 404 when İYS holds none.
A 5xx, a 429, a timeout or a dropped connection is retried (tenacity, exponential
backoff, `attempts` tries); another 4xx is İYS refusing the consent: recorded as REJECTED
with İYS's error code and message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from service.domain.constants import IysRecipientType, IysSource, IysState
from service.domain.iys import Brand, Consent, SyncResult

_RECIPIENT_TYPES = {IysRecipientType.INDIVIDUAL: "BIREYSEL", IysRecipientType.MERCHANT: "TACIR"}
_TOKEN_MARGIN = 60.0  # seconds before expiry a token is renewed


class TransientError(RuntimeError):
    """İYS answered in a way worth trying again (5xx, 429, 401 with a stale token)."""


class HttpIysClient:
    """İYS's consent API over HTTPS, with an OAuth2 password token."""

    name = "http"

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timezone: str = "Europe/Istanbul",
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._credentials = {"grant_type": "password", "username": username, "password": password}
        self._zone = ZoneInfo(timezone)
        self._attempts = attempts
        self._backoff = backoff
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def add_consents(self, brand: Brand, consents: Sequence[Consent]) -> list[SyncResult]:
        """Add each consent; a consent whose call kept failing is to be tried again, and
        so are the rest of the batch, untried: İYS is down, and waiting out every one's
        retries and timeouts would hold the dispatcher's housekeeping for minutes."""
        results: list[SyncResult] = []
        for c in consents:
            result = self._add(brand, c)
            results.append(result)
            if result.state == IysState.WAITING_SYNC:
                skipped = f"denenmedi: {result.error}"
                results.extend(
                    SyncResult(o.recipient, IysState.WAITING_SYNC, skipped)
                    for o in consents[len(results) :]
                )
                break
        return results

    def consent_status(self, brand: Brand, recipient: str, type_: str) -> str | None:
        """The status İYS holds for a recipient (ONAY/RET), None when it holds none."""
        body = {"recipient": f"+{recipient}", "type": type_, "recipientType": "BIREYSEL"}
        response = self._call("POST", f"{_path(brand)}/consents/status", body)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        status = response.json().get("status")
        return str(status) if status else None

    def _add(self, brand: Brand, c: Consent) -> SyncResult:
        try:
            response = self._call("POST", f"{_path(brand)}/consents", self._payload(c))
        except (TransientError, httpx.TransportError) as error:
            return SyncResult(c.recipient, IysState.WAITING_SYNC, f"İYS: {error}")
        if response.is_success:
            reference = _json(response).get("transactionId")
            return SyncResult(c.recipient, IysState.ACCEPTED, reference=_text(reference))
        return SyncResult(c.recipient, IysState.REJECTED, _errors(response))

    def _payload(self, c: Consent) -> dict[str, Any]:
        local = c.consent_date.replace(tzinfo=UTC).astimezone(self._zone)
        body: dict[str, Any] = {
            "recipient": f"+{c.recipient}",
            "recipientType": _RECIPIENT_TYPES[IysRecipientType(c.recipient_type)],
            "source": IysSource(c.source).name,
            "status": c.status,
            "type": c.type,
            "consentDate": f"{local:%Y-%m-%d %H:%M:%S}",
        }
        return body

    def _call(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """One request with a valid token, retried on transient failures."""
        retrying = Retrying(
            retry=retry_if_exception_type((TransientError, httpx.TransportError)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=10),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._once(method, path, body)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _once(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        response = self._http.request(method, path, json=body, headers=headers)
        if response.status_code == 401:
            self._token = None  # expired or revoked early: a fresh one on the next try
            raise TransientError("401 Unauthorized")
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"{response.status_code} {response.reason_phrase}")
        return response

    def _access_token(self) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            response = self._http.post("/oauth2/token", data=self._credentials)
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(f"token: {response.status_code}")
            if not response.is_success:
                raise TransientError(f"token refused: {response.status_code} {_errors(response)}")
            data = _json(response)
            lifetime = float(data.get("expires_in") or 3600)
            expires = time.monotonic() + max(lifetime - _TOKEN_MARGIN, 1.0)
            self._token = (str(data["access_token"]), expires)
            return self._token[0]


def _path(brand: Brand) -> str:
    return f"/sps/{brand.iys_code}/brands/{brand.brand_code}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _errors(response: httpx.Response) -> str:
    """İYS's error codes and messages ({"errors": [{"code", "message"}]}), or the status."""
    errors = _json(response).get("errors")
    if isinstance(errors, list) and errors:
        parts = [f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
        if parts:
            return "; ".join(parts)
    return f"HTTP {response.status_code}"


__all__ = ["HttpIysClient", "TransientError"]
