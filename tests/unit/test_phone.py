"""Turkish mobile numbers: normalisation to 905xxxxxxxxx and operator by prefix."""

from __future__ import annotations

import pytest

from service.domain.constants import Operator
from service.domain.phone import normalize, operator_of

# --- accepted forms -------------------------------------------------------------------


def test_twelve_digit_string_with_905_is_kept_as_is() -> None:
    assert normalize("905551234567") == "905551234567"


def test_eleven_digit_number_with_leading_zero_becomes_905() -> None:
    assert normalize("05551234567") == "905551234567"


def test_ten_digit_number_starting_with_5_gets_90_prefix() -> None:
    assert normalize("5551234567") == "905551234567"


def test_int_with_country_code_becomes_string() -> None:
    assert normalize(905551234567) == "905551234567"


def test_ten_digit_int_gets_90_prefix() -> None:
    assert normalize(5551234567) == "905551234567"


def test_plus_90_prefix_is_dropped_to_the_plain_form() -> None:
    assert normalize("+905551234567") == "905551234567"


@pytest.mark.parametrize(
    "value",
    [" 905551234567", "905551234567 ", "\t05551234567\n", "  +905551234567  ", " 5551234567 "],
)
def test_surrounding_whitespace_is_ignored(value: str) -> None:
    assert normalize(value) == "905551234567"


def test_float_without_fraction_is_accepted_as_a_number() -> None:
    assert normalize(5551234567.0) == "905551234567"
    assert normalize(905551234567.0) == "905551234567"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("905001234567", "905001234567"),
        ("05301234567", "905301234567"),
        ("5991234567", "905991234567"),
    ],
)
def test_any_5xx_mobile_prefix_normalises(value: str, expected: str) -> None:
    assert normalize(value) == expected


# --- rejected forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "90555123456",  # 11 digits starting 90, one short
        "9055512345678",  # 13 digits
        "0555123456",  # 10 digits with leading zero
        "055512345678",  # 12 digits with leading zero
        "555123456",  # 9 digits
        "55512345678",  # 11 digits starting 5
        "",
        "5",
    ],
)
def test_wrong_length_is_rejected(value: str) -> None:
    assert normalize(value) is None


@pytest.mark.parametrize(
    "value", ["902121234567", "02121234567", "2121234567", 902161234567, 2121234567, "903121234567"]
)
def test_landline_numbers_are_rejected(value: str | int) -> None:
    assert normalize(value) is None


@pytest.mark.parametrize("value", ["90555123456a", "abc", "5551234567x", "++905551234567"])
def test_letters_and_punctuation_are_rejected(value: str) -> None:
    assert normalize(value) is None


def test_non_ascii_digits_are_rejected() -> None:
    # Arabic-Indic digits pass str.isdigit() but are not a phone number here.
    assert normalize("٩٠٥٥٥١٢٣٤٥٦٧") is None


@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_a_number(value: bool) -> None:
    assert normalize(value) is None


def test_none_is_rejected() -> None:
    assert normalize(None) is None


def test_float_with_fraction_is_rejected() -> None:
    assert normalize(5551234567.5) is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -5551234567, 1e20])
def test_nan_infinity_negative_and_huge_numbers_are_rejected(value: float) -> None:
    assert normalize(value) is None


@pytest.mark.parametrize("value", [[905551234567], {"nr": 905551234567}, b"905551234567"])
def test_containers_and_bytes_are_rejected(value: object) -> None:
    assert normalize(value) is None


# --- operators ------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [*range(530, 540), 561])
def test_turkcell_prefixes(prefix: int) -> None:
    assert operator_of(f"90{prefix}1234567") is Operator.TURKCELL


@pytest.mark.parametrize("prefix", range(540, 550))
def test_vodafone_prefixes(prefix: int) -> None:
    assert operator_of(f"90{prefix}1234567") is Operator.VODAFONE


@pytest.mark.parametrize("prefix", [*range(500, 508), *range(550, 560)])
def test_turktelekom_prefixes(prefix: int) -> None:
    assert operator_of(f"90{prefix}1234567") is Operator.TURKTELEKOM


def test_netgsm_prefix_510() -> None:
    assert operator_of("905101234567") is Operator.NETGSM


@pytest.mark.parametrize("prefix", [508, 509, 511, 520, 560, 562, 599])
def test_unknown_prefix_has_no_operator(prefix: int) -> None:
    assert operator_of(f"90{prefix}1234567") is None


def test_operator_values_match_the_spec_constants() -> None:
    assert [
        int(o)
        for o in (Operator.TURKCELL, Operator.VODAFONE, Operator.TURKTELEKOM, Operator.NETGSM)
    ] == [0, 1, 2, 3]


def test_operator_of_a_normalised_int_input() -> None:
    number = normalize(5321234567)
    assert number == "905321234567"
    assert operator_of(number) is Operator.TURKCELL


@pytest.mark.parametrize(
    "value",
    [
        "0532 123 45 67",
        "+90 (532) 123-45-67",
        "532.123.45.67",
        "90 532 1234567",
        "0532-123-4567",
        "+ 90 532 123 45 67",
    ],
)
def test_separators_people_type_inside_numbers_are_ignored(value: str) -> None:
    assert normalize(value) == "905321234567"


def test_separators_do_not_make_a_short_number_valid() -> None:
    assert normalize("532 123 45") is None
