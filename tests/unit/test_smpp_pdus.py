"""SMPP PDU contents without I/O: parts and UDH as priced, submit_sm fields, receipts, MO."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.delivery.carriers import smpp_pdus as p
from service.delivery.carriers.smpp_options import SmppOptions
from service.domain import encoding
from service.domain.carrier import Submission
from service.domain.constants import Encoding, ItemState

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 3, 1, 12, 0, 0)

TEXTS = [
    ("Merhaba dünya", Encoding.DEFAULT),
    ("a" * 160, Encoding.DEFAULT),
    ("a" * 161, Encoding.DEFAULT),
    ("x{" * 80, Encoding.DEFAULT),  # escapes at part boundaries
    ("Şeker ığdır", Encoding.TURKISH),
    ("ş" * 77 + "a", Encoding.TURKISH),
    ("ş" * 78, Encoding.TURKISH),
    ("Çağrı şğİ " * 40, Encoding.TURKISH),
    ("plain only" * 30, Encoding.TURKISH),
    ("Привет", Encoding.UNICODE),
    ("я" * 70, Encoding.UNICODE),
    ("я" * 71, Encoding.UNICODE),
    ("😀" * 40, Encoding.UNICODE),
    ("emoji in default 😀" * 5, Encoding.DEFAULT),  # upgraded to UCS-2
]


@pytest.mark.parametrize(("text", "enc"), TEXTS)
def test_part_count_and_text_equal_what_the_segment_counter_priced(
    text: str, enc: Encoding
) -> None:
    seg = encoding.segment(text, enc)
    parts = p.encode_parts(text, enc, ref=7)
    assert len(parts) == seg.parts
    decoded = []
    for part in parts:
        body = part.short_message
        if part.esm_class & p.ESM_UDHI:
            body = body[1 + body[0] :]
        if seg.effective is Encoding.UNICODE:
            assert part.data_coding == 8
            decoded.append(body.decode("utf-16-be", "surrogatepass"))
        else:
            assert part.data_coding == 0
            decoded.append(encoding.from_septets(body, seg.effective))
    assert "".join(decoded) == seg.text


@pytest.mark.parametrize(("text", "enc"), TEXTS)
def test_each_part_fits_its_capacity_in_septets_or_octets(text: str, enc: Encoding) -> None:
    for part in p.encode_parts(text, enc, ref=1):
        assert len(part.short_message) <= 160  # one septet per octet, UDH included
        if part.data_coding == 8:
            assert len(part.short_message) <= 140


def test_short_default_text_has_no_udh() -> None:
    [part] = p.encode_parts("Hello", Encoding.DEFAULT, ref=1)
    assert part == p.Part(0, 0, bytes([0x48, 0x65, 0x6C, 0x6C, 0x6F]))


def test_long_default_text_has_the_8bit_concatenation_udh() -> None:
    parts = p.encode_parts("a" * 200, Encoding.DEFAULT, ref=0x2A)
    assert [x.short_message[:6].hex() for x in parts] == ["0500032a0201", "0500032a0202"]
    assert all(x.esm_class == 0x40 for x in parts)
    assert len(parts[0].short_message) == 6 + 153


def test_turkish_signals_the_single_shift_table_even_when_short() -> None:
    [part] = p.encode_parts("ş", Encoding.TURKISH, ref=1)
    # UDH: IE 0x24 (national single shift), language 1 (Turkish); ş is ESC 0x73 (A.2.1).
    assert part.short_message.hex() == "032401011b73"
    assert (part.esm_class, part.data_coding) == (0x40, 0)


def test_long_turkish_combines_concatenation_and_single_shift() -> None:
    parts = p.encode_parts("ğ" * 100, Encoding.TURKISH, ref=5)
    assert len(parts) == 2
    assert parts[1].short_message[:9].hex() == "080003050202240101"
    assert parts[0].short_message[9:11] == bytes([0x1B, 0x67])


def test_default_escapes_use_the_default_extension_table() -> None:
    assert encoding.septets("€[Ç", Encoding.DEFAULT) == bytes([0x1B, 0x65, 0x1B, 0x3C, 0x09])


def test_septets_refuse_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="not in the 7-bit alphabet"):
        encoding.septets("ş", Encoding.DEFAULT)


def test_ucs2_parts_carry_utf16_big_endian_and_the_udh() -> None:
    parts = p.encode_parts("я" * 71, Encoding.UNICODE, ref=9)
    assert parts[0].short_message[:6].hex() == "050003090201"
    assert parts[0].short_message[6:8] == "я".encode("utf-16-be")
    assert len(parts[0].short_message) == 6 + 134


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(1440, "000001000000000R"), (6, "000000000600000R"), (90, "000000013000000R"), (0, "")],
)
def test_validity_is_relative_smpp_time(minutes: int, expected: str) -> None:
    assert p.validity_period(minutes) == expected


def _sub(sender: str, validity: int = 60) -> Submission:
    return Submission(1, 1, "905321234567", "hi", 0, 1, 0, sender, validity, None)


def test_alphanumeric_sender_goes_as_ton5_npi0_and_receipts_are_requested() -> None:
    opts = SmppOptions.from_mapping({"host": "h", "system_id": "s"})
    fields = p.submit_fields(_sub("FINSMS"), p.Part(0, 0, b"hi"), opts)
    assert (fields["source_addr_ton"], fields["source_addr_npi"]) == (5, 0)
    assert (fields["dest_addr_ton"], fields["dest_addr_npi"]) == (1, 1)
    assert fields["registered_delivery"] == 1
    assert fields["validity_period"] == "000000010000000R"


def test_numeric_sender_uses_the_configured_ton_npi() -> None:
    opts = SmppOptions.from_mapping({"host": "h", "system_id": "s", "numeric_ton": "3"})
    fields = p.submit_fields(_sub("+908501234567"), p.Part(0, 0, b"hi"), opts)
    assert (fields["source_addr_ton"], fields["source_addr_npi"]) == (3, 1)
    assert fields["source_addr"] == "908501234567"


def test_status_error_names_the_command_status() -> None:
    assert p.status_error(0x0B) == "SMPP_0x0000000B"


def _receipt_pdu(text: str, **kw: object) -> p.DeliverSm:
    return p.DeliverSm(4, 0, text.encode(), "905321234567", "FINSMS", **kw)  # type: ignore[arg-type]


RECEIPT = (
    "id:{id} sub:001 dlvrd:001 submit date:2601021525 done date:{done} stat:{stat} err:{err}"
    " text:hello stat:X"  # the message text may look like a field: it is not read
)


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", ItemState.DELIVERED),
        ("UNDELIV", ItemState.UNDELIVERED),
        ("EXPIRED", ItemState.UNDELIVERED),
        ("DELETED", ItemState.UNDELIVERED),
        ("UNKNOWN", ItemState.UNDELIVERED),
        ("REJECTD", ItemState.REJECTED),
    ],
)
def test_receipt_text_maps_stat_to_item_state(stat: str, state: ItemState) -> None:
    text = RECEIPT.format(id="abc1", done="2601021530", stat=stat, err="000")
    receipt = p.parse_receipt(_receipt_pdu(text), UTC, NOW, "link-a")
    assert receipt is not None
    assert (receipt.carrier_ref, receipt.state, receipt.link) == ("abc1", state, "link-a")
    assert receipt.at == datetime(2026, 1, 2, 15, 30)
    assert (receipt.error is None) == (state is ItemState.DELIVERED)


def test_receipt_done_date_is_converted_from_the_smsc_zone_with_seconds() -> None:
    text = RECEIPT.format(id="7", done="260102153045", stat="UNDELIV", err="012")
    receipt = p.parse_receipt(_receipt_pdu(text), ZoneInfo("Europe/Istanbul"), NOW, "l")
    assert receipt is not None
    assert receipt.at == datetime(2026, 1, 2, 12, 30, 45)
    assert receipt.error == "SMPP_UNDELIV:012"


def test_receipted_message_id_tlv_wins_over_the_text_id() -> None:
    text = RECEIPT.format(id="0001", done="2601021530", stat="DELIVRD", err="000")
    receipt = p.parse_receipt(_receipt_pdu(text, receipted_message_id="1"), UTC, NOW, "l")
    assert receipt is not None and receipt.carrier_ref == "1"


def test_receipt_with_tlvs_only_uses_message_state_and_now() -> None:
    pdu = _receipt_pdu("", receipted_message_id="M9", message_state=8)
    receipt = p.parse_receipt(pdu, UTC, NOW, "l")
    assert receipt is not None
    assert (receipt.state, receipt.at, receipt.error) == (ItemState.REJECTED, NOW, "SMPP_REJECTD")


def test_intermediate_receipt_is_not_recorded() -> None:
    text = RECEIPT.format(id="1", done="2601021530", stat="ENROUTE", err="000")
    assert p.parse_receipt(_receipt_pdu(text), UTC, NOW, "l") is None


def test_receipt_and_mo_are_told_apart_by_esm_class() -> None:
    assert p.is_receipt(_receipt_pdu("x"))
    assert not p.is_receipt(p.DeliverSm(0, 0, b"x", "1", "2"))
    assert not p.is_receipt(p.DeliverSm(0x40, 0, b"\x00", "1", "2"))


def test_mo_ucs2_is_decoded() -> None:
    pdu = p.DeliverSm(0, 8, "Şükran 😀".encode("utf-16-be"), "905321234567", "4850")
    assert p.decode_mo(pdu) == p.MoPart("Şükran 😀")


def test_mo_gsm_part_with_concatenation_and_turkish_shift_is_decoded() -> None:
    udh = bytes.fromhex("080003110302240101")
    pdu = p.DeliverSm(0x40, 0, udh + encoding.septets("ağ", Encoding.TURKISH), "1", "2")
    assert p.decode_mo(pdu) == p.MoPart("ağ", ref=0x11, total=3, number=2)


def test_mo_16bit_concatenation_reference_is_read() -> None:
    udh = bytes.fromhex("0608040102020" + "1")
    pdu = p.DeliverSm(0x40, 0, udh + b"hi", "1", "2")
    assert p.decode_mo(pdu) == p.MoPart("hi", ref=0x0102, total=2, number=1)


def test_options_defaults_and_numbers_given_as_strings() -> None:
    opts = SmppOptions.from_mapping({"host": "smsc", "system_id": "id", "tps": "12.5", "binds": 3})
    assert (opts.port, opts.bind_mode, opts.tps, opts.binds, opts.window) == (
        2775,
        "trx",
        12.5,
        3,
        10,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"system_id": "s"}, "'host' is required"),
        ({"host": "h"}, "'system_id' is required"),
        ({"host": "h", "system_id": "s", "colour": "red"}, "unknown SMPP option"),
        ({"host": "h", "system_id": "s", "bind_mode": "rx"}, "'bind_mode'"),
        ({"host": "h", "system_id": "s", "tps": -1}, "'tps'"),
        ({"host": "h", "system_id": "s", "window": 0}, "'window'"),
        ({"host": "h", "system_id": "s", "window": 2.5}, "'window' must be a number"),
        ({"host": "h", "system_id": "s", "port": "x"}, "'port' must be a number"),
        ({"host": "h", "system_id": "s", "port": 70000}, "'port'"),
        ({"host": "h", "system_id": "s", "binds": True}, "not a boolean"),
        ({"host": "h", "system_id": "s", "smsc_timezone": "Mars/Olympus"}, "unknown zone"),
        ({"host": "h", "system_id": "s", "submit_timeout_seconds": 0}, "must be > 0"),
        ({"host": "h", "system_id": "s", "password": "123456789"}, "at most"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SmppOptions.from_mapping(options)


def _mo(text: bytes, user_ref: int | None = None, smsc_id: str | None = None) -> p.DeliverSm:
    return p.DeliverSm(
        0, 0, text, "905321234567", "4444", receipted_message_id=smsc_id,
        user_message_reference=user_ref,
    )  # fmt: skip


def _ref(pdu: p.DeliverSm, at: datetime, window: float = 3600) -> str:
    identity = [p.mo_identity(pdu)]
    return p.mo_ref(
        pdu.source_addr, pdu.destination_addr, identity, pdu.receipted_message_id, at, window
    )


def test_an_mo_redelivered_within_its_window_has_the_same_reference() -> None:
    at = datetime(2026, 11, 24, 10, 0, 5)
    assert _ref(_mo(b"EVET"), at) == _ref(_mo(b"EVET"), at.replace(minute=40))


def test_different_words_references_or_windows_make_different_mo_references() -> None:
    at = datetime(2026, 11, 24, 10, 0, 5)
    first = _ref(_mo(b"EVET"), at)
    assert first != _ref(_mo(b"HAYIR"), at)
    assert first != _ref(_mo(b"EVET", user_ref=7), at)
    assert first != _ref(_mo(b"EVET"), at.replace(hour=11))  # the same words an hour on


def test_an_mo_the_smsc_names_has_that_reference_whenever_it_comes() -> None:
    at = datetime(2026, 11, 24, 10, 0, 5)
    one = _ref(_mo(b"EVET", smsc_id="X1"), at)
    assert one == _ref(_mo(b"EVET", smsc_id="X1"), at.replace(day=25))
    assert one != _ref(_mo(b"EVET", smsc_id="X2"), at)
    assert len(one) <= 128
