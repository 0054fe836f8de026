"""The HTTP client of İYS's consent API against a fake İYS served on loopback by the test:
the OAuth2 password token, adding consents, querying a status, a 5xx retried, a 4xx
recorded as İYS's refusal, a revoked token fetched again, and the sync pass through it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from service.delivery.iys.http import HttpIysClient
from service.domain.constants import IysRecipientType, IysSource, IysState
from service.domain.iys import Brand, Consent, ConsentStatus
from service.services import iys
from tests.conftest import SqlPlatform, add_customer

BRAND = Brand("1234", "5678")
PATH = "/sps/1234/brands/5678"
T0 = datetime(2026, 5, 4, 9, 0)  # 12:00 in Istanbul


class FakeIys:
    """İYS's consent API as far as FinSMS uses it, checking what it is sent."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.registered: dict[str, dict[str, Any]] = {}
        self.added: list[dict[str, Any]] = []
        self.failures: dict[str, int] = {}  # recipient -> 503s still to answer
        self.errors: list[str] = []  # what the fake refused as malformed

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        wanted = {"grant_type": ["password"], "username": ["finsms"], "password": ["s3cret"]}
        if form != wanted:
            return 401, {"errors": [{"code": "H001", "message": "bad credentials"}]}
        token = f"tok-{self.token_requests}"
        self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 7200, "token_type": "bearer"}

    def add(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        expected = {"recipient", "recipientType", "source", "status", "type", "consentDate"}
        if set(body) != expected or not body["recipient"].startswith("+90"):
            self.errors.append(f"malformed {body}")
            return 400, {"errors": [{"code": "H000", "message": "malformed"}]}
        left = self.failures.get(body["recipient"], 0)
        if left:
            self.failures[body["recipient"]] = left - 1
            return 503, {}
        if body["recipient"].endswith("400"):
            return 422, {"errors": [{"code": "H174", "message": "Alıcı geçersiz."}]}
        self.added.append(body)
        self.registered[body["recipient"]] = body
        return 200, {"transactionId": f"tx-{len(self.added)}", "creationDate": "2026-05-04"}

    def status(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = self.registered.get(body.get("recipient", ""))
        if found is None or body.get("type") != "MESAJ":
            return 404, {"errors": [{"code": "H052", "message": "izin bulunamadı"}]}
        return 200, {"recipient": found["recipient"], "status": found["status"]}


@pytest.fixture
def fake() -> Iterator[tuple[FakeIys, str]]:
    state = FakeIys()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.path == "/oauth2/token":
                status, body = state.token(parse_qs(raw))
            elif self.headers.get("Authorization", "").removeprefix("Bearer ") not in state.tokens:
                status, body = 401, {"errors": [{"code": "H002", "message": "token"}]}
            elif self.path == f"{PATH}/consents":
                status, body = state.add(json.loads(raw))
            elif self.path == f"{PATH}/consents/status":
                status, body = state.status(json.loads(raw))
            else:
                status, body = 404, {}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client(fake: tuple[FakeIys, str]) -> Iterator[HttpIysClient]:
    made = HttpIysClient(fake[1], "finsms", "s3cret", timeout=5, attempts=3, backoff=0.01)
    yield made
    made.close()


def consent(recipient: str, status: str = "ONAY", n: int = 1) -> Consent:
    return Consent(
        id=n,
        user_id=1,
        recipient=recipient,
        type="MESAJ",
        recipient_type=int(IysRecipientType.INDIVIDUAL),
        source=int(IysSource.HS_WEB),
        status=status,
        consent_date=T0,
        exit_type=None,
        iys_state=0,
        attempts=0,
        next_sync_at=None,
        last_sync_at=None,
        last_error=None,
        created_at=T0,
        updated_at=T0,
    )


def test_consents_are_added_with_one_token_and_their_status_read_back(
    fake: tuple[FakeIys, str], client: HttpIysClient
) -> None:
    state, _ = fake
    results = client.add_consents(BRAND, [consent("905321111101"), consent("905321111102", "RET")])
    assert [(r.state, r.reference) for r in results] == [
        (IysState.ACCEPTED, "tx-1"),
        (IysState.ACCEPTED, "tx-2"),
    ]
    assert state.token_requests == 1 and not state.errors
    assert state.added[0] == {
        "recipient": "+905321111101",
        "recipientType": "BIREYSEL",
        "source": "HS_WEB",
        "status": "ONAY",
        "type": "MESAJ",
        "consentDate": "2026-05-04 12:00:00",  # Turkish time, as İYS reads it
    }
    assert client.consent_status(BRAND, "905321111102", "MESAJ") == "RET"
    assert client.consent_status(BRAND, "905321111199", "MESAJ") is None


def test_a_5xx_is_retried_and_a_4xx_is_recorded_as_the_refusal(
    fake: tuple[FakeIys, str], client: HttpIysClient
) -> None:
    state, _ = fake
    state.failures["+905321111101"] = 2  # two 503s, then accepted (3 attempts)
    state.failures["+905321111102"] = 5  # more than the attempts: tried again later
    batch = ["905321111101", "905321111400", "905321111102", "905321111103"]
    accepted, refused, later, untried = client.add_consents(BRAND, [consent(n) for n in batch])
    assert accepted.state == IysState.ACCEPTED
    assert refused.state == IysState.REJECTED and refused.error == "H174: Alıcı geçersiz."
    assert later.state == IysState.WAITING_SYNC and "503" in (later.error or "")
    # İYS is down: the rest of the batch waits for the next pass instead of timing out
    assert untried.state == IysState.WAITING_SYNC and "+905321111103" not in state.registered
    assert state.failures["+905321111102"] == 2  # three attempts, no more


def test_a_revoked_token_is_fetched_again(fake: tuple[FakeIys, str], client: HttpIysClient) -> None:
    state, _ = fake
    client.add_consents(BRAND, [consent("905321111101")])
    state.tokens.clear()  # İYS revoked it before it expired
    (again,) = client.add_consents(BRAND, [consent("905321111102")])
    assert again.state == IysState.ACCEPTED and state.token_requests == 2


def test_wrong_credentials_leave_consents_waiting(fake: tuple[FakeIys, str]) -> None:
    wrong = HttpIysClient(fake[1], "finsms", "nope", attempts=2, backoff=0.01)
    (result,) = wrong.add_consents(BRAND, [consent("905321111101")])
    wrong.close()
    assert result.state == IysState.WAITING_SYNC and "H001" in (result.error or "")


def test_an_unreachable_iys_leaves_consents_waiting() -> None:
    dead = HttpIysClient("http://127.0.0.1:9", "u", "p", timeout=0.5, attempts=2, backoff=0.01)
    (result,) = dead.add_consents(BRAND, [consent("905321111101")])
    dead.close()
    assert result.state == IysState.WAITING_SYNC and result.error


def test_the_sync_pass_through_the_http_client(
    fake: tuple[FakeIys, str], client: HttpIysClient, platform: SqlPlatform
) -> None:
    add_customer(platform)
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    for number in ("905321111101", "905321111400"):
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    done = iys.sync_consents(platform, client, "w1")
    assert (done.accepted, done.rejected) == (1, 1)
    states = {c.recipient: (c.iys_state, c.last_error) for c in iys.consents(platform, "acme")}
    assert states == {
        "905321111101": (IysState.ACCEPTED, None),
        "905321111400": (IysState.REJECTED, "H174: Alıcı geçersiz."),
    }
