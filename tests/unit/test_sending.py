"""Reading a send request (/sms/create, /sms/create-otp) into a checked SendRequest."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from service.api.node.params import Params
from service.api.node.requests import parse
from service.domain.constants import Encoding, PeriodType, SendingType, SmsType
from service.domain.errors import DomainError, Err
from service.domain.packages import Periodic
from service.domain.sending import Recipient, SendRequest, fill_placeholders
from service.services.sms import unique_recipients

A, B, C = "905551234567", "905321234568", "905441234569"


def create(**fields: Any) -> SendRequest:
    """parse() of a /sms/create body with sensible defaults."""
    body: dict[str, Any] = {"type": 1, "sendingType": 0, "sender": "BASLIK", "content": "Merhaba"}
    body.update(fields)
    return sent(parse(Params(body), otp=False))


def sent(req: SendRequest) -> SendRequest:
    """The request as its package goes out: a repeated recipient once (the filter step)."""
    return replace(req, recipients=tuple(unique_recipients(req.recipients)))


def otp(**fields: Any) -> SendRequest:
    """parse() of a /sms/create-otp body with sensible defaults."""
    body: dict[str, Any] = {"number": A, "sender": "BASLIK", "content": "Kodunuz: 123456"}
    body.update(fields)
    return sent(parse(Params(body), otp=True))


def raises(err: Err, field: str | None, **fields: Any) -> DomainError:
    with pytest.raises(DomainError) as excinfo:
        create(**fields)
    assert excinfo.value.err is err
    assert excinfo.value.field == field
    return excinfo.value


# --- single (sendingType 0) -----------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        905551234567,
        "905551234567",
        "05551234567",
        "5551234567",
        5551234567,
        "+905551234567",
        [905551234567],
        ["05551234567"],
    ],
)
def test_single_number_as_int_string_or_one_element_list(number: object) -> None:
    req = create(number=number)
    assert req.sending_type is SendingType.SINGLE
    assert list(req.recipients) == [Recipient(A)]
    assert req.invalid_count == 0


def test_single_sending_falls_back_to_a_one_element_numbers_list() -> None:
    assert list(create(numbers=[A]).recipients) == [Recipient(A)]


def test_single_sending_with_two_numbers_is_refused_naming_number() -> None:
    with pytest.raises(DomainError) as excinfo:
        create(number=[A, B])
    assert excinfo.value.field == "number"


def test_single_sending_with_two_numbers_is_an_invalid_param() -> None:
    raises(Err.ERR_INVALID_PARAM, "number", number=[A, B])


def test_single_sending_without_a_number_is_an_empty_package() -> None:
    with pytest.raises(DomainError) as excinfo:
        create()
    assert excinfo.value.err is Err.ERR_EMPTY_SMS_PACKAGE


def test_single_sending_with_an_empty_list_is_an_empty_package() -> None:
    with pytest.raises(DomainError) as excinfo:
        create(number=[])
    assert excinfo.value.err is Err.ERR_EMPTY_SMS_PACKAGE


def test_single_invalid_number_is_an_empty_package() -> None:
    with pytest.raises(DomainError) as excinfo:
        create(number="902121234567")
    assert excinfo.value.err is Err.ERR_EMPTY_SMS_PACKAGE


def test_single_number_as_nr_cfs_object_fills_placeholders() -> None:
    req = create(
        number={"nr": A, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}},
        content="Merhaba FIRST_NAME LAST_NAME",
    )
    assert list(req.recipients) == [Recipient(A, "Merhaba Ayşe Kaya")]


# --- one-to-many (sendingType 1) ------------------------------------------------------


def test_numbers_as_ints_and_strings_are_normalised_in_order() -> None:
    req = create(sendingType=1, numbers=[905551234567, "05321234568", "5441234569"])
    assert req.sending_type is SendingType.ONE_TO_MANY
    assert [r.target for r in req.recipients] == [A, B, C]
    assert all(r.msg is None and r.xid is None for r in req.recipients)


def test_duplicate_numbers_are_removed_in_any_form() -> None:
    req = create(sendingType=1, numbers=[A, 5551234567, "05551234567", B, "+905551234567"])
    assert list(req.recipients) == [Recipient(A), Recipient(B)]
    assert req.invalid_count == 0


def test_invalid_numbers_are_skipped_and_counted() -> None:
    req = create(sendingType=1, numbers=[A, "123", "902121234567", B, "abc", True])
    assert list(req.recipients) == [Recipient(A), Recipient(B)]
    assert req.invalid_count == 4


@pytest.mark.parametrize("blank", [None, ""])
def test_a_blank_number_entry_refuses_the_package(blank: str | None) -> None:
    # Not dropped in silence: the client meant someone there.
    raises(Err.ERR_INVALID_PARAM, "numbers", sendingType=1, numbers=[A, blank, B])


def test_all_invalid_numbers_make_an_empty_package() -> None:
    error = raises(
        Err.ERR_EMPTY_SMS_PACKAGE, "numbers", sendingType=1, numbers=["123", "902121234567"]
    )
    assert error.as_wire()["code"] == "ERR_EMPTY_SMS_PACKAGE"


def test_no_numbers_at_all_make_an_empty_package() -> None:
    raises(Err.ERR_EMPTY_SMS_PACKAGE, "numbers", sendingType=1)


def test_one_to_many_accepts_a_single_number_value() -> None:
    assert list(create(sendingType=1, numbers=A).recipients) == [Recipient(A)]


def test_one_to_many_falls_back_to_the_number_field() -> None:
    assert list(create(sendingType=1, number=[A, B]).recipients) == [Recipient(A), Recipient(B)]


def test_nr_cfs_items_fill_placeholders_per_recipient() -> None:
    req = create(
        sendingType=1,
        content="Sayın FIRST_NAME LAST_NAME, borcunuz AMOUNT TL.",
        customFields=["FIRST_NAME", "LAST_NAME", "AMOUNT"],
        numbers=[
            {"nr": A, "cfs": {"FIRST_NAME": "Ali", "LAST_NAME": "Veli", "AMOUNT": 12.5}},
            {"nr": B, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": None, "AMOUNT": 3}},
        ],
    )
    assert list(req.recipients) == [
        Recipient(A, "Sayın Ali Veli, borcunuz 12.5 TL."),
        Recipient(B, "Sayın Ayşe , borcunuz 3 TL."),
    ]


def test_nr_object_without_msg_or_cfs_in_one_to_many_uses_the_package_content() -> None:
    req = create(sendingType=1, numbers=[{"nr": A}])
    assert list(req.recipients) == [Recipient(A)]
    assert req.content == "Merhaba"


def test_missing_content_for_one_to_many_is_invalid() -> None:
    raises(Err.ERR_INVALID_PARAM, "content", sendingType=1, numbers=[A], content=None)


# --- many-to-many (sendingType 2) -----------------------------------------------------


def test_many_to_many_items_carry_their_own_text() -> None:
    req = create(
        sendingType=2,
        content="Dinamik Sms",
        numbers=[
            {"nr": 905551234567, "msg": "text for A"},
            {"nr": "05321234568", "msg": "text for B"},
        ],
    )
    assert req.sending_type is SendingType.MANY_TO_MANY
    assert list(req.recipients) == [Recipient(A, "text for A"), Recipient(B, "text for B")]


def test_many_to_many_without_content_is_accepted() -> None:
    req = create(sendingType=2, content=None, numbers=[{"nr": A, "msg": "x"}])
    assert req.content is None
    assert list(req.recipients) == [Recipient(A, "x")]


def test_many_to_many_keeps_the_client_xid() -> None:
    xid = "0123456789abcdef0123456789abcdef"
    req = create(sendingType=2, numbers=[{"nr": A, "msg": "x", "xid": xid}])
    assert list(req.recipients) == [Recipient(A, "x", xid)]


def test_xid_longer_than_64_characters_is_invalid() -> None:
    raises(
        Err.ERR_INVALID_PARAM,
        "numbers.xid",
        sendingType=2,
        numbers=[{"nr": A, "msg": "x", "xid": "x" * 65}],
    )


def test_many_to_many_item_without_msg_falls_back_to_content() -> None:
    req = create(
        sendingType=2,
        content="Ortak metin",
        numbers=[{"nr": A}, {"nr": B, "msg": ""}, {"nr": C, "msg": "kendi"}],
    )
    assert list(req.recipients) == [
        Recipient(A, "Ortak metin"),
        Recipient(B, "Ortak metin"),
        Recipient(C, "kendi"),
    ]


def test_many_to_many_item_without_any_text_is_skipped_and_counted() -> None:
    req = create(sendingType=2, content=None, numbers=[{"nr": A}, {"nr": B, "msg": "x"}])
    assert list(req.recipients) == [Recipient(B, "x")]
    assert req.invalid_count == 1


def test_many_to_many_item_with_invalid_nr_is_skipped_and_counted() -> None:
    req = create(
        sendingType=2, numbers=[{"nr": "12", "msg": "x"}, {"msg": "y"}, {"nr": A, "msg": "z"}]
    )
    assert list(req.recipients) == [Recipient(A, "z")]
    assert req.invalid_count == 2


def test_many_to_many_item_field_names_are_case_insensitive() -> None:
    req = create(sendingType=2, numbers=[{"NR": A, "Msg": "x", "XID": "id1"}])
    assert list(req.recipients) == [Recipient(A, "x", "id1")]


def test_many_to_many_same_number_same_text_is_a_duplicate() -> None:
    req = create(sendingType=2, numbers=[{"nr": A, "msg": "x"}, {"nr": "05551234567", "msg": "x"}])
    assert list(req.recipients) == [Recipient(A, "x")]


def test_many_to_many_plain_number_without_any_text_is_not_accepted() -> None:
    try:
        req = create(sendingType=2, content=None, numbers=[{"nr": A, "msg": "x"}, B])
    except DomainError:
        return
    assert all(r.msg or req.content for r in req.recipients)


def test_many_to_many_only_plain_numbers_without_content_is_an_error() -> None:
    with pytest.raises(DomainError):
        create(sendingType=2, content=None, numbers=[A, B])


def test_many_to_many_plain_numbers_with_content_use_the_content() -> None:
    req = create(sendingType=2, content="Ortak", numbers=[A])
    assert list(req.recipients) == [Recipient(A)]
    assert req.content == "Ortak"


# --- placeholders ---------------------------------------------------------------------


def test_placeholders_longest_key_first() -> None:
    text = fill_placeholders("NAME / FIRST_NAME", {"FIRST_NAME": "Ali", "NAME": "Şirket"})
    assert text == "Şirket / Ali"


def test_placeholder_keys_are_matched_in_upper_case() -> None:
    assert fill_placeholders("Merhaba FIRST_NAME", {"first_name": "Ali"}) == "Merhaba Ali"


def test_placeholder_with_blank_value_becomes_empty() -> None:
    assert fill_placeholders("[GSM_2]", {"GSM_2": ""}) == "[]"


def test_placeholder_key_with_bad_characters_is_invalid() -> None:
    with pytest.raises(DomainError) as excinfo:
        fill_placeholders("x", {"FIRST-NAME": "Ali"})
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == "cfs"


def test_a_filled_value_is_not_substituted_again() -> None:
    assert fill_placeholders("Sayın AD SOYAD", {"AD": "HAKAN", "SOYAD": "KADAR"}) == (
        "Sayın HAKAN KADAR"
    )


# --- tolerance ------------------------------------------------------------------------


def test_unknown_extra_fields_are_ignored() -> None:
    req = create(
        number=A, skipAhsQuery=True, recipientType=0, customFields=None, somethingElse={"x": 1}
    )
    assert list(req.recipients) == [Recipient(A)]


def test_vendor_php_sdk_body_with_nulls_is_accepted() -> None:
    req = parse(
        Params(
            {
                "type": 1,
                "sendingType": 1,
                "title": "Kampanya",
                "encoding": 0,
                "content": "Merhaba",
                "numbers": [A, B],
                "sender": "BASLIK",
                "periodicSettings": None,
                "sendingDate": None,
                "validity": 60,
                "commercial": False,
            }
        ),
        otp=False,
    )
    assert req.sms_type is SmsType.NORMAL
    assert req.title == "Kampanya"
    assert req.validity == 60
    assert req.commercial is False
    assert req.periodic is None
    assert req.sending_date is None
    assert [r.target for r in req.recipients] == [A, B]


def test_null_and_empty_optional_fields_mean_not_given() -> None:
    req = create(
        number=A,
        encoding=None,
        validity="",
        sendingDate="",
        commercial="",
        customID=None,
        pushSettings=None,
        periodicSettings={},
        title=None,
    )
    assert req.encoding is Encoding.DEFAULT
    assert req.validity == 1440
    assert req.sending_date is None
    assert req.commercial is None
    assert req.custom_id is None
    assert req.push_url is None
    assert req.periodic is None
    assert req.title is None


def test_field_names_in_other_cases_are_read() -> None:
    req = parse(
        Params(
            {
                "Type": 2,
                "SendingType": "1",
                "Numbers": [A],
                "Content": "x",
                "Encoding": "2",
                "CustomID": "abc",
            }
        ),
        otp=False,
    )
    assert req.sms_type is SmsType.TC_IDENTITY
    assert req.sending_type is SendingType.ONE_TO_MANY
    assert req.encoding is Encoding.UNICODE
    assert req.custom_id == "abc"


def test_defaults_of_a_minimal_create() -> None:
    req = parse(Params({"number": A, "content": "x"}), otp=False)
    assert req.sms_type is SmsType.NORMAL
    assert req.sending_type is SendingType.SINGLE
    assert req.encoding is Encoding.DEFAULT
    assert req.validity == 1440
    assert req.otp is False
    assert req.sender is None
    assert req.trust_date is None


# --- content, encoding, types ---------------------------------------------------------


@pytest.mark.parametrize("content", [None, "", "   "])
def test_missing_content_for_single_is_invalid(content: str | None) -> None:
    raises(Err.ERR_INVALID_PARAM, "content", number=A, content=content)


def test_content_that_is_not_text_is_invalid() -> None:
    raises(Err.ERR_INVALID_PARAM, "content", number=A, content=["a"])


def test_numeric_content_becomes_text() -> None:
    assert create(number=A, content=123456).content == "123456"


@pytest.mark.parametrize(
    ("value", "expected"), [(0, Encoding.DEFAULT), ("1", Encoding.TURKISH), (2, Encoding.UNICODE)]
)
def test_encodings_0_to_2_are_read(value: int | str, expected: Encoding) -> None:
    assert create(number=A, encoding=value).encoding is expected


@pytest.mark.parametrize("value", [3, -1, "abc", 1.5])
def test_bad_encoding_is_invalid(value: int | str | float) -> None:
    raises(Err.ERR_INVALID_PARAM, "encoding", number=A, encoding=value)


@pytest.mark.parametrize("value", [3, -1, "x"])
def test_bad_sms_type_is_invalid(value: int | str) -> None:
    raises(Err.ERR_INVALID_PARAM, "type", number=A, type=value)


@pytest.mark.parametrize("value", [3, -1, "x"])
def test_bad_sending_type_is_invalid(value: int | str) -> None:
    raises(Err.ERR_INVALID_PARAM, "sendingType", number=A, sendingType=value)


def test_otp_type_on_create_uses_the_otp_validity() -> None:
    req = create(number=A, type=0)
    assert req.sms_type is SmsType.OTP
    assert req.validity == 6


def test_validity_out_of_range_on_create_is_invalid() -> None:
    raises(Err.ERR_INVALID_PARAM, "validity", number=A, validity=6)


# --- title, dates, periodic, customID, push -------------------------------------------


def test_title_longer_than_50_is_invalid() -> None:
    raises(Err.ERR_INVALID_PARAM, "title", number=A, title="t" * 51)


def test_title_is_stripped() -> None:
    assert create(number=A, title="  Kampanya  ").title == "Kampanya"


def test_sending_date_is_read_as_local_wall_time() -> None:
    assert create(number=A, sendingDate="2030-01-02 03:04").sending_date == datetime(
        2030, 1, 2, 3, 4
    )


def test_bad_sending_date_format_is_an_invalid_sending_date() -> None:
    raises(
        Err.ERR_INVALID_SMS_SENDING_DATE, "sendingDate", number=A, sendingDate="02.01.2030 03:04"
    )


def test_periodic_split_settings_are_read() -> None:
    req = create(number=A, periodicSettings={"periodType": 0, "interval": "15", "amount": 2000})
    assert req.periodic == Periodic(PeriodType.ONE_TIME, 15, 2000)


def test_periodic_repeat_settings_are_read() -> None:
    assert create(number=A, periodicSettings={"periodType": 3}).periodic == Periodic(
        PeriodType.MONTHLY
    )


def test_bad_periodic_amount_is_invalid() -> None:
    raises(
        Err.ERR_INVALID_PARAM,
        "periodicSettings.amount",
        number=A,
        periodicSettings={"periodType": 0, "interval": 1, "amount": 500},
    )


def test_periodic_settings_not_an_object_is_invalid() -> None:
    raises(Err.ERR_INVALID_PARAM, "periodicSettings", number=A, periodicSettings="daily")


def test_custom_id_is_checked() -> None:
    assert create(number=A, customID="abc-1.2").custom_id == "abc-1.2"
    raises(Err.ERR_INVALID_PARAM, "customID", number=A, customID="a b")


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "https://example.com/h?x=1", "HTTPS://EXAMPLE.COM/"]
)
def test_push_url_http_or_https_is_kept(url: str) -> None:
    assert create(number=A, pushSettings={"url": url}).push_url == url


def test_push_settings_without_url_mean_no_push() -> None:
    assert create(number=A, pushSettings={"url": ""}).push_url is None
    assert create(number=A, pushSettings={}).push_url is None


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("false", False), (1, True)])
def test_commercial_flag_is_read(value: bool | str | int, expected: bool) -> None:
    assert create(number=A, commercial=value).commercial is expected


# --- OTP ------------------------------------------------------------------------------


def test_otp_is_a_single_otp_sending_with_default_validity_6() -> None:
    req = otp()
    assert req.otp is True
    assert req.sms_type is SmsType.OTP
    assert req.sending_type is SendingType.SINGLE
    assert req.validity == 6
    assert list(req.recipients) == [Recipient(A)]
    assert req.content == "Kodunuz: 123456"
    assert req.sender == "BASLIK"


@pytest.mark.parametrize("validity", [3, "4", 6])
def test_otp_accepts_validity_3_to_6(validity: int | str) -> None:
    assert otp(validity=validity).validity == int(validity)


@pytest.mark.parametrize("validity", [2, 7, 60, 1440])
def test_otp_refuses_validity_outside_3_to_6(validity: int) -> None:
    with pytest.raises(DomainError) as excinfo:
        otp(validity=validity)
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == "validity"


def test_otp_ignores_sending_date_title_and_periodic_settings() -> None:
    req = otp(sendingDate="not a date", title="t" * 200, periodicSettings={"periodType": 99})
    assert req.sending_date is None
    assert req.title is None
    assert req.periodic is None


def test_otp_ignores_type_and_sending_type_sent_by_some_clients() -> None:
    req = otp(type=1, sendingType=1, skipAhsQuery=True)
    assert req.sms_type is SmsType.OTP
    assert req.sending_type is SendingType.SINGLE


def test_otp_ignores_even_malformed_type_fields() -> None:
    req = otp(type="abc", sendingType=7)
    assert req.sms_type is SmsType.OTP


def test_otp_reads_trust_date_with_seconds() -> None:
    assert otp(trustDate="2025-01-02 03:04:05").trust_date == datetime(2025, 1, 2, 3, 4, 5)


def test_otp_bad_trust_date_is_invalid() -> None:
    with pytest.raises(DomainError) as excinfo:
        otp(trustDate="yesterday")
    assert excinfo.value.field == "trustDate"


def test_trust_date_is_ignored_outside_otp() -> None:
    assert create(number=A, trustDate="2025-01-02 03:04:05").trust_date is None


def test_otp_number_as_one_element_list() -> None:
    assert list(otp(number=[5551234567]).recipients) == [Recipient(A)]


def test_otp_with_two_numbers_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        otp(number=[A, B])
    assert excinfo.value.field == "number"


def test_otp_without_content_is_invalid() -> None:
    with pytest.raises(DomainError) as excinfo:
        otp(content=None)
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == "content"


def test_otp_push_settings_and_custom_id_are_read() -> None:
    req = otp(pushSettings={"url": "https://h.example/x"}, customID="otp-1", commercial=False)
    assert req.push_url == "https://h.example/x"
    assert req.custom_id == "otp-1"
    assert req.commercial is False


@pytest.mark.parametrize("value", ["\ud800", "a\x00b", {"a": [1]}, [1], True])
def test_a_placeholder_value_that_is_not_storable_text_is_refused(value: object) -> None:
    # A lone surrogate reached the fingerprint as a 500; a NUL and an object were sent.
    with pytest.raises(DomainError) as caught:
        create(
            sendingType=2,
            content="Merhaba FIRST_NAME",
            numbers=[{"nr": A, "cfs": {"FIRST_NAME": value}}],
        )
    assert (caught.value.err, caught.value.field) == (Err.ERR_INVALID_PARAM, "cfs")


@pytest.mark.parametrize("when", ["2026-02-30 10:00", "9999-12-31 23:59", 12345, "yarın"])
def test_an_unreadable_sending_date_is_sms08_like_a_past_one(when: str | int) -> None:
    # Clients branch on ERR_INVALID_SMS_SENDING_DATE ("invalid or in the past").
    raises(Err.ERR_INVALID_SMS_SENDING_DATE, "sendingDate", sendingDate=when)
