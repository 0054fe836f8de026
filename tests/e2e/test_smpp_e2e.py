"""SMPP end to end, through the product: an SMPP link configured as an operator would
(the links service, as `finsms link add` calls it), packages created over the live Node
API, sent by the real dispatcher (make_dispatcher) to the test SMSC (tests/smsc), its
receipts and MO messages coming back through the durable inbox and the MO store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import trustme

from service.delivery.carriers.registry import VALIDATORS, make_dispatcher
from service.delivery.dispatcher import Dispatcher, InboundHandler
from service.delivery.inbound import StoredInbound
from service.domain.carrier import InboundMessage
from service.domain.constants import ItemState
from service.services import links, mo
from service.services.platform import Platform
from tests.conftest import (
    Database,
    LiveServer,
    SqlPlatform,
    add_customer,
    make_platform,
    start_server,
)
from tests.e2e.conftest import Api
from tests.smsc_fixture import Smsc, require_smsc, smsc, wait_for

__all__ = ["smsc"]  # the fixture, imported for pytest

SMS: dict[str, Any] = dict(type=1, sendingType=1, title="e2e", sender="ACME")
THROTTLED = 0x58


class Product:
    """The live server over one database, a client of it, and dispatchers started on
    the same platform (stopped at the end)."""

    def __init__(self, platform: SqlPlatform, server: LiveServer) -> None:
        self.platform = platform
        self.server = server
        self.api = Api(server.url, "acme")
        self.dispatchers: list[Dispatcher] = []

    def link(
        self, name: str, smsc: Smsc, operators: str = "*", priority: int = 10, **opts: object
    ) -> None:
        """An SMPP link to `smsc`, stored the way `finsms link add` stores it (text values)."""
        options = {k: str(v) for k, v in smsc.options(**opts).items()}
        links.add_link(self.platform, VALIDATORS, name, "smpp", options, [operators], priority)

    def dispatch(self, inbound: InboundHandler | None = None) -> Dispatcher:
        """The real dispatcher over the stored links, running in its threads."""
        dispatcher = make_dispatcher(self.platform, inbound)
        dispatcher.start()
        self.dispatchers.append(dispatcher)
        return dispatcher

    def send(self, numbers: list[str], content: str = "Merhaba", encoding: int = 0) -> int:
        """A package over /sms/create; its id."""
        body = {**SMS, "numbers": numbers, "content": content, "encoding": encoding}
        return int(self.api.data("/sms/create", body)["pkgID"])

    def items(self, package_id: int) -> list[dict[str, Any]]:
        """/sms/list-item of a package."""
        data = self.api.data("/sms/list-item", {"pkgID": package_id, "pageSize": 1000})
        return list(data["list"])

    def states(self, package_id: int) -> dict[str, int]:
        """{target: state} of a package, as /sms/list-item shows them."""
        return {row["target"]: row["state"] for row in self.items(package_id)}

    def wait_states(self, package_id: int, want: dict[str, int], timeout: float = 15) -> None:
        """Wait until the package's items have these states."""
        wait_for(lambda: self.states(package_id) == want, timeout, f"states {want}")

    def close(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        self.server.close()


@pytest.fixture
def product(pg_db: Database) -> Iterator[Product]:
    platform = make_platform(pg_db, poll_interval=0.02, batch_wait=0.01)
    add_customer(platform, balance=100_000, duplicate_check=False)
    running = Product(platform, start_server(platform))
    yield running
    running.close()


@pytest.fixture
def smsc_b(smsc: Smsc) -> Iterator[Smsc]:
    """A second test SMSC on ports of its own."""
    server = Smsc()
    server.start()
    yield server
    server.stop()


def numbers(count: int, start: int = 0) -> list[str]:
    """Turkcell numbers."""
    return [f"90532{n:07d}" for n in range(start, start + count)]


def delivered(targets: list[str]) -> dict[str, int]:
    return dict.fromkeys(targets, int(ItemState.DELIVERED))


def by_destination(submits: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for seen in submits:
        found.setdefault(seen["destination_addr"], []).append(seen)
    return found


def test_gsm_long_turkish_and_unicode_packages_reach_the_smsc_as_priced(
    product: Product, smsc: Smsc
) -> None:
    smsc.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    product.link("smsc-a", smsc)
    product.dispatch()
    long_text = "Kampanya: " + "abcdefghij" * 20  # 210 GSM characters: 2 parts
    cases = [
        ("905320000001", "Merhaba dunya", 0, 0, None),
        ("905320000002", long_text, 0, 0, None),
        ("905320000003", "Çok güzel şişe, ığdır", 1, 0, "01"),
        ("905320000004", "Привет, мир ☺", 2, 8, None),
    ]
    packages = {number: product.send([number], text, enc) for number, text, enc, _, _ in cases}
    for number, package_id in packages.items():
        product.wait_states(package_id, delivered([number]))
    seen = by_destination(smsc.submits())
    for number, text, _, data_coding, shift in cases:
        parts = seen[number]
        assert [p["data_coding"] for p in parts] == [data_coding] * len(parts)
        assert "".join(p["text"] for p in parts) == text
        shifts = [ie["data"] for p in parts for ie in p["udh_ies"] if ie["iei"] == 0x24]
        assert shifts == ([shift] * len(parts) if shift else [])
        [row] = product.items(packages[number])
        assert row["credit"] == len(parts)
    long_parts = seen["905320000002"]
    concat = [ie["data"] for p in long_parts for ie in p["udh_ies"] if ie["iei"] == 0]
    assert [c[2:] for c in concat] == ["0201", "0202"]  # one reference, part 1 and 2 of 2
    assert len({c[:2] for c in concat}) == 1
    assert all(p["esm_class"] & 0x40 for p in long_parts)


def test_receipts_settle_items_delivered_undelivered_rejected_with_their_delivery_date(
    product: Product, smsc: Smsc
) -> None:
    product.link("smsc-a", smsc)
    product.dispatch()
    targets = numbers(3, start=10)
    package_id = product.send(targets)
    wait_for(lambda: len(smsc.submits()) == 3, what="three submit_sm")
    wait_for(
        lambda: {r["state"] for r in product.items(package_id)} == {int(ItemState.SENT)},
        what="items sent",
    )
    ids = {s["destination_addr"]: s["message_id"] for s in smsc.submits()}
    outcomes = {targets[0]: "DELIVRD", targets[1]: "UNDELIV", targets[2]: "REJECTD"}
    for number, stat in outcomes.items():
        smsc.receipt(ids[number], stat, done_date="2611241530")  # SMSC in UTC
    want = {
        targets[0]: int(ItemState.DELIVERED),
        targets[1]: int(ItemState.UNDELIVERED),
        targets[2]: int(ItemState.REJECTED),
    }
    product.wait_states(package_id, want)
    shown = product.platform.local.format(datetime(2026, 11, 24, 15, 30))
    assert {r["deliveryDate"] for r in product.items(package_id)} == {shown}
    # Every receipt was acknowledged with ESME_ROK once recorded: none left to redeliver.
    wait_for(lambda: smsc.call("GET", "/pending") == [], what="receipts acknowledged")


def test_a_throttled_submit_is_sent_again_and_the_item_is_delivered(
    product: Product, smsc: Smsc
) -> None:
    smsc.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    smsc.fail_next(1, THROTTLED)
    product.link("smsc-a", smsc, throttle_pause_seconds=0.2)
    product.dispatch()
    [number] = numbers(1, start=20)
    package_id = product.send([number])
    product.wait_states(package_id, delivered([number]))
    submits = smsc.submits()
    assert [(s["destination_addr"], s["status"]) for s in submits] == [
        (number, THROTTLED),
        (number, 0),
    ]
    [row] = product.items(package_id)
    assert row["error"] is None


def test_the_dispatcher_holds_a_links_tps_within_ten_percent(product: Product, smsc: Smsc) -> None:
    tps = 40
    product.link("smsc-a", smsc, tps=tps)
    product.dispatch()
    targets = numbers(120, start=100)
    product.send(targets)
    wait_for(lambda: len(smsc.submits()) == len(targets), 30, "every submit_sm")
    times = sorted(s["t"] for s in smsc.submits())
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert abs(rate - tps) <= 0.1 * tps, rate
    # No second of the run saw more than the limit (and the 10%).
    per_second = Counter(int(t - times[0]) for t in times)
    assert max(per_second.values()) <= tps * 1.1, per_second


def test_the_link_binds_again_after_the_smsc_restarts_and_items_go_out(
    product: Product, smsc: Smsc
) -> None:
    product.link("smsc-a", smsc, reconnect_max_seconds=0.5)
    dispatcher = product.dispatch()
    first = product.send(numbers(2, start=200))
    wait_for(lambda: len(smsc.submits()) == 2, what="the first package")
    smsc.restart(down_seconds=1.0)  # records start again from nothing
    link = dispatcher.router.carriers[0]
    later = numbers(3, start=300)
    second = product.send(later)
    wait_for(lambda: len(smsc.submits()) == 3, 20, "the second package after the restart")
    assert link.available()
    assert sorted(s["destination_addr"] for s in smsc.submits()) == later
    smsc.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    for s in smsc.submits():
        smsc.receipt(s["message_id"])
    product.wait_states(second, delivered(later))
    assert set(product.states(first).values()) == {int(ItemState.SENT)}  # receipts lost with it


def test_an_mo_from_the_smsc_is_stored_and_listed_by_mo_list_request(
    product: Product, smsc: Smsc
) -> None:
    mo.add_number(product.platform, "acme", "4444")
    product.link("smsc-a", smsc)
    product.dispatch()
    smsc.mo("905321234567", "4444", text="Merhaba, bilgi istiyorum")
    rows = wait_for(
        lambda: product.api.data("/mo/list-request", {"pageSize": 10})["list"], what="the MO"
    )
    [row] = rows
    assert (row["gsm"], row["msg"], row["shortNr"]) == (
        905321234567,
        "Merhaba, bilgi istiyorum",
        4444,
    )


class CrashAfterCommit:
    """An inbound handler that stores the batch and then fails, the first `times` times:
    as a worker killed between its commit and its deliver_sm_resp."""

    def __init__(self, platform: Platform, times: int) -> None:
        self.stored = StoredInbound(platform)
        self.times = times

    def __call__(self, messages: Sequence[InboundMessage]) -> None:
        self.stored(messages)
        if self.times:
            self.times -= 1
            raise RuntimeError("died after the commit")


def test_an_mo_the_smsc_delivers_again_after_a_lost_answer_is_stored_once(
    product: Product, smsc: Smsc
) -> None:
    mo.add_number(product.platform, "acme", "4444")
    product.link("smsc-a", smsc)
    handler = CrashAfterCommit(product.platform, times=1)
    product.dispatch(inbound=handler)
    smsc.mo("905321234567", "4444", text="EVET")
    deliveries = wait_for(
        lambda: [d for d in smsc.deliveries() if d["status"] == 0], what="the MO acknowledged"
    )
    statuses = [d["status"] for d in smsc.deliveries() if d["kind"] == "mo"]
    assert statuses == [0x64, 0] and len(deliveries) == 1  # redelivered once, then taken
    assert (handler.stored.stored, handler.stored.duplicates) == (1, 1)
    [row] = product.api.data("/mo/list-request", {"pageSize": 10})["list"]
    assert row["msg"] == "EVET"
    # A long MO (two parts with one UDH reference), redelivered: one message too.
    handler.times = 1
    udh = "050003a70201"
    for n, text in ((1, "Uzun bir mesajin "), (2, "ikinci parcasi")):
        body = udh[:-2] + f"{n:02x}" + text.encode().hex()
        smsc.mo("905321234567", "4444", short_message_hex=body, esm_class=0x40)
    wait_for(lambda: handler.stored.duplicates == 2, what="the long MO redelivered")
    rows = product.api.data("/mo/list-request", {"pageSize": 10})["list"]
    assert sorted(r["msg"] for r in rows) == ["EVET", "Uzun bir mesajin ikinci parcasi"]


def test_two_links_of_one_operator_fail_over_when_one_smsc_is_down(
    product: Product, smsc: Smsc, smsc_b: Smsc
) -> None:
    for server in (smsc, smsc_b):
        server.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    product.link("tc-main", smsc, operators="0", priority=10)
    product.link("tc-backup", smsc_b, operators="0", priority=20)
    dispatcher = product.dispatch()
    first = numbers(4, start=400)
    package_id = product.send(first)
    product.wait_states(package_id, delivered(first))
    assert (len(smsc.submits()), len(smsc_b.submits())) == (4, 0)  # the main link first
    smsc.stop()
    main = next(c for c in dispatcher.router.carriers if c.name == "tc-main")
    wait_for(lambda: not main.available(), what="the main link down")
    later = numbers(5, start=500)
    package_id = product.send(later)
    product.wait_states(package_id, delivered(later))
    assert sorted(s["destination_addr"] for s in smsc_b.submits()) == later


@pytest.fixture
def tls_smsc(tmp_path: Path) -> Iterator[tuple[Smsc, str]]:
    """A test SMSC speaking SMPP over TLS, with a certificate for 127.0.0.1 from a CA of
    the test's own; the CA's file (PEM)."""
    require_smsc()
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    key_file, cert_file, ca_file = (tmp_path / n for n in ("key.pem", "cert.pem", "ca.pem"))
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    authority.cert_pem.write_to_path(str(ca_file))
    server = Smsc(tls=(str(key_file), str(cert_file)))
    server.start()
    try:
        yield server, str(ca_file)
    finally:
        server.stop()


def test_a_tls_link_checks_the_smscs_certificate_and_delivers_over_tls(
    product: Product, tls_smsc: tuple[Smsc, str], caplog: pytest.LogCaptureFixture
) -> None:
    smsc, ca_file = tls_smsc
    smsc.call("POST", "/auto-receipt", {"stat": "DELIVRD"})
    # Trusting only the system's authorities, the test CA's certificate is refused: no bind.
    # (Another system_id: one link per account. The handshake fails before any bind.)
    product.link("untrusted", smsc, operators="1", tls="on", system_id="other")
    product.link("smsc-tls", smsc, operators="0", tls="on", tls_ca_file=ca_file)
    product.dispatch()
    package_id = product.send(numbers(2, start=40))
    product.wait_states(package_id, delivered(numbers(2, start=40)))
    assert sorted(by_destination(smsc.submits())) == numbers(2, start=40)
    assert [s["system_id"] for s in smsc.call("GET", "/sessions")] == [smsc.system_id]
    wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text, what="the refused certificate")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tls": "yes"}, "'tls' must be 'off' or 'on'"),
        ({"tls_ca_file": "/etc/hostname"}, "'tls_ca_file' needs tls=on"),
        ({"tls": "on", "tls_ca_file": "/no/such/ca.pem"}, "cannot load '/no/such/ca.pem'"),
    ],
)
def test_a_tls_setting_that_cannot_work_is_refused_when_the_link_is_added(
    options: dict[str, str], message: str
) -> None:
    base = {"host": "smsc.example.net", "system_id": "ACME"}
    with pytest.raises(ValueError, match=message):
        VALIDATORS["smpp"]({**base, **options})
