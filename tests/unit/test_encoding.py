"""SMS encoding and segment counting (service.domain.encoding)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from service.domain.constants import Encoding
from service.domain.encoding import Segmentation, is_gsm7, parts, segment, split

DEFAULT, TURKISH, UNICODE = Encoding.DEFAULT, Encoding.TURKISH, Encoding.UNICODE

GSM_BASIC_NON_ASCII = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà"
DEFAULT_EXTENSION = "\f^{}\\[~]|€"
TURKISH_SHIFTED = "ĞİŞçğış"
EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16
SISLI = "Şişli'de ğüzel ıslak çiçek"


# --- exact boundaries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected_parts", "expected_per_part"),
    [(1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153), (459, 3, 153)],
)
def test_default_boundaries_160_single_153_per_part(
    length: int, expected_parts: int, expected_per_part: int
) -> None:
    seg = segment("a" * length, DEFAULT)
    assert (seg.units, seg.parts, seg.per_part) == (length, expected_parts, expected_per_part)
    assert seg.effective is DEFAULT and not seg.upgraded


@pytest.mark.parametrize(
    ("length", "expected_parts", "expected_per_part"),
    [(155, 1, 155), (156, 2, 149), (298, 2, 149), (299, 3, 149), (447, 3, 149), (448, 4, 149)],
)
def test_turkish_boundaries_155_single_149_per_part(
    length: int, expected_parts: int, expected_per_part: int
) -> None:
    seg = segment("a" * length, TURKISH)
    assert (seg.units, seg.parts, seg.per_part) == (length, expected_parts, expected_per_part)
    assert seg.effective is TURKISH and not seg.upgraded


def test_turkish_budgets_the_shift_ie_even_without_turkish_letters() -> None:
    assert segment("a" * 156, TURKISH).parts == 2
    assert segment("a" * 156, DEFAULT).parts == 1


@pytest.mark.parametrize(
    ("length", "expected_parts", "expected_per_part"),
    [(70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67), (201, 3, 67), (202, 4, 67)],
)
def test_ucs2_boundaries_70_single_67_per_part(
    length: int, expected_parts: int, expected_per_part: int
) -> None:
    seg = segment("a" * length, UNICODE)
    assert (seg.units, seg.parts, seg.per_part) == (length, expected_parts, expected_per_part)
    assert seg.effective is UNICODE and not seg.upgraded


def test_ucs2_boundaries_hold_for_non_ascii_bmp_text() -> None:
    assert segment("ş" * 70, UNICODE).parts == 1
    assert segment("ş" * 71, UNICODE).parts == 2
    assert segment("ş" * 134, UNICODE).parts == 2
    assert segment("ş" * 135, UNICODE).parts == 3


# --- extension characters -------------------------------------------------------------


@pytest.mark.parametrize("char", list(DEFAULT_EXTENSION))
def test_default_extension_character_costs_two_septets(char: str) -> None:
    seg = segment(char, DEFAULT)
    assert (seg.units, seg.text, seg.upgraded) == (2, char, False)


@pytest.mark.parametrize("char", list(DEFAULT_EXTENSION))
def test_turkish_shift_table_still_has_the_default_extension_characters(char: str) -> None:
    seg = segment(char, TURKISH)
    assert (seg.units, seg.text, seg.upgraded) == (2, char, False)


def test_basic_table_non_ascii_characters_cost_one_septet() -> None:
    seg = segment(GSM_BASIC_NON_ASCII, DEFAULT)
    assert seg.units == len(GSM_BASIC_NON_ASCII) == 39
    assert not seg.upgraded and seg.text == GSM_BASIC_NON_ASCII
    assert segment(GSM_BASIC_NON_ASCII, TURKISH).units == 39


def test_line_feed_and_carriage_return_are_basic_form_feed_is_extension() -> None:
    assert segment("a\r\nb", DEFAULT).units == 4
    assert segment("a\fb", DEFAULT).units == 4


def test_extension_characters_push_a_message_over_160() -> None:
    assert segment("a" * 158 + "€", DEFAULT).parts == 1
    assert segment("a" * 158 + "€", DEFAULT).units == 160
    assert segment("a" * 159 + "€", DEFAULT).parts == 2
    assert segment("a" * 159 + "€", DEFAULT).units == 161


def test_escape_pair_is_not_split_152_plain_then_euro() -> None:
    text = "a" * 152 + "€" + "b" * 10
    seg = segment(text, DEFAULT)
    assert (seg.units, seg.parts, seg.per_part) == (164, 2, 153)
    assert split(text, DEFAULT) == ["a" * 152, "€" + "b" * 10]


def test_escape_pair_moving_to_next_part_can_add_a_part() -> None:
    # 306 septets would fit 2 x 153, but the euro cannot straddle the boundary.
    text = "a" * 152 + "€" + "b" * 152
    seg = segment(text, DEFAULT)
    assert (seg.units, seg.parts) == (306, 3)
    assert split(text, DEFAULT) == ["a" * 152, "€" + "b" * 151, "b"]


def test_escape_pair_ending_exactly_at_capacity_stays_in_the_part() -> None:
    text = "a" * 151 + "€" + "b" * 153
    assert segment(text, DEFAULT).parts == 2
    assert split(text, DEFAULT) == ["a" * 151 + "€", "b" * 153]


def test_turkish_shift_pair_is_not_split_at_149() -> None:
    text = "a" * 148 + "ş" + "b" * 148
    seg = segment(text, TURKISH)
    assert (seg.units, seg.parts, seg.per_part) == (298, 3, 149)
    assert split(text, TURKISH) == ["a" * 148, "ş" + "b" * 147, "b"]


# --- Turkish text in each encoding ----------------------------------------------------


def test_turkish_text_in_default_is_transliterated() -> None:
    seg = segment(SISLI, DEFAULT)
    assert seg.text == "Sisli'de güzel islak ÇiÇek"
    assert (seg.units, seg.parts, seg.per_part) == (26, 1, 160)
    assert (seg.effective, seg.upgraded) == (DEFAULT, False)


def test_turkish_text_in_turkish_keeps_letters_at_two_septets_each() -> None:
    seg = segment(SISLI, TURKISH)
    assert seg.text == SISLI
    # 26 characters, 6 of them shifted (Ş ş ğ ı ç ç): 26 + 6.
    assert (seg.units, seg.parts, seg.per_part) == (32, 1, 155)
    assert (seg.effective, seg.upgraded) == (TURKISH, False)


def test_turkish_text_in_unicode_is_one_unit_per_letter() -> None:
    seg = segment(SISLI, UNICODE)
    assert seg.text == SISLI
    assert (seg.units, seg.parts, seg.per_part) == (26, 1, 70)
    assert (seg.requested, seg.effective, seg.upgraded) == (UNICODE, UNICODE, False)


def test_every_turkish_shift_character_costs_two_septets() -> None:
    seg = segment(TURKISH_SHIFTED, TURKISH)
    assert (seg.units, seg.text) == (14, TURKISH_SHIFTED)


def test_turkish_letters_in_the_basic_table_cost_one_septet_in_turkish() -> None:
    seg = segment("ÇÖÜöü", TURKISH)
    assert (seg.units, seg.text) == (5, "ÇÖÜöü")


def test_default_transliterates_every_turkish_letter_missing_from_gsm() -> None:
    seg = segment("şŞğĞıİçÇöüÖÜ", DEFAULT)
    assert seg.text == "sSgGiIÇÇöüÖÜ"
    assert (seg.units, seg.upgraded) == (12, False)


# --- upgrade to UCS-2 -----------------------------------------------------------------


@pytest.mark.parametrize("encoding", [DEFAULT, TURKISH])
def test_emoji_upgrades_to_ucs2_and_counts_two_units(encoding: Encoding) -> None:
    text = "Merhaba " + EMOJI
    seg = segment(text, encoding)
    assert seg == Segmentation(
        requested=encoding,
        effective=UNICODE,
        text=text,
        units=10,
        parts=1,
        per_part=70,
        upgraded=True,
    )


def test_upgrade_keeps_the_original_text_untransliterated() -> None:
    text = "Şişli’de " + EMOJI
    seg = segment(text, DEFAULT)
    assert (seg.text, seg.upgraded, seg.units) == (text, True, 11)


@pytest.mark.parametrize("text", ["Привет", "مرحبا", "日本", "`", "\x1b", "á", "\t"])
def test_characters_without_a_gsm_equivalent_upgrade(text: str) -> None:
    seg = segment(text, DEFAULT)
    assert (seg.effective, seg.upgraded, seg.text, seg.units) == (UNICODE, True, text, len(text))


def test_emoji_counts_two_units_in_unicode() -> None:
    seg = segment(EMOJI * 35, UNICODE)
    assert (seg.units, seg.parts) == (70, 1)
    seg = segment("a" + EMOJI * 35, UNICODE)
    assert (seg.units, seg.parts, seg.per_part) == (71, 2, 67)


def test_surrogate_pair_is_not_split_and_can_add_a_part() -> None:
    # 134 units would fit 2 x 67, but the emoji cannot straddle the boundary.
    text = "a" * 66 + EMOJI + "b" * 66
    seg = segment(text, UNICODE)
    assert (seg.units, seg.parts) == (134, 3)
    assert split(text, UNICODE) == ["a" * 66, EMOJI + "b" * 65, "b"]


def test_surrogate_pair_ending_exactly_at_capacity_stays_in_the_part() -> None:
    text = "a" * 65 + EMOJI + "b" * 67
    assert segment(text, UNICODE).parts == 2
    assert split(text, UNICODE) == ["a" * 65 + EMOJI, "b" * 67]


def test_upgraded_message_is_split_on_ucs2_limits() -> None:
    text = "a" * 66 + EMOJI + "b" * 66
    seg = segment(text, DEFAULT)
    assert (seg.effective, seg.upgraded, seg.parts, seg.per_part) == (UNICODE, True, 3, 67)
    assert split(text, DEFAULT) == ["a" * 66, EMOJI + "b" * 65, "b"]


# --- look-alikes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "replacement"),
    [
        ("\u2018", "'"),
        ("\u2019", "'"),
        ("\u201a", "'"),
        ("\u201c", '"'),
        ("\u201d", '"'),
        ("\u201e", '"'),
        ("\u2010", "-"),
        ("\u2011", "-"),
        ("\u2013", "-"),
        ("\u2014", "-"),
        ("\u2212", "-"),
        ("\u2026", "..."),
        ("\u00a0", " "),
        ("\u202f", " "),
    ],
)
@pytest.mark.parametrize("encoding", [DEFAULT, TURKISH])
def test_typographic_look_alikes_are_transliterated(
    char: str, replacement: str, encoding: Encoding
) -> None:
    seg = segment(f"x{char}y", encoding)
    assert seg.text == f"x{replacement}y"
    assert (seg.units, seg.effective, seg.upgraded) == (2 + len(replacement), encoding, False)


def test_look_alikes_in_a_sentence() -> None:
    text = "“Kampanya” – 10\u00a0TL… ‘son gün’"
    seg = segment(text, DEFAULT)
    assert seg.text == "\"Kampanya\" - 10 TL... 'son gün'"
    assert (seg.units, seg.upgraded) == (31, False)


def test_turkish_keeps_turkish_letters_but_transliterates_look_alikes() -> None:
    seg = segment("“Şişli”", TURKISH)
    assert (seg.text, seg.units) == ('"Şişli"', 9)


def test_ellipsis_transliteration_can_add_a_part() -> None:
    assert segment("a" * 158 + "…", DEFAULT).units == 161
    assert segment("a" * 158 + "…", DEFAULT).parts == 2


def test_unicode_never_transliterates() -> None:
    text = "“Şişli” – …\u00a0"
    seg = segment(text, UNICODE)
    assert (seg.text, seg.units, seg.upgraded) == (text, 12, False)


# --- empty text, encodings, API -------------------------------------------------------


@pytest.mark.parametrize(("encoding", "single"), [(DEFAULT, 160), (TURKISH, 155), (UNICODE, 70)])
def test_empty_text_is_one_part(encoding: Encoding, single: int) -> None:
    assert segment("", encoding) == Segmentation(encoding, encoding, "", 0, 1, single, False)
    assert split("", encoding) == [""]
    assert parts("", encoding) == 1


@pytest.mark.parametrize(("value", "encoding"), [(0, DEFAULT), (1, TURKISH), (2, UNICODE)])
def test_int_encodings_are_accepted(value: int, encoding: Encoding) -> None:
    seg = segment(SISLI, value)
    assert seg == segment(SISLI, encoding)
    assert seg.requested is encoding
    assert type(seg.effective) is Encoding


@pytest.mark.parametrize("value", [-1, 3, 99, "0", 1.0, None, True])
def test_invalid_encoding_raises_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match="invalid encoding"):
        segment("abc", value)
    with pytest.raises(ValueError, match="invalid encoding"):
        is_gsm7("abc", value)


def test_non_str_text_raises_type_error() -> None:
    with pytest.raises(TypeError):
        segment(b"abc", DEFAULT)  # type: ignore[arg-type]


def test_parts_is_the_parts_of_segment() -> None:
    assert parts("a" * 161, 0) == 2
    assert parts("a" * 161, 2) == 3
    assert parts(SISLI * 6, 1) == 2  # 192 septets


def test_split_parts_respect_capacity_and_rejoin_to_the_sent_text() -> None:
    text = ("Şişli'de ğüzel ıslak çiçek € {x} " + EMOJI) * 5
    for encoding in (DEFAULT, TURKISH, UNICODE):
        seg = segment(text, encoding)
        pieces = split(text, encoding)
        assert "".join(pieces) == seg.text
        assert len(pieces) == seg.parts
    pieces = split("Şişli'de ğüzel ıslak çiçek {x} " * 10, TURKISH)
    assert [segment(p, TURKISH).units for p in pieces] == [149, 149, 92]
    assert "".join(pieces) == "Şişli'de ğüzel ıslak çiçek {x} " * 10


def test_split_single_part_returns_the_transliterated_text() -> None:
    assert split(SISLI, DEFAULT) == ["Sisli'de güzel islak ÇiÇek"]


def test_is_gsm7() -> None:
    assert is_gsm7(SISLI, DEFAULT) is True
    assert is_gsm7(SISLI, TURKISH) is True
    assert is_gsm7("“a”", DEFAULT) is True
    assert is_gsm7("a" + EMOJI, DEFAULT) is False
    assert is_gsm7("Привет", TURKISH) is False
    assert is_gsm7("", DEFAULT) is True


def test_is_gsm7_for_unicode_checks_the_default_alphabet_without_transliteration() -> None:
    assert is_gsm7("Merhaba {€}", UNICODE) is True
    assert is_gsm7(SISLI, UNICODE) is False
    assert is_gsm7("“a”", UNICODE) is False


# --- against a character-by-character reference ---------------------------------------


def _reference_parts(text: str, encoding: Encoding) -> tuple[int, int]:
    """Units and parts, computed one character at a time (slow and obvious)."""
    wide = set(DEFAULT_EXTENSION) | (set(TURKISH_SHIFTED) if encoding is TURKISH else set())
    if encoding is UNICODE:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    else:
        costs = [2 if c in wide else 1 for c in text]
    single, multi = {DEFAULT: (160, 153), TURKISH: (155, 149), UNICODE: (70, 67)}[encoding]
    units = sum(costs)
    if units <= single:
        return units, 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return units, count


@pytest.mark.parametrize("encoding", [DEFAULT, TURKISH, UNICODE])
def test_units_and_parts_match_a_per_character_reference(encoding: Encoding) -> None:
    alphabet = "abc Çé€{}\fşğİı" + (EMOJI if encoding is UNICODE else "")
    rng = random.Random(20250501 + encoding)
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 500)))
        seg = segment(text, encoding)
        assert not seg.upgraded
        assert (seg.units, seg.parts) == _reference_parts(seg.text, encoding), text
        pieces = split(text, encoding)
        assert "".join(pieces) == seg.text
        assert len(pieces) == seg.parts
