"""The one error table: names, SMS codes, HTTP statuses, messages, and the wire shape."""

from __future__ import annotations

import re

import pytest

from service.domain.errors import DomainError, Err, ErrorSpec, invalid

# The vendor's numbered table, as in shared/spec/node-api.md "Error codes (Hata Kodları)".
VENDOR_CODES = {
    "SMS00": "ERR_BAD_REQUEST",
    "SMS01": "ERR_USER_NOT_AUTHORIZED",
    "SMS02": "ERR_BLACKLIST_RECORD_ALREADY_EXISTS",
    "SMS03": "ERR_PARENT_USER_NOT_FOUND",
    "SMS04": "ERR_USER_ALREADY_EXISTS",
    "SMS05": "ERR_INVALID_PRICING_PLAN",
    "SMS06": "ERR_SMS_PKG_NOT_FOUND",
    "SMS07": "ERR_SMS_PKG_NOT_CHANGEABLE",
    "SMS08": "ERR_INVALID_SMS_SENDING_DATE",
    "SMS09": "ERR_CONTACT_GROUP_ALREADY_EXISTS",
    "SMS10": "ERR_PARENT_CONTACT_GROUP_NOT_FOUND",
    "SMS11": "ERR_PARENT_CONTACT_GROUP_NOT_EMPTY",
    "SMS12": "ERR_CONTACT_ALREADY_EXISTS",
    "SMS13": "ERR_CONTACT_IMPORT_EXISTS",
    "SMS14": "ERR_FILE_NOT_FOUND",
    "SMS15": "ERR_CONTACT_IMPORT_FAILED",
    "SMS16": "ERR_USER_NOT_FOUND",
    "SMS17": "ERR_CREDIT_PLAN_NOT_FOUND",
    "SMS18": "ERR_USER_CREDIT_REQUIRED",
    "SMS19": "ERR_PROMOTION_NOT_FOUND",
    "SMS20": "ERR_ALLOWANCE_ALREADY_EXISTS",
    "SMS21": "ERR_ALLOWANCE_NOT_PERMITTED",
    "SMS22": "ERR_ALLOWANCE_NOT_APPLICABLE",
    "SMS23": "ERR_SPAM_FILTER_ALREADY_EXISTS",
    "SMS24": "ERR_MO_ALREADY_EXISTS",
    "SMS25": "ERR_MO_KEYWORD_ALREADY_EXISTS",
    "SMS26": "ERR_MO_NOT_FOUND",
    "SMS27": "ERR_SENDER_ALREADY_EXISTS",
    "SMS28": "ERR_PARENT_USER_CREDIT_REQUIRED",
    "SMS29": "ERR_USER_CREDIT_DECREASING_LIMITED",
    "SMS30": "ERR_USER_IYS_SETTINGS_NOT_FOUND",
    "SMS31": "ERR_INVALID_DATE_RANGE",
    "SMS32": "ERR_API_USER_ALREADY_EXISTS",
    "SMS33": "ERR_CREDIT_PLAN_UNIT_PRICE_LIMIT",
    "SMS42": "ERR_SMS_PKG_CUSTOM_ID_DUPLICATION",
    "SMS43": "ERR_REQUEST_PARAM_LIMIT",
    "SMS44": "ERR_SMS_SENDING_TIME_LIMIT",
    "SMS50": "ERR_MULTI_REQUEST_NOT_PERMITTED",
    "SMS99": "ERR_SYSTEM_MAINTENANCE",
}

# Names real clients use without a number in the vendor's table: they need our own codes.
UNNUMBERED_NAMES = [
    "ERR_UNAUTHORIZED_REQUEST",
    "ERR_INVALID_PARAM",
    "ERR_INVALID_SMS_SENDER",
    "ERR_EMPTY_SMS_PACKAGE",
    "ERR_SMS_PKG_DUPLICATION",
    "ERR_USER_BRAND_CODE_NOT_FOUND",
    "ERR_SMS_PKG_CREATING_FAILED",
    "ERR_NOT_FOUND",
    "ERR_INTERNAL_SERVER",
    "ERR_DAILY_REQUEST_LIMIT",
]


def test_no_two_names_share_a_row() -> None:
    # Enum members with equal values become aliases and vanish from iteration.
    assert len(Err.__members__) == len(list(Err))


def test_every_name_is_unique_and_err_prefixed() -> None:
    names = [e.name for e in Err]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"ERR_[A-Z0-9_]+", n) for n in names)


def test_every_sms_code_is_unique() -> None:
    codes = [e.sms_code for e in Err]
    assert len(codes) == len(set(codes))


def test_every_sms_code_is_sms_and_two_digits() -> None:
    assert all(re.fullmatch(r"SMS\d\d", e.sms_code) for e in Err)


