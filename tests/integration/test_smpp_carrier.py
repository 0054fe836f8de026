"""The SMPP carrier against a real SMSC (tests/smsc, the npm package `smpp`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import pytest

from service.delivery.carriers.smpp import SmppCarrier, _Pacer, make_smpp_carrier
from service.domain import encoding
from service.domain.carrier import DeliveryReceipt, InboundMessage, Submission
from service.domain.constants import Encoding, ItemState
from service.services.clock import Clock
from tests.smsc_fixture import Smsc, smsc, wait_for

__all__ = ["smsc"]  # the fixture, imported for pytest


class RecordingEvents:
    """LinkEvents that keep what they get; can be told to raise or to block."""

    def __init__(self) -> None:
        self.receipt_list: list[DeliveryReceipt] = []
        self.inbound_list: list[InboundMessage] = []
        self.fail_next = 0
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self._lock = threading.Lock()

    def receipts(self, receipts: Sequence[DeliveryReceipt]) -> None:
        """Record, unless told to fail; wait while the gate is shut."""
        self.calls += 1
        self.gate.wait(10)
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("inbox unavailable")
            self.receipt_list.extend(receipts)

    def inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Record MO messages."""
        with self._lock:
            self.inbound_list.extend(messages)


Factory = Callable[..., tuple[SmppCarrier, RecordingEvents]]


@pytest.fixture
def link(smsc: Smsc) -> Iterator[Factory]:
    """Opens SMPP links to the test SMSC (closed after the test)."""
    opened: list[SmppCarrier] = []

    def make(**options: object) -> tuple[SmppCarrier, RecordingEvents]:
        carrier = make_smpp_carrier("smsc-a", smsc.options(**options), Clock())
        events = RecordingEvents()
        carrier.open(events)
        opened.append(carrier)
        wait_for(carrier.available, what="bind")
        return carrier, events

    yield make
    for carrier in opened:
        carrier.close()


def sub(item_id: int, text: str = "Hello", enc: int = 0, sender: str = "FINSMS") -> Submission:
    """A submission to one number."""
    parts = encoding.parts(text, enc)
    return Submission(item_id, 1, "905321234567", text, enc, parts, 0, sender, 1440, None)


