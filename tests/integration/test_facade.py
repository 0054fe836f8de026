"""The FinSMS v1 facade through the WSGI app on SQLite and PostgreSQL: keys, sends,
credit, reports, refunds, errors, rotation, revocation and the audit log."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.app import create_app
from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain.constants import Encoding
from service.services import apikeys, delivery, users
from service.services.clock import FixedClock
from service.store.schema import api_key_audit, api_keys, items, packages
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import balance, call, count, ledger_sum, principal
from tests.integration.test_fuzz_json_api import _dumps, _names, _values

AUTH = {"Authorization": "Basic " + base64.b64encode(b"acme:s3cret-pass").decode()}
RULES = {"01": "delivered", "02": "undelivered", "03": "rejected", "04": "silent"}


class Facade:
    """A facade client over the Flask test client, with one key."""

    def __init__(self, client: FlaskClient, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def post(self, endpoint: str, **fields: Any) -> tuple[int, Any]:
        """POST the fields with this key; status and JSON body."""
        body = {"User": self.key, "Pass": self.secret, **fields}
        response = self.client.post(f"/api/v1/sms/{endpoint}", json=body)
        return response.status_code, response.get_json()

    def send(self, message: str = "Merhaba", numbers: list[Any] | None = None) -> str:
        """Send and return the MessageId, failing the test on an error."""
        status, body = self.post("send", Message=message, Numbers=numbers or ["905321111101"])
        assert status == 200 and body["Status"] == "OK", body
        assert isinstance(body["MessageId"], str) and body["MessageId"].isdigit()
        return str(body["MessageId"])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 0))


@pytest.fixture
def platform(db: Database, clock: FixedClock) -> Iterator[SqlPlatform]:
    p = make_platform(db, clock=clock)
    add_customer(p, balance=100)
    yield p
    p.store.dispose()


@pytest.fixture
def client(platform: SqlPlatform) -> FlaskClient:
    return create_app(platform=platform).flask.test_client()  # type: ignore[no-any-return]


@pytest.fixture
def api(platform: SqlPlatform, client: FlaskClient) -> Facade:
    issued = apikeys.create_key(platform, "acme", "test")
    return Facade(client, issued.key.key, issued.secret)


def credit_of(api: Facade, platform: SqlPlatform, message: str, n: int = 1) -> int:
    before = balance(platform)
    api.send(message, [f"90532111110{i}" for i in range(1, n + 1)])
    return before - balance(platform)


def test_a_send_is_a_package_of_the_user_listed_by_the_node_api(
    api: Facade, platform: SqlPlatform
) -> None:
    message_id = api.send("Merhaba", ["905321111101", "05321111102", "5321111103"])
    listed = call(platform, principal(platform), "sms/list")["list"]
    assert [p["id"] for p in listed] == [int(message_id)]
    with platform.store.read() as conn:
        row = conn.execute(select(packages).where(packages.c.id == int(message_id))).one()
        targets = conn.execute(select(items.c.target).where(items.c.package_id == row.id))
        assert row.source == "finsms" and row.sender == "ACME"
        assert sorted(t for (t,) in targets) == ["905321111101", "905321111102", "905321111103"]
    assert balance(platform) == 97


@pytest.mark.parametrize(
    ("length", "credits"), [(1, 1), (180, 1), (181, 2), (360, 2), (361, 3), (540, 3)]
)
def test_one_credit_per_started_180_characters_per_recipient(
    api: Facade, platform: SqlPlatform, length: int, credits: int
) -> None:
    assert credit_of(api, platform, "a" * length, n=2) == 2 * credits


@pytest.mark.parametrize("char", ["ş", "İ", "😀"])
def test_turkish_letters_and_emoji_count_as_one_character_each(
    api: Facade, platform: SqlPlatform, char: str
) -> None:
    assert credit_of(api, platform, char * 180) == 1
    assert credit_of(api, platform, char * 181) == 2


def test_insufficient_credit_is_400_and_nothing_is_sent_or_charged(
    api: Facade, platform: SqlPlatform
) -> None:
    status, body = api.post(
        "send",
        Message="a" * 181,
        Numbers=["905321111101"] * 1 + [f"9053211111{i:02d}" for i in range(10, 60)],
    )
    assert status == 400
    assert body["Status"] == "Error" and body["MessageId"] == 0 and "kredi" in body["Error"]
    assert balance(platform) == 100 and count(platform, packages) == 0
    assert count(platform, items) == 0


def test_unlimited_users_pay_nothing(platform: SqlPlatform, client: FlaskClient) -> None:
    add_customer(platform, "admin", balance=0, unlimited=True)
    issued = apikeys.create_key(platform, "admin")
    admin = Facade(client, issued.key.key, issued.secret)
    admin.send("a" * 500, ["905321111101", "905321111102"])
    assert balance(platform, "admin") == 0


def test_coding_turkish_keeps_turkish_letters_and_default_transliterates(
    api: Facade, platform: SqlPlatform
) -> None:
    fields = dict(Message="Şişli'de ığdır", Numbers=["905321111101"], From="ACME")
    _, turkish = api.post("send-advanced", Coding="turkish", **fields)
    _, default = api.post("send-advanced", **fields)
    with platform.store.read() as conn:
        rows = dict(conn.execute(select(items.c.package_id, items.c.encoding)).all())
    assert rows[int(turkish["MessageId"])] == Encoding.TURKISH
    assert rows[int(default["MessageId"])] == Encoding.DEFAULT


def test_send_advanced_schedules_and_checks_its_options(api: Facade, platform: SqlPlatform) -> None:
    status, body = api.post(
        "send-advanced", Message="x", Numbers=["905321111101"], From="ACME",
        StartDate="2026-03-03T09:00:00", ValidityPeriod=120,
    )  # fmt: skip
    assert status == 200, body
    with platform.store.read() as conn:
        row = conn.execute(select(packages).where(packages.c.id == int(body["MessageId"]))).one()
    assert row.is_scheduled and row.validity == 120
    assert row.sending_date == datetime(2026, 3, 3, 6, 0)  # Istanbul is UTC+3
    for bad in (
        {"Coding": "klingon"},
        {"ValidityPeriod": 5},
        {"ValidityPeriod": "soon"},
        {"StartDate": "tomorrow"},
        {"From": "A" * 12},
        {"From": "UNAPPROVED"},
    ):
        status, body = api.post("send-advanced", Message="x", Numbers=["905321111101"], **bad)
        assert status == 400 and body == {"MessageId": 0, "Status": "Error", "Error": body["Error"]}
    assert count(platform, packages) == 1


def test_send_multi_sends_the_valid_messages_and_counts_the_others(
    api: Facade, platform: SqlPlatform
) -> None:
    status, body = api.post(
        "send-multi",
        Messages=[
            {"Message": "bir", "GSM": "905321111101"},
            {"Message": "iki", "GSM": "05441234567"},
            {"Message": "üç", "GSM": "12345"},
            {"GSM": "905321111103"},
            "junk",
        ],
    )
    assert status == 200
    assert body["Status"] == "OK" and body["SuccessCount"] == 2 and body["FailedCount"] == 3
    (message_id,) = body["MessageIds"]
    with platform.store.read() as conn:
        sent = conn.execute(select(items.c.target, items.c.msg).order_by(items.c.id)).all()
    assert [tuple(r) for r in sent] == [("905321111101", "bir"), ("905441234567", "iki")]
    _, one = api.post("send-multi", Messages=[{"Message": "tek", "GSM": "905321111101"}])
    assert set(one) == {"MessageId", "Status"}
    status, none = api.post("send-multi", Messages=[{"Message": "x", "GSM": "1"}])
    assert status == 400 and none["Status"] == "Error"
    assert int(message_id) in {
        p["id"] for p in call(platform, principal(platform), "sms/list")["list"]
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"Numbers": []},
        {"Numbers": ["905321111101", "123"]},
        {"Numbers": None},
        {"Message": ""},
        {"Message": 42},
        {"Message": "a\x00b"},
    ],
)
def test_bad_sends_are_400_and_change_nothing(
    api: Facade, platform: SqlPlatform, fields: dict[str, Any]
) -> None:
    status, body = api.post("send", **{"Message": "x", "Numbers": ["905321111101"], **fields})
    assert status == 400 and body["Status"] == "Error" and body["MessageId"] == 0
    assert count(platform, packages) == 0 and balance(platform) == 100


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b'"x"', b"\xff\xfe"])
def test_bodies_that_are_not_json_objects_are_400(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/api/v1/sms/send", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["Status"] == "Error"


def test_wrong_unknown_or_missing_credentials_are_401(api: Facade, client: FlaskClient) -> None:
    for user, secret in [
        (api.key, "wrong"),
        ("fk_" + "0" * 32, api.secret),
        ("not-a-key", api.secret),
        (api.key, None),
        (None, None),
        (api.key, "a\x00"),
    ]:
        response = client.post("/api/v1/sms/send", json={
            "User": user, "Pass": secret, "Message": "x", "Numbers": ["905321111101"]
        })  # fmt: skip
        assert response.status_code == 401
        assert response.get_json()["Status"] == "Error"


def test_unknown_endpoints_and_methods(client: FlaskClient) -> None:
    assert client.post("/api/v1/sms/nope", json={}).status_code == 404
    response = client.get("/api/v1/sms/send")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"


def test_an_unexpected_failure_is_a_500_in_the_documented_body(
    api: Facade, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("service.services.facade.report", boom)
    status, body = api.post("report", MessageId="1")
    assert status == 500 and body == {"Status": "Error", "Error": body["Error"], "Report": []}
    assert "fire" not in body["Error"]


def test_report_maps_item_states_and_networks(
    api: Facade, platform: SqlPlatform, clock: FixedClock
) -> None:
    numbers = ["905321111101", "905441111102", "905051111103", "905321111104", "905338111105"]
    message_id = api.send("Rapor", numbers)
    status, body = api.post("report", MessageId=message_id)
    assert status == 200 and {r["State"] for r in body["Report"]} == {"Rapor Bekliyor"}
    dispatcher = Dispatcher(platform, SimulatorCarrier(clock, RULES, 5), owner="t")
    dispatcher.run_once()
    clock.advance(seconds=5)
    dispatcher.run_once()
    clock.advance(minutes=1140 + 61)
    dispatcher.run_once()
    _, body = api.post("report", MessageId=int(message_id))
    assert body["Status"] == "OK"
    assert {r["GSM"]: (r["State"], r["Network"]) for r in body["Report"]} == {
        "905321111101": ("İletildi", "Turkcell"),
        "905441111102": ("İletilmedi", "Vodafone"),  # undelivered
        "905051111103": ("İletilmedi", "TTMobile"),  # rejected
        "905321111104": ("Zaman Aşımı", "Turkcell"),  # silent: timed out
        "905338111105": ("İletildi", "KKTCell"),
    }


def test_another_users_message_is_404_like_an_unknown_one(
    api: Facade, platform: SqlPlatform, client: FlaskClient
) -> None:
    add_customer(platform, "other", balance=10, sender="OTHER")
    issued = apikeys.create_key(platform, "other")
    other = Facade(client, issued.key.key, issued.secret)
    theirs = other.send()
    for message_id in (theirs, "999999", "abc", "9" * 40):
        status, body = api.post("report", MessageId=message_id)
        assert status == 404
        assert body == {"Status": "Error", "Error": "SMS mesajı bulunamadı", "Report": []}
    status, body = api.post("report")
    assert status == 400 and body["Report"] == []


def test_failed_facade_messages_are_refunded_48_hours_after_sending(
    api: Facade, platform: SqlPlatform, clock: FixedClock
) -> None:
    api.send("a" * 200, ["905321111101", "905321111102", "905321111103"])
    assert balance(platform) == 94
    dispatcher = Dispatcher(platform, SimulatorCarrier(clock, RULES, 5), owner="t")
    dispatcher._next_housekeeping = float("inf")
    dispatcher.run_once()
    clock.advance(seconds=5)
    dispatcher.run_once()
    assert balance(platform) == 94  # undelivered and rejected wait for their refund
    clock.advance(hours=47, minutes=59)
    assert delivery.refund_due_items(platform) == 0
    clock.advance(minutes=1)
    assert delivery.refund_due_items(platform) == 1  # one package, both its failures
    assert balance(platform) == 98  # only the delivered one is paid for
    assert ledger_sum(platform, principal(platform).user_id) == 98


def test_keys_are_stored_hashed_and_a_cached_key_costs_no_argon2_hash(
    api: Facade, platform: SqlPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    with platform.store.read() as conn:
        row = conn.execute(select(api_keys)).one()
    assert row.secret_hash.startswith("$argon2id$") and api.secret not in row.secret_hash
    hashes: list[int] = []
    real = platform.auth.verify

    def counting(password_hash: str, password: str) -> bool:
        hashes.append(1)
        return real(password_hash, password)

    monkeypatch.setattr(platform.auth, "verify", counting)
    for _ in range(3):
        api.send()
    assert len(hashes) <= 1


def test_rotation_keeps_the_old_secret_for_the_grace_period(
    api: Facade, platform: SqlPlatform, clock: FixedClock
) -> None:
    rotated = apikeys.rotate_key(platform, api.key)
    assert rotated.secret != api.secret
    new = Facade(api.client, api.key, rotated.secret)
    new.send()
    api.send()  # the previous secret, within 24 hours
    clock.advance(hours=24)
    status, _ = api.post("send", Message="x", Numbers=["905321111101"])
    assert status == 401
    new.send()


def test_a_revoked_key_fails_at_once(api: Facade, platform: SqlPlatform) -> None:
    api.send()
    apikeys.revoke_key(platform, api.key)
    status, _ = api.post("send", Message="x", Numbers=["905321111101"])
    assert status == 401
    keys = apikeys.list_keys(platform, "acme")
    assert keys[0].revoked_at is not None and keys[0].last_used_at is not None


def test_inactive_users_keys_fail(api: Facade, platform: SqlPlatform) -> None:
    users.set_options(platform, "acme", active=False)
    status, _ = api.post("send", Message="x", Numbers=["905321111101"])
    assert status == 401


def test_a_key_limited_to_addresses_refuses_others(
    platform: SqlPlatform, client: FlaskClient
) -> None:
    issued = apikeys.create_key(platform, "acme", allowed_ips=["10.0.0.0/8"])
    outside = Facade(client, issued.key.key, issued.secret)
    status, _ = outside.post("send", Message="x", Numbers=["905321111101"])
    assert status == 401  # the test client comes from 127.0.0.1
    issued = apikeys.create_key(platform, "acme", allowed_ips=["127.0.0.1"])
    Facade(client, issued.key.key, issued.secret).send()


def test_rate_limit_per_key_is_429_with_retry_after(db: Database, clock: FixedClock) -> None:
    platform = make_platform(db, clock=clock, facade_rate_limit="3/minute")
    add_customer(platform, balance=100)
    client = create_app(platform=platform).flask.test_client()
    first = apikeys.create_key(platform, "acme")
    second = apikeys.create_key(platform, "acme")
    api = Facade(client, first.key.key, first.secret)
    statuses = [api.post("report", MessageId="1")[0] for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    response = client.post("/api/v1/sms/report", json={
        "User": api.key, "Pass": api.secret, "MessageId": "1"
    })  # fmt: skip
    assert response.status_code == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.get_json() == {
        "Status": "Error",
        "Error": response.get_json()["Error"],
        "Report": [],
    }
    assert Facade(client, second.key.key, second.secret).post("report", MessageId="1")[0] == 404


def test_every_request_is_audited_without_secret_or_text(
    api: Facade, platform: SqlPlatform
) -> None:
    api.send("gizli mesaj metni")
    api.post("report", MessageId="12345")
    api.post("send", Pass="wrong", Message="gizli mesaj metni", Numbers=["905321111101"])
    entries = apikeys.audit_log(platform, key=api.key)
    assert [(e.endpoint, e.status) for e in entries] == [
        ("send", 401),
        ("report", 404),
        ("send", 200),
    ]
    assert {e.address for e in entries} == {"127.0.0.1"}
    assert entries[0].key_id is None and entries[0].key == api.key
    with platform.store.read() as conn:
        dumped = repr(conn.execute(select(api_key_audit)).all())
    assert "gizli" not in dumped and api.secret not in dumped and "wrong" not in dumped


def test_users_manage_their_own_keys_with_basic_auth(
    platform: SqlPlatform, client: FlaskClient
) -> None:
    auth = {
        "Authorization": "Basic " + __import__("base64").b64encode(b"acme:s3cret-pass").decode()
    }
    created = client.post("/api/v1/keys/create", json={"Label": "shop"}, headers=auth).get_json()
    assert created["Status"] == "OK" and created["Label"] == "shop" and created["Secret"]
    Facade(client, created["Key"], created["Secret"]).send()
    listed = client.post("/api/v1/keys/list", headers=auth).get_json()
    assert [k["Key"] for k in listed["Keys"]] == [created["Key"]]
    assert "Secret" not in listed["Keys"][0] and listed["Keys"][0]["LastUsedAt"]
    rotated = client.post("/api/v1/keys/rotate", json={"Key": created["Key"]}, headers=auth)
    assert rotated.get_json()["Secret"] != created["Secret"]
    revoked = client.post("/api/v1/keys/revoke", json={"Key": created["Key"]}, headers=auth)
    assert revoked.get_json()["RevokedAt"]
    again = client.post("/api/v1/keys/revoke", json={"Key": created["Key"]}, headers=auth)
    assert again.status_code == 404
    assert client.post("/api/v1/keys/list").status_code == 401


def test_users_cannot_touch_each_others_keys(platform: SqlPlatform, client: FlaskClient) -> None:
    add_customer(platform, "other", balance=0, sender=None)
    theirs = apikeys.create_key(platform, "other")
    auth = {
        "Authorization": "Basic " + __import__("base64").b64encode(b"acme:s3cret-pass").decode()
    }
    for action in ("revoke", "rotate"):
        response = client.post(f"/api/v1/keys/{action}", json={"Key": theirs.key.key}, headers=auth)
        assert response.status_code == 404
    assert apikeys.list_keys(platform, "other")[0].revoked_at is None


@pytest.fixture
def roomy(db: Database, clock: FixedClock) -> Iterator[tuple[Facade, SqlPlatform]]:
    """A key whose rate limit the fuzzing never reaches, of a customer with credit."""
    p = make_platform(db, clock=clock, facade_rate_limit="1000000/second")
    add_customer(p, balance=10**9)
    issued = apikeys.create_key(p, "acme")
    client = create_app(platform=p).flask.test_client()
    yield Facade(client, issued.key.key, issued.secret), p
    p.store.dispose()


FUZZED = ["Message", "Numbers", "From", "Coding", "StartDate", "ValidityPeriod", "Messages"]


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    endpoint=st.sampled_from(["send", "send-advanced", "send-multi", "report"]),
    body=st.dictionaries(
        _names([*FUZZED, "MessageId"]), _values([*FUZZED, "GSM", "MessageId"]), max_size=5
    ),
)
def test_no_facade_body_makes_a_5xx_or_leaves_the_documented_shape(
    roomy: tuple[Facade, SqlPlatform], endpoint: str, body: dict[str, Any]
) -> None:
    api, _platform = roomy
    raw = _dumps({**body, "User": api.key, "Pass": api.secret})
    response = api.client.post(f"/api/v1/sms/{endpoint}", data=raw)
    status, answer = response.status_code, response.get_json()
    assert status in (200, 400, 404), (body, answer)
    if status == 200:
        assert answer["Status"] == "OK"
    elif endpoint == "report":
        assert answer == {"Status": "Error", "Error": answer["Error"], "Report": []}
    else:
        assert answer == {"MessageId": 0, "Status": "Error", "Error": answer["Error"]}
