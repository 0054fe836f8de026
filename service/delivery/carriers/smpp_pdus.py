"""What goes into and comes out of SMPP 3.4 PDUs, without I/O: the submit_sm fields of a
message (parts, UDH, data_coding exactly as domain/encoding priced them), and the meaning
of a deliver_sm (a delivery receipt or an MO message). smpplib encodes the PDUs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from service.delivery.carriers.smpp_options import SmppOptions
from service.domain import encoding as enc
from service.domain.carrier import DeliveryReceipt, Submission
from service.domain.constants import Encoding, ItemState

DATA_CODING_GSM = 0
DATA_CODING_UCS2 = 8
ESM_UDHI = 0x40
ESM_RECEIPT = 0x04  # message type "SMSC delivery receipt" (bits 2-5 of esm_class)
ESM_TYPE_MASK = 0x3C
IE_CONCAT_8 = 0x00
IE_CONCAT_16 = 0x08
IE_SINGLE_SHIFT = 0x24
TURKISH_LANGUAGE = 0x01  # TS 23.038 6.2.1.2.4: national language identifier of Turkish

ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
RETRY_STATUSES = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})


@dataclass(frozen=True)
class Part:
    """One submit_sm's worth of a message."""

    esm_class: int
    data_coding: int
    short_message: bytes  # UDH (when esm_class has UDHI) then the payload


def _udh(*ies: bytes) -> bytes:
    """A user data header holding the given information elements."""
    body = b"".join(ies)
    return bytes((len(body),)) + body


def encode_parts(text: str, encoding: Encoding | int, ref: int) -> list[Part]:
    """The parts of a message as segment()/split() cut (and priced) it; `ref` is the
    8-bit concatenation reference shared by the parts."""
    seg = enc.segment(text, encoding)
    pieces = enc.split(text, encoding)
    if seg.effective is Encoding.UNICODE:
        coding = DATA_CODING_UCS2
        payloads = [p.encode("utf-16-be", "surrogatepass") for p in pieces]
    else:
        coding = DATA_CODING_GSM
        payloads = [enc.septets(p, seg.effective) for p in pieces]
    # The Turkish single shift IE is sent even with no shifted character: it was priced in.
    shift = (
        bytes((IE_SINGLE_SHIFT, 1, TURKISH_LANGUAGE)) if seg.effective is Encoding.TURKISH else b""
    )
    total = len(payloads)
    out = []
    for number, payload in enumerate(payloads, 1):
        concat = bytes((IE_CONCAT_8, 3, ref & 0xFF, total, number)) if total > 1 else b""
        header = _udh(concat, shift) if concat or shift else b""
        out.append(Part(ESM_UDHI if header else 0, coding, header + payload))
    return out


def validity_period(minutes: int) -> str:
    """A relative SMPP time (YYMMDDhhmmss000R) of the validity; '' (SMSC default) for 0."""
    if minutes <= 0:
        return ""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"0000{min(days, 99):02d}{hours:02d}{mins:02d}00000R"


def is_numeric_sender(sender: str) -> bool:
    """Whether a sender is a number (+ allowed first) rather than an alphanumeric title."""
    digits = sender[1:] if sender.startswith("+") else sender
    return digits.isdigit() and digits.isascii()


def submit_fields(sub: Submission, part: Part, options: SmppOptions) -> dict[str, object]:
    """The submit_sm parameters (smpplib names) of one part of a submission."""
    numeric = is_numeric_sender(sub.sender)
    return {
        "service_type": "",
        "source_addr_ton": options.numeric_ton if numeric else options.alnum_ton,
        "source_addr_npi": options.numeric_npi if numeric else options.alnum_npi,
        "source_addr": sub.sender.lstrip("+") if numeric else sub.sender,
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": sub.target.lstrip("+"),
        "esm_class": part.esm_class,
        "protocol_id": 0,
        "priority_flag": 0,
        "schedule_delivery_time": "",
        "validity_period": validity_period(sub.validity),
        "registered_delivery": 1,
        "replace_if_present_flag": 0,
        "data_coding": part.data_coding,
        "sm_default_msg_id": 0,
        "short_message": part.short_message,
    }


def status_error(status: int) -> str:
    """The SubmitResult error of an SMPP command_status."""
    return f"SMPP_0x{status:08X}"


@dataclass(frozen=True)
class DeliverSm:
    """The fields of a received deliver_sm that matter here."""

    esm_class: int
    data_coding: int
    short_message: bytes
    source_addr: str
    destination_addr: str
    receipted_message_id: str | None = None
    message_state: int | None = None
    user_message_reference: int | None = None


def is_receipt(pdu: DeliverSm) -> bool:
    """Whether a deliver_sm is a delivery receipt rather than an MO message."""
    return pdu.esm_class & ESM_TYPE_MASK == ESM_RECEIPT


_STATES: dict[str, ItemState] = {
    "DELIVRD": ItemState.DELIVERED,
    "UNDELIV": ItemState.UNDELIVERED,
    "EXPIRED": ItemState.UNDELIVERED,
    "DELETED": ItemState.UNDELIVERED,
    "UNKNOWN": ItemState.UNDELIVERED,
    "REJECTD": ItemState.REJECTED,
}
# The message_state TLV (SMPP 3.4 5.3.2.35) of the final states, as their stat words.
_MESSAGE_STATES = {
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    7: "UNKNOWN",
    8: "REJECTD",
}
_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):", re.IGNORECASE)


def receipt_fields(text: str) -> dict[str, str]:
    """The "id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…" fields,
    keys lower-case; text runs to the end (it may hold anything)."""
    found: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for i, m in enumerate(matches):
        key = m.group(1).lower()
        if key in found:
            continue
        end = len(text) if key == "text" or i + 1 == len(matches) else matches[i + 1].start()
        found[key] = text[m.end() : end].strip()
        if key == "text":
            break
    return found


