"""The JSON Node API through a real HTTP server, the way integrators' code calls it."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, NoReturn

import pytest
import requests

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.domain.constants import ItemState
from tests.conftest import LiveServer, add_customer
from tests.e2e.conftest import Api

VENDOR_PHP_CREATE = {  # what the vendor's PHP SDK always sends
    "type": 1,
    "sendingType": 1,
    "title": "Kampanya",
    "encoding": 0,
    "content": "Merhaba",
    "numbers": ["905321111111", "905421111112"],
    "sender": "ACME",
    "periodicSettings": None,
    "sendingDate": None,
    "validity": 60,
    "commercial": False,
    "skipAhsQuery": True,
    "customID": None,
}


def test_create_otp_returns_integer_package_id(api: Api) -> None:
    body = {
        "number": 5321111111,
        "sender": "ACME",
        "encoding": 0,
        "content": "Dogrulama kodunuz: 123456",
        "validity": 3,
        "commercial": False,
    }
    data = api.data("/sms/create-otp", body)
    assert isinstance(data["pkgID"], int) and data["pkgID"] > 0


def test_create_otp_tolerates_fields_it_does_not_use(api: Api) -> None:
    body = {
        "number": ["905321111111"],
        "sender": "ACME",
        "content": "Kod 1",
        "type": 0,
        "sendingType": 0,
        "title": "otp",
        "skipAhsQuery": True,
        "pushSettings": None,
        "customID": None,
        "trustDate": None,
    }
    assert isinstance(api.data("/sms/create-otp", body)["pkgID"], int)


@pytest.mark.parametrize(
    "number", [905321111111, "905321111111", "05321111111", "5321111111", ["905321111111"]]
)
def test_single_sending_accepts_every_number_form(api: Api, number: object) -> None:
    body = {
        "type": 1,
        "sendingType": 0,
        "title": "Tekil",
        "content": f"Tekil {number}",
        "sender": "ACME",
        "number": number,
    }
    pkg = api.data("/sms/create", body)["pkgID"]
    items = api.data("/sms/list-item", {"pkgID": pkg})["list"]
    assert [i["target"] for i in items] == ["905321111111"]


def test_vendor_php_sdk_request_shapes_work(api: Api) -> None:
    assert isinstance(api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"], int)
    nn = {
        **VENDOR_PHP_CREATE,
        "sendingType": 2,
        "content": "Dinamik Sms",
        "numbers": [
            {"nr": 905321111111, "msg": "A kişisine özel"},
            {"nr": "905421111112", "msg": "B kişisine özel", "xid": "a" * 32},
        ],
    }
    pkg = api.data("/sms/create", nn)["pkgID"]
    items = api.data("/sms/list-item", {"pkgID": pkg})["list"]
    assert {(i["target"], i["msg"]) for i in items} == {
        ("905321111111", "A kişisine özel"),
        ("905421111112", "B kişisine özel"),
    }


def test_one_to_many_with_custom_fields_fills_placeholders(api: Api) -> None:
    body = {
        **VENDOR_PHP_CREATE,
        "content": "Merhaba FIRST_NAME LAST_NAME",
        "numbers": [{"nr": "905321111111", "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}}],
        "customFields": ["FIRST_NAME", "LAST_NAME"],
    }
    pkg = api.data("/sms/create", body)["pkgID"]
    assert api.data("/sms/list-item", {"pkgID": pkg})["list"][0]["msg"] == "Merhaba Ayşe Kaya"


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/user/credit"),
        ("GET", "/sms/list-sender"),
        ("GET", "/sms/list"),
        ("GET", "/sms/summary"),
    ],
)
def test_get_functions_answer_get(api: Api, method: str, path: str) -> None:
    response = api.session.request(method, api.base + path, timeout=10)
    assert response.status_code == 200 and response.json()["err"] is None


# b"[]": Guzzle's `json => []` (PHP's json_encode of an empty array).
@pytest.mark.parametrize("body", [None, b"", b'""', b"  ", b"{}", b"null", b"[]", b" [ ] "])
def test_post_without_parameters_accepts_empty_and_blank_bodies(
    api: Api, body: bytes | None
) -> None:
    response = api.session.post(
        api.base + "/user/credit",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.json() == {"err": None, "data": {"credit": 1000}}


def test_field_names_are_case_insensitive(api: Api) -> None:
    pkg = api.data(
        "/sms/create", {**VENDOR_PHP_CREATE, "numbers": ["905321111111", "905051111112"]}
    )["pkgID"]
    listed = api.data("/sms/list-item", {"PKGID": pkg, "Operator": 2})["list"]
    assert [i["target"] for i in listed] == ["905051111112"]


def test_get_reads_the_query_string(api: Api) -> None:
    pkg = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    response = api.get("/sms/list-item", params={"pkgID": pkg, "pageSize": 10})
    assert response.json()["data"]["stats"]["totalRecord"] == 2


def test_lowercase_authorization_header_is_accepted(server: LiveServer, api: Api) -> None:
    token = base64.b64encode(b"acme:s3cret-pass").decode()
    response = requests.get(
        server.url + "/user/credit", headers={"authorization": f"Basic {token}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("auth", [("acme", "wrong"), ("nobody", "s3cret-pass"), None])
def test_bad_credentials_get_one_identical_401(
    server: LiveServer, api: Api, auth: tuple[str, str] | None
) -> None:
    response = requests.post(server.url + "/user/credit", auth=auth, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {
        "data": None,
        "err": {
            "status": 401,
            "code": "ERR_UNAUTHORIZED_REQUEST",
            "smsCode": "SMS60",
            "field": None,
            "message": "Kullanıcı adı veya şifre hatalı.",
        },
    }


def test_error_envelope_has_numeric_status_code_name_and_null_data(api: Api) -> None:
    err = api.error("/sms/create", {**VENDOR_PHP_CREATE, "sender": "NOSUCH"})
    assert err["status"] == 400 and err["code"] == "ERR_INVALID_SMS_SENDER"
    assert err["smsCode"] == "SMS62" and err["message"]


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"numbers": ["123", "abc"]}, "ERR_EMPTY_SMS_PACKAGE"),
        ({"validity": 30}, "ERR_INVALID_PARAM"),
        ({"encoding": 7}, "ERR_INVALID_PARAM"),
        ({"sendingType": "x"}, "ERR_INVALID_PARAM"),
        ({"customID": "has space"}, "ERR_INVALID_PARAM"),
        ({"title": "t" * 51}, "ERR_INVALID_PARAM"),
        ({"sendingDate": "2001-01-01 10:00"}, "ERR_INVALID_SMS_SENDING_DATE"),
        ({"sendingDate": "yarın"}, "ERR_INVALID_SMS_SENDING_DATE"),
        (
            {"periodicSettings": {"periodType": 0, "amount": 1500, "interval": 1}},
            "ERR_INVALID_PARAM",
        ),
        ({"pushSettings": {"url": "ftp://x"}}, "ERR_INVALID_PARAM"),
        ({"content": ""}, "ERR_INVALID_PARAM"),
        ({"numbers": ["905321111111"] * 1, "content": "a" * 2000}, "ERR_INVALID_PARAM"),
    ],
)
def test_bad_create_requests_get_their_code_and_change_nothing(
    api: Api, fields: dict[str, Any], code: str
) -> None:
    assert api.error("/sms/create", {**VENDOR_PHP_CREATE, **fields})["code"] == code
    assert api.data("/user/credit") == {"credit": 1000}
    assert api.data("/sms/list")["stats"]["totalRecord"] == 0


def test_insufficient_credit_is_sms18_and_nothing_is_written(server: LiveServer) -> None:
    add_customer(server.platform, "poor", 1, "POOR")
    api = Api(server.url, "poor")
    err = api.error("/sms/create", {**VENDOR_PHP_CREATE, "sender": "POOR"})
    assert (err["code"], err["smsCode"]) == ("ERR_USER_CREDIT_REQUIRED", "SMS18")
    assert api.data("/sms/list")["stats"]["totalRecord"] == 0


def test_custom_id_duplicate_then_lookup_by_custom_ids(api: Api) -> None:
    body = {**VENDOR_PHP_CREATE, "customID": "siparis-42"}
    pkg = api.data("/sms/create", body)["pkgID"]
    err = api.error("/sms/create", {**body, "content": "başka"})
    assert err["code"] == "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION" and err["status"] == 409
    found = api.data("/sms/list", {"customIDs": ["siparis-42"]})["list"]
    assert [p["id"] for p in found] == [pkg]


def test_list_returns_every_documented_key(api: Api) -> None:
    api.data("/sms/create", VENDOR_PHP_CREATE)
    package = api.data("/sms/list")["list"][0]
    for key in (
        "id",
        "customID",
        "type",
        "uuid",
        "error",
        "state",
        "title",
        "content",
        "senders",
        "encoding",
        "validity",
        "isScheduled",
        "sendingDate",
        "processingDate",
        "processInfo",
        "statistics",
    ):
        assert key in package
    assert set(package["statistics"]) >= {"total", "credit", "rCount", "delivered", "undelivered"}
    assert package["processInfo"]["create"]["date"]
    assert package["senders"] == ["ACME"] and package["isScheduled"] == 0


def test_list_item_returns_string_ids_and_every_documented_key(api: Api) -> None:
    pkg = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    item = api.data("/sms/list-item", {"pkgID": pkg})["list"][0]
    assert set(item) >= {
        "id",
        "msg",
        "error",
        "state",
        "credit",
        "sender",
        "target",
        "setState",
        "sendingDate",
        "deliveryDate",
        "processingDate",
    }
    assert isinstance(item["id"], str) and item["id"].isdigit()


def test_list_item_needs_a_package_reference(api: Api) -> None:
    assert api.error("/sms/list-item", {})["code"] == "ERR_INVALID_PARAM"
    assert api.error("/sms/list-item", {"pkgID": 999999})["code"] == "ERR_SMS_PKG_NOT_FOUND"


def test_cancel_by_custom_id_refunds(api: Api) -> None:
    body = {**VENDOR_PHP_CREATE, "customID": "iptal-1", "sendingDate": "2099-01-01 10:00"}
    # A year ahead at most: 2099 is refused, a date next month is fine.
    assert api.error("/sms/create", body)["code"] == "ERR_INVALID_SMS_SENDING_DATE"
    from datetime import datetime, timedelta

    later = (datetime.now() + timedelta(days=20)).strftime("%Y-%m-%d %H:%M")
    api.data("/sms/create", {**body, "sendingDate": later})
    assert api.data("/user/credit") == {"credit": 998}
    assert api.data("/sms/cancel", {"customID": "iptal-1"}) == {"status": 1}
    assert api.data("/user/credit") == {"credit": 1000}
    assert api.error("/sms/cancel", {"customID": "iptal-1"})["code"] == "ERR_SMS_PKG_NOT_CHANGEABLE"


def test_inquiry_number_more_than_three_months_is_sms31(api: Api) -> None:
    err = api.error(
        "/sms/inquiry-number",
        {"gsm": "905321111111", "startDate": "2026-01-01 00:00", "finishDate": "2026-06-01 00:00"},
    )
    assert (err["code"], err["smsCode"]) == ("ERR_INVALID_DATE_RANGE", "SMS31")


def test_malformed_json_is_a_400_envelope(api: Api) -> None:
    response = api.session.post(
        api.base + "/sms/create", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["err"]["code"] == "ERR_BAD_REQUEST"


@pytest.mark.parametrize("body", [[1, 2], [{}], [[]], [None]])
def test_json_array_body_is_a_400_envelope(api: Api, body: list[Any]) -> None:
    response = api.post("/sms/list-sender", body)
    assert response.status_code == 400 and response.json()["data"] is None


@pytest.mark.parametrize("path", ["/sms/list-sender", "/sms/list", "/sms/summary"])
def test_an_empty_json_list_is_no_parameters(api: Api, path: str) -> None:
    assert api.post(path, []).json()["err"] is None


def test_oversized_body_is_413_and_writes_nothing(server: LiveServer, api: Api) -> None:
    limit = server.platform.settings.max_body_bytes
    body = b'{"content": "' + b"a" * limit + b'"}'
    response = api.session.post(
        api.base + "/sms/create", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["err"]["code"] == "ERR_REQUEST_TOO_LARGE"


def test_unknown_function_is_a_404_envelope(api: Api) -> None:
    response = api.post("/sms/no-such-function", {})
    assert response.status_code == 404
    assert response.json()["err"]["code"] == "ERR_NOT_FOUND"


def test_post_only_function_refuses_get(api: Api) -> None:
    response = api.get("/sms/create")
    assert response.status_code == 405 and response.json()["err"]["status"] == 405


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/sms/create", "POST"),
        ("PUT", "/sms/create-otp", "POST"),
        ("DELETE", "/sms/list", "GET, POST"),
        ("POST", "/health", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_405_names_the_methods_the_address_takes(
    server: LiveServer, method: str, path: str, allowed: str
) -> None:
    response = requests.request(method, server.url + path, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["err"]["code"] == "ERR_METHOD_NOT_ALLOWED"


def test_sent_sms_is_delivered_and_visible_in_list_item(server: LiveServer, api: Api) -> None:
    carrier = SimulatorCarrier(server.platform.clock, {"02": "undelivered"}, report_delay=0)
    dispatcher = Dispatcher(server.platform, carrier)
    dispatcher.start()
    try:
        body = {**VENDOR_PHP_CREATE, "numbers": ["905321111101", "905321111102"]}
        pkg = api.data("/sms/create", body)["pkgID"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = api.data("/sms/list", {"ids": [pkg]})["list"][0]
            if listed["state"] == 6:
                break
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    items = {i["target"]: i for i in api.data("/sms/list-item", {"pkgID": pkg})["list"]}
    assert items["905321111101"]["state"] == ItemState.DELIVERED
    assert items["905321111101"]["deliveryDate"]
    assert items["905321111102"]["state"] == ItemState.UNDELIVERED
    assert listed["statistics"]["delivered"] == 1 and listed["statistics"]["undelivered"] == 1
    assert api.data("/user/credit") == {"credit": 999}


def test_health_endpoint_needs_no_credentials(server: LiveServer) -> None:
    assert requests.get(server.url + "/health").json() == {"err": None, "data": {"status": "ok"}}


def test_json_body_sent_as_form_urlencoded_is_read_as_json(api: Api) -> None:
    # `curl -d '{...}'` and some PHP clients send JSON without a JSON content type.
    response = api.session.post(
        api.base + "/sms/list-sender",
        data=b'{"pageSize": 10}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["data"]["stats"]["totalRecord"] == 1


def test_form_fields_are_read_too(api: Api) -> None:
    response = api.session.post(api.base + "/sms/list-sender", data={"keyword": "NONE"})
    assert response.json()["data"]["stats"]["totalRecord"] == 0


def test_health_is_503_when_the_database_is_unreachable(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> NoReturn:
        raise OSError("database gone")

    monkeypatch.setattr(server.platform.store, "ping", broken)
    response = requests.get(server.url + "/health")
    assert response.status_code == 503
    assert response.json()["err"]["code"] == "ERR_SYSTEM_MAINTENANCE"


HOSTILE = [
    ("/sms/list-item", {"pkgID": 2**63}, "ERR_INVALID_PARAM"),
    ("/sms/cancel", {"id": 1e30}, "ERR_INVALID_PARAM"),
    ("/sms/list", {"ids": [2**64]}, "ERR_INVALID_PARAM"),
    ("/sms/list", {"pageIndex": 10**17}, "ERR_INVALID_PARAM"),
    ("/sms/list", {"ids": list(range(1001))}, "ERR_REQUEST_PARAM_LIMIT"),
    ("/sms/list", {"customIDs": ["x"] * 1001}, "ERR_REQUEST_PARAM_LIMIT"),
    ("/sms/list", {"keyword": "a\u0000b"}, "ERR_INVALID_PARAM"),
    ("/sms/list-item", {"customID": "a\u0000"}, "ERR_INVALID_PARAM"),
    ("/sms/summary", {"startDate": "0001-01-01 00:00"}, "ERR_INVALID_PARAM"),
    (
        "/sms/inquiry-number",
        {"gsm": "905321111111", "startDate": "9999-12-31 00:00"},
        "ERR_INVALID_PARAM",
    ),
    (
        "/sms/create",
        {**VENDOR_PHP_CREATE, "sendingDate": "0001-01-01 00:00"},
        "ERR_INVALID_SMS_SENDING_DATE",
    ),
    ("/sms/create", {**VENDOR_PHP_CREATE, "content": "a\ud800b"}, "ERR_INVALID_PARAM"),
    ("/sms/create", {**VENDOR_PHP_CREATE, "content": "a\u0000b"}, "ERR_INVALID_PARAM"),
    ("/sms/create", {**VENDOR_PHP_CREATE, "sender": "AC\u0000ME"}, "ERR_INVALID_PARAM"),
    (
        "/sms/create",
        {
            **VENDOR_PHP_CREATE,
            "periodicSettings": {"periodType": 0, "amount": 1000, "interval": 10**10},
        },
        "ERR_INVALID_PARAM",
    ),
    (
        "/sms/create",
        {
            **VENDOR_PHP_CREATE,
            "numbers": [f"90532{n:07d}" for n in range(2001)],
            "periodicSettings": {"periodType": 0, "amount": 1000, "interval": 400 * 24 * 60},
        },
        "ERR_INVALID_PARAM",
    ),
]


@pytest.mark.parametrize("path, body, code", HOSTILE, ids=[f"{p}:{c}" for p, _, c in HOSTILE])
def test_hostile_values_get_a_clear_error_on_both_databases(
    any_server: LiveServer, path: str, body: dict[str, Any], code: str
) -> None:
    add_customer(any_server.platform, "acme", 100_000, "ACME")
    api = Api(any_server.url, "acme")
    raw = json.dumps(body).encode()  # json keeps lone surrogates as \\ud800 escapes
    response = api.session.post(
        api.base + path, data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.json()["err"]["code"] == code, response.text
    assert api.data("/sms/list")["stats"]["totalRecord"] == 0


@pytest.mark.parametrize("field, value", [("state", 40000), ("operator", 99999)])
def test_item_filters_outside_their_tables_are_invalid(
    any_server: LiveServer, field: str, value: int
) -> None:
    add_customer(any_server.platform, "acme", 10, "ACME")
    api = Api(any_server.url, "acme")
    pkg = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    assert api.error("/sms/list-item", {"pkgID": pkg, field: value})["field"] == field


def test_deeply_nested_json_is_a_400(api: Api) -> None:
    body = b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    response = api.session.post(
        api.base + "/sms/create", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_form_body_starting_with_n_is_read_as_a_form(api: Api) -> None:
    response = api.session.post(
        api.base + "/sms/list-sender", data={"nothing": "x", "keyword": "NONE"}
    )
    assert response.json()["data"]["stats"]["totalRecord"] == 0


def test_repeated_query_parameters_are_a_list(api: Api) -> None:
    first = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    second = api.data("/sms/create", {**VENDOR_PHP_CREATE, "content": "ikinci"})["pkgID"]
    listed = api.get("/sms/list", params=[("ids", first), ("ids", second)]).json()
    assert {p["id"] for p in listed["data"]["list"]} == {first, second}


def test_keyword_filter_ignores_case_on_both_databases(any_server: LiveServer) -> None:
    add_customer(any_server.platform, "acme", 10, "ACME")
    api = Api(any_server.url, "acme")
    api.data("/sms/create", {**VENDOR_PHP_CREATE, "content": "Büyük İNDİRİM Fırsatı"})
    assert api.data("/sms/list", {"keyword": "fırsatı"})["stats"]["totalRecord"] == 1


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_a_json_body_with_a_byte_order_mark_is_read(api: Api, content_type: str | None) -> None:
    # Windows editors and some .NET clients start UTF-8 with a BOM; read as a form, every
    # field was dropped and /sms/list answered unfiltered.
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.session.post(
        api.base + "/sms/list-sender", data=b'\xef\xbb\xbf{"keyword": "NONE"}', headers=headers
    )
    assert response.json()["data"]["stats"]["totalRecord"] == 0


HUGE = "9" * 5000  # past Python's 4,300-digit limit of int(): a ValueError, once a 500

INT_FIELDS = [
    ("/sms/list", "pageSize"),
    ("/sms/list", "pageIndex"),
    ("/sms/list", "status"),
    ("/sms/list-item", "pkgID"),
    ("/sms/list-sender", "status"),
    ("/sms/cancel", "id"),
    ("/sms/create", "validity"),
    ("/sms/create", "encoding"),
]


@pytest.mark.parametrize("path, field", INT_FIELDS)
@pytest.mark.parametrize("form", ["json-string", "json-number", "form", "query"])
def test_an_integer_of_thousands_of_digits_is_invalid_naming_its_field(
    api: Api, path: str, field: str, form: str
) -> None:
    body = {**VENDOR_PHP_CREATE, "pkgID": 1} if path == "/sms/create" else {"pkgID": 1}
    body.pop(field, None)
    url, kwargs = api.base + path, dict[str, Any]()
    if form == "json-string":
        kwargs["data"] = json.dumps({**body, field: HUGE})
    elif form == "json-number":  # a literal json.loads refuses to turn into an int
        kwargs["data"] = json.dumps({**body, field: 0}).replace(
            f'"{field}": 0', f'"{field}": {HUGE}'
        )
    elif form == "form":
        kwargs["data"] = {k: v for k, v in {**body, field: HUGE}.items() if v is not None}
    else:
        kwargs["params"] = {field: HUGE}
    if form.startswith("json"):
        kwargs["headers"] = {"Content-Type": "application/json"}
    method = "GET" if form == "query" and path != "/sms/create" else "POST"
    response = api.session.request(method, url, timeout=30, **kwargs)
    err = response.json()["err"]
    assert response.status_code == 400, response.text
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", field)
    assert api.data("/user/credit") == {"credit": 1000}


def test_a_nul_in_the_basic_auth_user_name_is_a_401_on_both_databases(
    any_server: LiveServer,
) -> None:
    # "a\0b:pw": PostgreSQL refused the lookup (a 500), SQLite answered 401.
    response = requests.post(
        any_server.url + "/user/credit", headers={"Authorization": "Basic YQBiOnB3"}, timeout=10
    )
    assert response.status_code == 401, response.text
    assert response.json()["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"


PAGING = ["/sms/list", "/sms/list-sender", "/sms/inquiry-number", "/sms/list-item"]


@pytest.mark.parametrize("path", PAGING)
@pytest.mark.parametrize(
    "field, value",
    [
        ("pageSize", 0),
        ("pageSize", "0"),
        ("pageSize", 9),
        ("pageSize", 1001),
        ("pageSize", -5),
        ("pageIndex", -1),
        ("pageIndex", "-1"),
    ],
)
def test_paging_outside_the_spec_is_invalid_naming_the_field(
    api: Api, path: str, field: str, value: int | str
) -> None:
    # pageSize 0 used to mean "the default" and returned 100 rows; the spec's range is 10..1000.
    pkg = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    err = api.error(path, {"pkgID": pkg, "gsm": "905321111111", field: value})
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", field)


@pytest.mark.parametrize("path", PAGING)
def test_paging_at_its_bounds_is_accepted(api: Api, path: str) -> None:
    pkg = api.data("/sms/create", VENDOR_PHP_CREATE)["pkgID"]
    for paging in ({"pageSize": 10}, {"pageSize": 1000, "pageIndex": 0}, {"pageIndex": 5}):
        api.data(path, {"pkgID": pkg, "gsm": "905321111111", **paging})
