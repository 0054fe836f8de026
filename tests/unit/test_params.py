"""Request parameters: case-insensitive names, blanks as "not given", typed coercion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.api.node.params import Params, is_blank, to_bool, to_datetime, to_int
from service.domain.errors import DomainError, Err


def _invalid(excinfo: pytest.ExceptionInfo[DomainError], field: str) -> None:
    """The raised error is ERR_INVALID_PARAM naming `field`."""
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == field
    assert excinfo.value.message.startswith(f"{Err.ERR_INVALID_PARAM.message} {field}: ")


# --- is_blank -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", {}])
def test_none_empty_and_whitespace_strings_and_empty_dict_are_blank(value: object) -> None:
    assert is_blank(value) is True


@pytest.mark.parametrize("value", [0, False, "0", " x ", {"a": 1}, [], 0.0])
def test_zero_false_text_and_lists_are_not_blank(value: object) -> None:
    assert is_blank(value) is False


# --- case-insensitive names -----------------------------------------------------------


def test_field_names_are_case_insensitive() -> None:
    params = Params({"Operator": 2})
    assert params.int("operator") == 2
    assert params.int("OPERATOR") == 2
    assert params["operator"] == 2
    assert "oPeRaToR" in params


def test_lower_case_name_read_with_mixed_case_getter() -> None:
    assert Params({"pkgid": 7}).int("pkgID") == 7


def test_keys_are_exposed_lower_cased() -> None:
    params = Params({"PkgID": 1, "customID": "a"})
    assert sorted(params) == ["customid", "pkgid"]
    assert len(params) == 2


def test_first_spelling_wins_when_a_name_is_sent_twice_in_different_case() -> None:
    assert Params({"Operator": 1, "operator": 2}).int("operator") == 1


def test_contains_is_false_for_absent_and_non_string_keys() -> None:
    params = Params({"a": 1})
    assert "b" not in params
    assert 1 not in params  # type: ignore[comparison-overlap]  # the point: a non-str key


def test_missing_item_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Params({})["x"]


def test_params_of_none_is_empty() -> None:
    assert len(Params(None)) == 0
    assert Params().raw("x") is None


# --- "not given" ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "  ", {}])
def test_blank_values_mean_not_given(value: object) -> None:
    params = Params({"validity": value})
    assert params.raw("validity") is None
    assert params.given("validity") is False
    assert params.int("validity") is None
    assert params.int("validity", 1440) == 1440
    assert params.str("validity", "d") == "d"
    assert params.bool("validity", True) is True
    assert params.date("validity") is None
    assert params.list("validity") is None
    assert params.dict("validity") is None


def test_absent_field_is_not_given_and_takes_the_default() -> None:
    params = Params({})
    assert params.given("x") is False
    assert params.int("x", 5) == 5
    assert params.str("x") is None


def test_zero_and_false_are_given() -> None:
    params = Params({"a": 0, "b": False})
    assert params.given("a") is True
    assert params.given("b") is True
    assert params.int("a", 9) == 0
    assert params.bool("b", True) is False


# --- int ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), ("12", 12), (" 12 ", 12), (12.0, 12), ("-3", -3), ("+7", 7), ("0", 0), (-4, -4)],
)
def test_int_coercion_accepts_ints_digit_strings_and_whole_floats(
    value: int | str | float, expected: int
) -> None:
    result = Params({"n": value}).int("n")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    ["1.5", "abc", 1.5, "12a", "1e3", "12.0", "1 000", [1], {"a": 1}, float("nan"), float("inf")],
)
def test_int_coercion_rejects_fractions_and_text_naming_the_field(value: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"pageSize": value}).int("pageSize")
    _invalid(excinfo, "pageSize")


def test_to_int_names_the_field_it_was_given() -> None:
    with pytest.raises(DomainError) as excinfo:
        to_int("abc", "periodicSettings.amount")
    _invalid(excinfo, "periodicSettings.amount")


def test_to_int_blank_gives_default() -> None:
    assert to_int("", "x", 3) == 3
    assert to_int(None, "x") is None


@pytest.mark.parametrize("value", ["+-5", "--5"])
def test_int_coercion_rejects_doubled_signs_with_invalid_param(value: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        to_int(value, "validity")
    _invalid(excinfo, "validity")


def test_int_coercion_rejects_superscript_digits_with_invalid_param() -> None:
    with pytest.raises(DomainError) as excinfo:
        to_int("²", "encoding")
    _invalid(excinfo, "encoding")


# Python refuses int() of more than 4,300 digits with a ValueError (a 500, before this test).
@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "-" + "9" * 5000, " +" + "1" * 4301 + " ", "1" * 20, "9" * 4300],
    ids=["5000", "minus-5000", "plus-4301-spaced", "20", "4300"],
)
def test_int_coercion_refuses_more_digits_than_any_field_holds(value: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        to_int(value, "pageSize")
    _invalid(excinfo, "pageSize")


def test_leading_zeros_do_not_count_as_digits() -> None:
    assert to_int("0" * 5000 + "42", "pageSize") == 42
    assert to_int("-" + "0" * 5000, "pageSize") == 0


# --- str ------------------------------------------------------------------------------


def test_str_strips_and_turns_numbers_into_text() -> None:
    params = Params({"sender": "  BASLIK  ", "gsm": 905551234567, "f": 1.5})
    assert params.str("sender") == "BASLIK"
    assert params.str("gsm") == "905551234567"
    assert params.str("f") == "1.5"


@pytest.mark.parametrize("value", [True, [1], {"a": 1}])
def test_str_rejects_bools_lists_and_objects(value: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"title": value}).str("title")
    _invalid(excinfo, "title")


# --- bool -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, 1, "1", "true", "TRUE", " True ", "yes", "on", "evet"])
def test_truthy_values_become_true(value: bool | int | str) -> None:
    assert Params({"commercial": value}).bool("commercial") is True


@pytest.mark.parametrize("value", [False, 0, "0", "false", "False", "no", "off", "hayir", "hayır"])
def test_falsy_values_become_false(value: bool | int | str) -> None:
    assert Params({"commercial": value}).bool("commercial") is False


@pytest.mark.parametrize("value", [2, -1, "maybe", "2", 1.0, [True]])
def test_other_values_are_not_bools(value: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"commercial": value}).bool("commercial")
    _invalid(excinfo, "commercial")


def test_to_bool_blank_gives_default() -> None:
    assert to_bool("", "x", False) is False
    assert to_bool(None, "x") is None


# --- list -----------------------------------------------------------------------------


def test_list_takes_a_single_value_as_one_element_list() -> None:
    assert Params({"numbers": 905551234567}).list("numbers") == [905551234567]
    assert Params({"numbers": "905551234567"}).list("numbers") == ["905551234567"]


@pytest.mark.parametrize("blank", [None, "", " ", {}])
def test_a_blank_list_element_is_an_error_naming_field_and_position(blank: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"ids": [1, blank, 2]}).list("ids")
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == "ids" and "2." in excinfo.value.message


def test_list_accepts_tuples() -> None:
    assert Params({"ids": (1, 2)}).list("ids") == [1, 2]


def test_empty_list_is_an_empty_list() -> None:
    assert Params({"ids": []}).list("ids") == []


# --- dict -----------------------------------------------------------------------------


def test_dict_gives_case_insensitive_params() -> None:
    nested = Params({"pushSettings": {"URL": "http://x"}}).dict("pushsettings")
    assert isinstance(nested, Params)
    assert nested.str("url") == "http://x"


@pytest.mark.parametrize("value", ["http://x", [1], 5])
def test_dict_rejects_non_objects(value: object) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"pushSettings": value}).dict("pushSettings")
    _invalid(excinfo, "pushSettings")


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04 05:06", datetime(2025, 3, 4, 5, 6)),
        ("2025-03-04 05:06:07", datetime(2025, 3, 4, 5, 6, 7)),
        ("2025-03-04T05:06", datetime(2025, 3, 4, 5, 6)),
        ("2025-03-04T05:06:07", datetime(2025, 3, 4, 5, 6, 7)),
        ("2025-03-04", datetime(2025, 3, 4)),
        ("  2025-03-04 05:06  ", datetime(2025, 3, 4, 5, 6)),
    ],
)
def test_date_formats_of_the_api_are_parsed_naive(text: str, expected: datetime) -> None:
    result = Params({"sendingDate": text}).date("sendingDate")
    assert result == expected
    assert result.tzinfo is None


@pytest.mark.parametrize(
    "text",
    [
        "04.03.2025 05:06",
        "2025-02-30 10:00",
        "2025-03-04 25:00",
        "yesterday",
        "2025/03/04 05:06",
        "1700000000",
    ],
)
def test_other_date_texts_are_invalid_naming_the_field(text: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        Params({"startDate": text}).date("startDate")
    _invalid(excinfo, "startDate")


def test_non_text_date_is_invalid() -> None:
    with pytest.raises(DomainError) as excinfo:
        to_datetime(1700000000, "finishDate")
    _invalid(excinfo, "finishDate")


def test_naive_datetime_passes_through() -> None:
    value = datetime(2025, 1, 2, 3, 4)
    assert to_datetime(value, "x") == value


def test_aware_datetime_passes_through_unchanged() -> None:
    value = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    assert to_datetime(value, "x") is value


def test_blank_date_is_none() -> None:
    assert to_datetime("", "x") is None
    assert to_datetime(None, "x") is None
