"""SMS encoding and segment counting (3GPP TS 23.038 alphabets, TS 23.040 concatenation).

Encodings (``Encoding``):

- DEFAULT: the GSM 7-bit default alphabet (TS 23.038 6.2.1) and its extension table
  (6.2.1.1). A single SMS carries 160 septets; a part of a concatenated SMS 153 (the
  6-octet concatenation UDH takes 7 septets).
- TURKISH: the GSM 7-bit default alphabet as the locking table and the Turkish national
  language single shift table (A.2.1) instead of the default extension table. The
  single-shift UDH information element costs 3 octets, so 155 septets for a single SMS
  and 149 per part. The IE is always budgeted for, even when the text happens to use no
  shifted character.
- UNICODE: UCS-2, counted in UTF-16 code units: 70 for a single SMS, 67 per part. A
  character outside the BMP (an emoji) costs 2 units.

A character of an extension / single shift table costs 2 septets (ESC + code).

Splitting into parts is greedy, the way an SMSC cuts: each part is filled up to its
capacity, but an ESC + character pair and a UTF-16 surrogate pair are never split; the
whole pair moves to the next part. So the number of parts can exceed
ceil(units / per_part).

Characters outside the chosen encoding (product decision):

1. For the two 7-bit encodings, look-alike characters are first transliterated into the
   alphabet: typographic quotes, dashes, the ellipsis and non-breaking spaces
   (``_TYPOGRAPHIC``) for both, and for DEFAULT also the Turkish letters missing from
   the GSM alphabet (``_TURKISH_TO_GSM``: ş→s, Ş→S, ğ→g, Ğ→G, ı→i, İ→I, ç→Ç; the GSM
   alphabet has only the capital Ç; ö ü Ö Ü are in it already). TURKISH keeps the
   Turkish letters: they are in its single shift table.
2. If the text still has a character the 7-bit alphabet cannot carry (an emoji,
   Cyrillic, Arabic, a backtick, ...), the message goes out as UCS-2 instead: the
   original text, not transliterated, with ``upgraded=True`` and ``effective=UNICODE``.

UNICODE never transliterates. Text is not Unicode-normalised: a decomposed letter
(e.g. "s" + U+0327 combining cedilla) is not recognised as "ş".

``is_gsm7(text, UNICODE)`` answers whether the text, as is (no transliteration), fits the
DEFAULT alphabet, i.e. whether it could have been sent in 7 bits. An encoding that is not
an ``Encoding`` value (or is a bool / non-int) raises ValueError. The number of parts is
not capped here (the most parts a message may have is a policy of the callers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.domain.constants import Encoding

_ESC = "\x1b"

# TS 23.038 6.2.1, code points 0x00..0x7F in order; 0x1B is the escape, not a character.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(_GSM7_BASIC) == 128

# TS 23.038 6.2.1.1, the default extension table: code after ESC -> character.
_DEFAULT_EXTENSION: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# TS 23.038 A.2.1, the Turkish national language single shift table.
_TURKISH_SINGLE_SHIFT: dict[int, str] = {
    **_DEFAULT_EXTENSION,
    0x47: "Ğ",
    0x49: "İ",
    0x53: "Ş",
    0x63: "ç",
    0x67: "ğ",
    0x69: "ı",
    0x73: "ş",
}

# Typographic look-alikes, transliterated for both 7-bit encodings.
_TYPOGRAPHIC: dict[str, str] = {
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (also the apostrophe of word processors)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2212": "-",  # − minus sign
    "\u2026": "...",  # … horizontal ellipsis
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
}

# Turkish letters missing from the GSM default alphabet, transliterated for DEFAULT only.
_TURKISH_TO_GSM: dict[str, str] = {
    "ş": "s",
    "Ş": "S",
    "ğ": "g",
    "Ğ": "G",
    "ı": "i",
    "İ": "I",
    "ç": "Ç",
}

_LIMITS: dict[Encoding, tuple[int, int]] = {
    Encoding.DEFAULT: (160, 153),
    Encoding.TURKISH: (155, 149),
    Encoding.UNICODE: (70, 67),
}

_BASIC = frozenset(_GSM7_BASIC) - {_ESC}
# The ASCII characters of the basic table (deleted with bytes.translate by segment).
_BASIC_ASCII = bytes(sorted(ord(c) for c in _BASIC if c.isascii()))


@dataclass(frozen=True)
class _Alphabet:
    """A 7-bit alphabet precomputed for one encoding."""

    charset: frozenset[str]  # every character it can carry
    shifted: frozenset[str]  # those costing 2 septets
    translit: dict[str, str]  # look-alike -> replacement
    translit_keys: frozenset[str]
    single: int
    multi: int


def _alphabet(shift_table: dict[int, str], translit: dict[str, str], enc: Encoding) -> _Alphabet:
    """Precompute the sets and tables of a 7-bit alphabet."""
    shifted = frozenset(shift_table.values())
    charset = _BASIC | shifted
    assert all(set(v) <= charset and k not in charset for k, v in translit.items())
    single, multi = _LIMITS[enc]
    return _Alphabet(charset, shifted, translit, frozenset(translit), single, multi)


_ALPHABETS: dict[Encoding, _Alphabet] = {
    Encoding.DEFAULT: _alphabet(
        _DEFAULT_EXTENSION, {**_TYPOGRAPHIC, **_TURKISH_TO_GSM}, Encoding.DEFAULT
    ),
    Encoding.TURKISH: _alphabet(_TURKISH_SINGLE_SHIFT, _TYPOGRAPHIC, Encoding.TURKISH),
}
_ENCODINGS: dict[int, Encoding] = {int(e): e for e in Encoding}


@dataclass(frozen=True)
class Segmentation:
    """How a text goes out: encoding, text actually sent, its size and number of parts."""

    requested: Encoding  # what the caller asked for
    effective: Encoding  # what is actually sent (UNICODE when upgraded)
    text: str  # the text actually sent (after transliteration)
    units: int  # septets (7-bit) or UTF-16 code units (UCS-2) of the whole text
    parts: int  # number of SMS parts (>= 1; empty text is 1 part)
    per_part: int  # capacity of a part in this case (160/153/155/149/70/67)
    upgraded: bool  # True when a 7-bit request had to go out as UCS-2


def _coerce(encoding: Encoding | int) -> Encoding:
    """The Encoding of an Encoding or int; ValueError for anything else (bool included)."""
    if type(encoding) is not bool and isinstance(encoding, int):
        found = _ENCODINGS.get(encoding)
        if found is not None:
            return found
    raise ValueError(f"invalid encoding: {encoding!r}")


def _check_text(text: str) -> None:
    """TypeError unless text is a str."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")