def smsc_time(value: str, zone: ZoneInfo) -> datetime | None:
    """A receipt date YYMMDDhhmm[ss] in the SMSC's zone as naive UTC; None if malformed."""
    if not value.isdigit() or len(value) not in (10, 12):
        return None
    try:
        local = datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
    except ValueError:
        return None
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def parse_receipt(
    pdu: DeliverSm, zone: ZoneInfo, now: datetime, link: str
) -> DeliveryReceipt | None:
    """The receipt a deliver_sm carries; None for a non-final state (ENROUTE, ACCEPTD) or
    one without a message id (answered, never recorded)."""
    fields = receipt_fields(pdu.short_message.decode("latin-1"))
    ref = pdu.receipted_message_id or fields.get("id") or None
    stat = (fields.get("stat") or "").upper()[:7]
    if stat not in _STATES and pdu.message_state is not None:
        stat = _MESSAGE_STATES.get(pdu.message_state, "")
    state = _STATES.get(stat)
    if ref is None or state is None:
        return None
    at = smsc_time(fields.get("done date", ""), zone) or now
    error = None
    if state is not ItemState.DELIVERED:
        err = fields.get("err")
        error = f"SMPP_{stat}" + (f":{err}" if err and err.strip("0") else "")
    return DeliveryReceipt(ref, state, at, error, link)


@dataclass(frozen=True)
class MoPart:
    """An MO message's text, and where it sits in a concatenated message (if it does)."""

    text: str
    ref: int | None = None
    total: int = 1
    number: int = 1


def _ies(udh: bytes) -> dict[int, bytes]:
    """The information elements of a UDH (without its length octet), by identifier."""
    ies: dict[int, bytes] = {}
    i = 0
    while i + 1 < len(udh):
        iei, size = udh[i], udh[i + 1]
        ies.setdefault(iei, udh[i + 2 : i + 2 + size])
        i += 2 + size
    return ies


def _decode(payload: bytes, data_coding: int, turkish: bool) -> str:
    """Text of an MO payload by its data_coding (GSM 7-bit unpacked, IA5, Latin-1, UCS-2)."""
    if data_coding == DATA_CODING_UCS2 or (data_coding & 0xCC) == 0x08:
        return payload.decode("utf-16-be", "replace")
    if data_coding == 1:
        return payload.decode("ascii", "replace")
    if data_coding == DATA_CODING_GSM or (data_coding & 0xF4) == 0xF0:
        return enc.from_septets(payload, Encoding.TURKISH if turkish else Encoding.DEFAULT)
    return payload.decode("latin-1")  # 3 (Latin-1) and anything binary, shown as is


def decode_mo(pdu: DeliverSm) -> MoPart:
    """The text of an MO deliver_sm and its concatenation header, if any."""
    data = pdu.short_message
    ies: dict[int, bytes] = {}
    if pdu.esm_class & ESM_UDHI and data:
        ies = _ies(data[1 : 1 + data[0]])
        data = data[1 + data[0] :]
    turkish = ies.get(IE_SINGLE_SHIFT) == bytes((TURKISH_LANGUAGE,))
    text = _decode(data, pdu.data_coding, turkish)
    concat8, concat16 = ies.get(IE_CONCAT_8), ies.get(IE_CONCAT_16)
    if concat8 is not None and len(concat8) == 3 and concat8[1] > 1:
        return MoPart(text, concat8[0], concat8[1], concat8[2])
    if concat16 is not None and len(concat16) == 4 and concat16[2] > 1:
        return MoPart(text, int.from_bytes(concat16[:2], "big"), concat16[2], concat16[3])
    return MoPart(text)


def mo_identity(pdu: DeliverSm) -> bytes:
    """The octets of an MO deliver_sm that an SMSC repeats unchanged when it redelivers
    it (its sequence_number is new): the coding, the short_message with its UDH (a long
    message's concatenation reference is in there), and the id-like TLVs."""
    ids = f"{pdu.receipted_message_id or ''}\0{pdu.user_message_reference}"
    head = bytes((pdu.esm_class & 0xFF, pdu.data_coding & 0xFF))
    return head + pdu.short_message + b"\0" + ids.encode("latin-1", "replace")


def mo_ref(
    source: str, destination: str, parts: Sequence[bytes], smsc_id: str | None,
    received: datetime, window_seconds: float,
) -> str:  # fmt: skip
    """A reference for an MO message that is the same when the SMSC redelivers it.

    A deliver_sm MO has no message id of its own, and an SMSC that redelivers (its
    deliver_sm_resp was lost: we crashed between the commit and the answer) sends the
    very same addresses, UDH and text. So the reference is a hash of those (every part's,
    in order). When the SMSC names the message (receipted_message_id on an MO, as some
    do, or user_message_reference) that id is the reference. Otherwise two genuinely
    identical messages (same subscriber, same short number, same words, no UDH reference
    to tell them apart) can only be told apart by time: the hash takes the window of
    `window_seconds` the message arrived in, so the same words again within it count as
    a redelivery, later as a new message. A redelivery that crosses a window boundary is
    stored twice: rare (a crash in that very second), and a duplicate beats a loss."""
    digest = hashlib.sha256()
    for value in (source, destination):
        digest.update(value.encode("latin-1", "replace") + b"\0")
    if smsc_id:
        digest.update(b"id\0" + smsc_id.encode("latin-1", "replace"))
        return "mo:" + digest.hexdigest()[:40]
    for part in parts:
        digest.update(len(part).to_bytes(4, "big") + part)
    window = int(received.replace(tzinfo=UTC).timestamp() // window_seconds)
    return f"mo:{digest.hexdigest()[:40]}:{window}"