@pytest.mark.parametrize(("code", "name"), sorted(VENDOR_CODES.items()))
def test_vendor_codes_are_exactly_as_in_the_spec(code: str, name: str) -> None:
    assert Err[name].sms_code == code


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("ERR_SMS_PKG_NOT_FOUND", "SMS06"),
        ("ERR_USER_CREDIT_REQUIRED", "SMS18"),
        ("ERR_SMS_PKG_CUSTOM_ID_DUPLICATION", "SMS42"),
        ("ERR_REQUEST_PARAM_LIMIT", "SMS43"),
        ("ERR_SYSTEM_MAINTENANCE", "SMS99"),
        ("ERR_INVALID_SMS_SENDING_DATE", "SMS08"),
        ("ERR_SMS_PKG_NOT_CHANGEABLE", "SMS07"),
        ("ERR_MULTI_REQUEST_NOT_PERMITTED", "SMS50"),
    ],
)
def test_well_known_vendor_codes(name: str, code: str) -> None:
    assert Err[name].sms_code == code


def test_vendor_numbers_are_not_reused_for_other_names() -> None:
    for err in Err:
        if err.sms_code in VENDOR_CODES:
            assert VENDOR_CODES[err.sms_code] == err.name


@pytest.mark.parametrize("name", UNNUMBERED_NAMES)
def test_names_used_by_clients_exist_with_a_code_outside_the_vendor_table(name: str) -> None:
    assert name in Err.__members__
    assert Err[name].sms_code not in VENDOR_CODES


def test_every_http_status_is_a_client_or_server_error() -> None:
    assert all(400 <= e.status <= 599 for e in Err)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("ERR_UNAUTHORIZED_REQUEST", 401),
        ("ERR_USER_NOT_AUTHORIZED", 403),
        ("ERR_SMS_PKG_NOT_FOUND", 404),
        ("ERR_NOT_FOUND", 404),
        ("ERR_INVALID_PARAM", 400),
        ("ERR_SMS_PKG_CUSTOM_ID_DUPLICATION", 409),
        ("ERR_INTERNAL_SERVER", 500),
        ("ERR_MULTI_REQUEST_NOT_PERMITTED", 429),
    ],
)
def test_http_status_of_key_errors(name: str, status: int) -> None:
    assert Err[name].status == status


def test_every_error_has_a_message() -> None:
    assert all(isinstance(e.message, str) and e.message.strip() for e in Err)


def test_err_properties_read_the_row() -> None:
    assert Err.ERR_SMS_PKG_NOT_FOUND.value == ErrorSpec("SMS06", 404, "SMS paketi bulunamadı.")
    assert Err.ERR_SMS_PKG_NOT_FOUND.message == "SMS paketi bulunamadı."


# --- DomainError ----------------------------------------------------------------------


def test_as_wire_shape_without_detail() -> None:
    error = DomainError(Err.ERR_SMS_PKG_NOT_FOUND)
    assert error.as_wire() == {
        "status": 404,
        "code": "ERR_SMS_PKG_NOT_FOUND",
        "message": "SMS paketi bulunamadı.",
        "smsCode": "SMS06",
        "field": None,
    }


def test_as_wire_appends_the_detail_and_names_the_field() -> None:
    error = DomainError(Err.ERR_USER_CREDIT_REQUIRED, "Gerekli: 5.", field="numbers")
    assert error.as_wire() == {
        "status": 400,
        "code": "ERR_USER_CREDIT_REQUIRED",
        "message": "Yetersiz kredi. Gerekli: 5.",
        "smsCode": "SMS18",
        "field": "numbers",
    }


def test_domain_error_keeps_its_parts() -> None:
    error = DomainError(Err.ERR_TOO_MANY_REQUESTS, "bekleyin", retry_after=30)
    assert error.err is Err.ERR_TOO_MANY_REQUESTS
    assert error.detail == "bekleyin"
    assert error.field is None
    assert error.retry_after == 30
    assert str(error) == "ERR_TOO_MANY_REQUESTS: bekleyin"


def test_domain_error_str_without_detail_uses_the_message() -> None:
    assert str(DomainError(Err.ERR_NOT_FOUND)) == "ERR_NOT_FOUND: İstenen adres bulunamadı."


def test_invalid_is_invalid_param_naming_the_field() -> None:
    error = invalid("validity", "3 ile 6 dakika arasında olmalı")
    assert error.as_wire() == {
        "status": 400,
        "code": "ERR_INVALID_PARAM",
        "message": "Geçersiz parametre. validity: 3 ile 6 dakika arasında olmalı",
        "smsCode": Err.ERR_INVALID_PARAM.sms_code,
        "field": "validity",
    }