def _ends(units: int, capacity: int, opens_pair: Callable[[int], bool]) -> list[int]:
    """Unit offsets where the greedy parts end; a pair cut after its first unit moves on."""
    ends: list[int] = []
    start = 0
    while start < units:
        end = start + capacity
        if end >= units:
            end = units
        elif opens_pair(end - 1):
            end -= 1
        ends.append(end)
        start = end
    return ends


def _septets(text: str, shifted: frozenset[str] | set[str]) -> str:
    """One character per septet: each shifted character preceded by ESC."""
    for c in shifted:
        text = text.replace(c, _ESC + c)
    return text


def _septet_ends(stream: str, capacity: int) -> list[int]:
    """Where the parts of a septet stream end, never between ESC and its character."""
    return _ends(len(stream), capacity, lambda i: stream[i] == _ESC)


def _utf16(text: str) -> bytes:
    """UTF-16-LE code units of text (lone surrogates passed through)."""
    return text.encode("utf-16-le", "surrogatepass")


def _utf16_ends(data: bytes, capacity: int) -> list[int]:
    """Where the parts of UTF-16-LE data end (in units), never inside a surrogate pair."""
    return _ends(len(data) // 2, capacity, lambda i: 0xD8 <= data[2 * i + 1] <= 0xDB)


def _ucs2(text: str, requested: Encoding, upgraded: bool) -> Segmentation:
    """Segmentation of text sent as UCS-2."""
    single, multi = _LIMITS[Encoding.UNICODE]
    data = None if text.isascii() else _utf16(text)
    units = len(text) if data is None else len(data) // 2
    if units <= single:
        count, per_part = 1, single
    elif data is None or units == len(text):
        count, per_part = -(-units // multi), multi
    else:
        count, per_part = len(_utf16_ends(data, multi)), multi
    return Segmentation(requested, Encoding.UNICODE, text, units, count, per_part, upgraded)


def _transliterate(text: str, alpha: _Alphabet, chars: set[str]) -> tuple[str, set[str]] | None:
    """The text to send and a superset of its non-basic characters; None: needs UCS-2.

    chars must hold at least every character of text outside the basic table.
    """
    missing = chars - alpha.charset
    if not missing:
        return text, chars
    if not missing <= alpha.translit_keys:
        return None
    chars -= missing
    for c in missing:
        replacement = alpha.translit[c]
        text = text.replace(c, replacement)
        chars.update(replacement)
    return text, chars


def segment(text: str, encoding: Encoding | int) -> Segmentation:
    """Encoding actually used, text actually sent, its size and number of parts."""
    enc = _coerce(encoding)
    _check_text(text)
    alpha = _ALPHABETS.get(enc)
    if alpha is None:
        return _ucs2(text, enc, upgraded=False)
    # Only the characters outside the ASCII part of the basic table matter; deleting ASCII
    # bytes from UTF-8 leaves the other characters' sequences whole, and is done in C.
    odd = text.encode("utf-8", "surrogatepass").translate(None, _BASIC_ASCII)
    if not odd:
        units = len(text)
        if units <= alpha.single:
            return Segmentation(enc, enc, text, units, 1, alpha.single, False)
        return Segmentation(enc, enc, text, units, -(-units // alpha.multi), alpha.multi, False)
    fitted = _transliterate(text, alpha, set(odd.decode("utf-8", "surrogatepass")))
    if fitted is None:
        return _ucs2(text, enc, upgraded=True)
    sent, chars = fitted
    shifted = alpha.shifted & chars
    units = len(sent) + sum(map(sent.count, shifted))
    if units <= alpha.single:
        count, per_part = 1, alpha.single
    elif not shifted:
        count, per_part = -(-units // alpha.multi), alpha.multi
    else:
        count, per_part = len(_septet_ends(_septets(sent, shifted), alpha.multi)), alpha.multi
    return Segmentation(enc, enc, sent, units, count, per_part, False)


def parts(text: str, encoding: Encoding | int) -> int:
    """Number of SMS parts of text in encoding."""
    return segment(text, encoding).parts


def split(text: str, encoding: Encoding | int) -> list[str]:
    """The text of each part, as an SMSC would cut it (transliterated when 7-bit)."""
    seg = segment(text, encoding)
    if seg.parts == 1:
        return [seg.text]
    if seg.effective is Encoding.UNICODE:
        data = _utf16(seg.text)
        ends = _utf16_ends(data, seg.per_part)
        return [
            data[2 * a : 2 * b].decode("utf-16-le", "surrogatepass")
            for a, b in zip([0, *ends[:-1]], ends, strict=True)
        ]
    stream = _septets(seg.text, _ALPHABETS[seg.effective].shifted.intersection(seg.text))
    ends = _septet_ends(stream, seg.per_part)
    return [stream[a:b].replace(_ESC, "") for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def is_gsm7(text: str, encoding: Encoding | int) -> bool:
    """Whether text goes out in 7 bits (after transliteration); UNICODE: as is, in DEFAULT."""
    enc = _coerce(encoding)
    _check_text(text)
    alpha = _ALPHABETS.get(enc)
    if alpha is None:
        return set(text) <= _ALPHABETS[Encoding.DEFAULT].charset
    return set(text) - alpha.charset <= alpha.translit_keys


# Septet codes of the tables above, for the links that put a part on the wire.
_BASIC_CODES: dict[str, int] = {c: i for i, c in enumerate(_GSM7_BASIC) if c != _ESC}
_SHIFT_CODES: dict[Encoding, dict[str, int]] = {
    Encoding.DEFAULT: {c: code for code, c in _DEFAULT_EXTENSION.items()},
    Encoding.TURKISH: {c: code for code, c in _TURKISH_SINGLE_SHIFT.items()},
}


def septets(part: str, encoding: Encoding | int) -> bytes:
    """A part's GSM 7-bit codes, one per octet (unpacked), ESC before each shifted one.

    `part` is one element of ``split`` for a 7-bit encoding; TURKISH uses the Turkish
    single shift table for ESC codes (the UDH must say so). ValueError for a character
    the alphabet cannot carry (the caller skipped ``split``).
    """
    shift = _SHIFT_CODES.get(_coerce(encoding))
    if shift is None:
        raise ValueError("septets: UNICODE is not a 7-bit encoding")
    out = bytearray()
    for c in part:
        code = _BASIC_CODES.get(c)
        if code is not None:
            out.append(code)
        elif c in shift:
            out += bytes((0x1B, shift[c]))
        else:
            raise ValueError(f"septets: {c!r} is not in the 7-bit alphabet")
    return bytes(out)


def from_septets(data: bytes, encoding: Encoding | int) -> str:
    """Text of unpacked GSM 7-bit codes (ESC codes via the encoding's shift table)."""
    shift = _SHIFT_CODES.get(_coerce(encoding))
    if shift is None:
        raise ValueError("from_septets: UNICODE is not a 7-bit encoding")
    table = {v: k for k, v in shift.items()}
    out: list[str] = []
    escaped = False
    for code in data:
        code &= 0x7F
        if escaped:
            # An unknown escape shows the basic character (TS 23.038 6.2.1.1).
            out.append(table.get(code, _GSM7_BASIC[code]))
            escaped = False
        elif code == 0x1B:
            escaped = True
        else:
            out.append(_GSM7_BASIC[code])
    return "".join(out)