def test_transceiver_bind_submits_with_the_expected_fields(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link()
    [result] = carrier.submit([sub(1, "Merhaba")])
    [seen] = smsc.submits()
    assert result.accepted and result.carrier_ref == seen["message_id"]
    assert (result.link, result.part_refs, result.retry) == ("smsc-a", (), False)
    assert seen["bind"] == "trx"
    assert (seen["source_addr"], seen["source_addr_ton"], seen["source_addr_npi"]) == (
        "FINSMS",
        5,
        0,
    )
    assert (seen["destination_addr"], seen["dest_addr_ton"], seen["dest_addr_npi"]) == (
        "905321234567",
        1,
        1,
    )
    assert (seen["registered_delivery"], seen["validity_period"]) == (1, "000001000000000R")
    assert (seen["data_coding"], seen["esm_class"], seen["text"]) == (0, 0, "Merhaba")


def test_numeric_sender_goes_as_international_number(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link()
    carrier.submit([sub(1, sender="908501112233")])
    [seen] = smsc.submits()
    assert (seen["source_addr_ton"], seen["source_addr_npi"]) == (1, 1)


def test_pair_mode_submits_on_the_transmitter_and_receipts_on_the_receiver(
    smsc: Smsc, link: Factory
) -> None:
    carrier, events = link(bind_mode="pair")
    wait_for(lambda: len(smsc.call("GET", "/sessions")) == 2, what="both binds")
    binds = {s["bound"]: s["id"] for s in smsc.call("GET", "/sessions")}
    assert set(binds) == {"tx", "rx"}
    [result] = carrier.submit([sub(1)])
    assert result.accepted and smsc.submits()[0]["bind"] == "tx"
    smsc.receipt(str(result.carrier_ref), "DELIVRD")
    wait_for(lambda: events.receipt_list, what="receipt")
    assert smsc.deliveries()[0]["session"] == binds["rx"]


CASES = [
    ("Kısa mesaj", Encoding.DEFAULT, 0, False),
    ("Uzun mesaj, " * 20, Encoding.DEFAULT, 0, False),
    ("Şeker ığdır", Encoding.TURKISH, 0, True),
    ("Çağrı şğİ ışık " * 15, Encoding.TURKISH, 0, True),
    ("Привет", Encoding.UNICODE, 8, False),
    ("Привет мир 😀 " * 10, Encoding.UNICODE, 8, False),
]


@pytest.mark.parametrize(("text", "enc", "coding", "turkish"), CASES)
def test_the_smsc_sees_the_priced_parts_coding_and_udh(
    smsc: Smsc, link: Factory, text: str, enc: Encoding, coding: int, turkish: bool
) -> None:
    carrier, _ = link()
    [result] = carrier.submit([sub(1, text, enc)])
    seen = smsc.submits()
    priced = encoding.segment(text, enc)
    assert len(seen) == priced.parts
    assert result.accepted
    assert {s["data_coding"] for s in seen} == {coding}
    for number, record in enumerate(seen, 1):
        ies = {ie["iei"]: ie["data"] for ie in record["udh_ies"]}
        assert (ies.get(0x24) == "01") is turkish
        if priced.parts > 1:
            assert ies[0][2:] == f"{priced.parts:02x}{number:02x}"
            assert record["esm_class"] & 0x40
    assert "".join(s["text"] for s in seen) == priced.text
    if priced.parts > 1:
        assert result.part_refs == tuple(s["message_id"] for s in seen)
        assert result.carrier_ref == seen[0]["message_id"]
        assert len({ies["iei"] for s in seen for ies in s["udh_ies"]}) >= 1
        assert len({s["udh_ies"][0]["data"][:2] for s in seen}) == 1  # one reference


def test_receipts_map_to_item_states_with_the_done_date(smsc: Smsc, link: Factory) -> None:
    carrier, events = link(smsc_timezone="Europe/Istanbul")
    results = carrier.submit([sub(1), sub(2), sub(3)])
    refs = [str(r.carrier_ref) for r in results]
    for ref, stat in zip(refs, ["DELIVRD", "UNDELIV", "REJECTD"], strict=True):
        smsc.receipt(ref, stat, done_date="2601021530", err="000" if stat == "DELIVRD" else "011")
    wait_for(lambda: len(events.receipt_list) == 3, what="three receipts")
    got = {r.carrier_ref: r for r in events.receipt_list}
    states = [got[ref].state for ref in refs]
    assert states == [ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED]
    assert {r.at for r in got.values()} == {datetime(2026, 1, 2, 12, 30)}
    assert got[refs[1]].error == "SMPP_UNDELIV:011" and got[refs[0]].error is None
    assert {r.link for r in got.values()} == {"smsc-a"}


def test_deliver_sm_resp_waits_until_the_receipt_is_recorded(smsc: Smsc, link: Factory) -> None:
    carrier, events = link()
    [result] = carrier.submit([sub(1)])
    events.gate.clear()
    smsc.receipt(str(result.carrier_ref))
    wait_for(lambda: events.calls == 1, what="the receipt handed over")
    time.sleep(0.3)
    assert [d["status"] for d in smsc.deliveries()] == [None]  # not answered yet
    events.gate.set()
    wait_for(lambda: smsc.deliveries()[0]["status"] == 0, what="deliver_sm_resp")
    assert [r.carrier_ref for r in events.receipt_list] == [result.carrier_ref]


def test_a_failing_sink_gets_a_temporary_error_and_the_smsc_redelivers(
    smsc: Smsc, link: Factory
) -> None:
    carrier, events = link()
    [result] = carrier.submit([sub(1)])
    events.fail_next = 1
    smsc.receipt(str(result.carrier_ref))
    wait_for(lambda: events.receipt_list, what="the redelivered receipt")
    statuses = [d["status"] for d in smsc.deliveries()]
    assert statuses[0] == 0x64 and statuses[-1] == 0
    assert len(events.receipt_list) == 1


def test_receipts_kept_while_no_receiver_is_bound_arrive_after_bind(
    smsc: Smsc, link: Factory
) -> None:
    smsc.receipt("M-old", "DELIVRD")  # nobody bound yet: the SMSC keeps it
    _, events = link()
    wait_for(lambda: events.receipt_list, what="the kept receipt")
    assert events.receipt_list[0].carrier_ref == "M-old"


@pytest.mark.parametrize("status", [0x58, 0x14])
def test_throttled_or_queue_full_answers_ask_for_a_retry(
    smsc: Smsc, link: Factory, status: int
) -> None:
    carrier, _ = link(throttle_pause_seconds=0.2)
    smsc.fail_next(2, status)
    results = carrier.submit([sub(1), sub(2), sub(3)])
    by_item = {r.item_id: r for r in results}
    assert [by_item[i].retry for i in (1, 2)] == [True, True]
    assert not by_item[1].accepted and by_item[1].error == f"SMPP_0x{status:08X}"
    assert by_item[3].accepted and not by_item[3].retry


def test_a_throttled_part_of_a_long_message_is_sent_again_alone(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(throttle_pause_seconds=0.2)
    smsc.fail_next(1, 0x58)
    [result] = carrier.submit([sub(1, "a" * 200)])
    seen = smsc.submits()
    assert len(seen) == 3 and seen[0]["status"] == 0x58
    assert seen[2]["short_message_hex"] == seen[0]["short_message_hex"]
    assert result.accepted and len(result.part_refs) == 2


def test_a_permanent_error_rejects_the_item(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link()
    smsc.fail_next(1, 0x0B)
    [result] = carrier.submit([sub(1)])
    assert (result.accepted, result.retry, result.error) == (False, False, "SMPP_0x0000000B")


def test_no_answer_within_the_timeout_gives_no_result(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(submit_timeout_seconds=0.5)
    smsc.silence_next(1)
    results = carrier.submit([sub(1), sub(2)])
    assert [r.item_id for r in results] == [2]


def test_tps_is_held_to_the_configured_limit(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(tps=50, binds=2, window=20)
    carrier.submit([sub(i) for i in range(150)])
    times = [s["t"] for s in smsc.submits()]
    assert len(times) == 150
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 45 <= rate <= 55, rate


def test_several_binds_share_the_submits(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(binds=3, window=2)
    wait_for(lambda: len(smsc.call("GET", "/sessions")) == 3, what="three binds")
    results = carrier.submit([sub(i) for i in range(30)])
    assert all(r.accepted for r in results) and len(results) == 30
    assert len({s["session"] for s in smsc.submits()}) == 3


def test_the_link_rebinds_after_the_smsc_restarts(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link()
    smsc.stop()
    wait_for(lambda: not carrier.available(), what="the link to notice")
    [down] = carrier.submit([sub(1)])
    assert (down.accepted, down.retry) == (False, True)
    smsc.start()
    wait_for(carrier.available, what="rebind")
    [result] = carrier.submit([sub(2)])
    assert result.accepted and len(smsc.submits()) == 1


def test_an_mo_message_is_handed_to_inbound(smsc: Smsc, link: Factory) -> None:
    _, events = link()
    smsc.mo("905321112233", "4850", text="Merhaba 😀", data_coding=8)
    wait_for(lambda: events.inbound_list, what="MO")
    [mo] = events.inbound_list
    assert (mo.source, mo.destination, mo.text, mo.link) == (
        "905321112233",
        "4850",
        "Merhaba 😀",
        "smsc-a",
    )
    wait_for(lambda: smsc.deliveries()[0]["status"] == 0, what="deliver_sm_resp")


def test_a_concatenated_mo_message_is_reassembled(smsc: Smsc, link: Factory) -> None:
    _, events = link()
    part2 = "0500034402" + "02" + "world".encode("utf-16-be").hex()
    part1 = "0500034402" + "01" + "hello ".encode("utf-16-be").hex()
    smsc.mo("905321112233", "4850", short_message_hex=part2, esm_class=0x40, data_coding=8)
    time.sleep(0.2)
    assert events.inbound_list == []
    smsc.mo("905321112233", "4850", short_message_hex=part1, esm_class=0x40, data_coding=8)
    wait_for(lambda: events.inbound_list, what="the whole MO")
    assert [m.text for m in events.inbound_list] == ["hello world"]
    wait_for(lambda: [d["status"] for d in smsc.deliveries()] == [0, 0], what="both answered")


def test_an_idle_link_sends_enquire_link_and_stays_bound(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(enquire_link_seconds=0.2)
    wait_for(
        lambda: sum(p["command"] == "enquire_link" for p in smsc.call("GET", "/pdus")) >= 3,
        what="three enquire_link",
    )
    assert carrier.available()
    assert len(smsc.call("GET", "/sessions")) == 1  # the same session all along


def test_an_unpaced_link_holds_back_after_a_throttled_answer() -> None:
    pacer = _Pacer(0)  # tps 0: no spacing, but a throttle pause still holds
    pacer.pause(0.3)  # what ESME_RTHROTTLED / ESME_RMSGQFUL do
    started = time.monotonic()
    assert pacer.take(10) == 10
    assert time.monotonic() - started >= 0.25


def test_a_throttled_part_goes_again_only_after_the_pause(smsc: Smsc, link: Factory) -> None:
    carrier, _ = link(throttle_pause_seconds=1.0)  # tps 0: unpaced
    smsc.fail_next(1, 0x58)
    [result] = carrier.submit([sub(1, "a" * 200)])  # two parts, the first throttled
    seen = smsc.submits()
    assert result.accepted
    assert seen[2]["t"] - seen[0]["t"] >= 0.9
