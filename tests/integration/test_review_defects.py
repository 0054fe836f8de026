"""Reproductions of defects found reviewing the merge of sched, mo, links, hooks, smpp,
durable and contacts (review branch). Each test names the defect it shows; a failing
test here is a defect still open, not a broken test."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from service.app import create_app
from service.delivery.iys.simulator import SimulatedIys
from service.domain.constants import IysSource, PackageState
from service.domain.iys import ConsentStatus
from service.services import iys, schedules
from service.services.clock import FixedClock
from service.store.schema import packages
from tests.conftest import PASSWORD, Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, balance, call, package_row, principal

T0 = datetime(2026, 3, 2, 6, 0)  # 09:00 in Istanbul
DAILY = {"periodType": 1}


def _create(platform: SqlPlatform, **fields: Any) -> int:
    pkg: int = call(platform, principal(platform), "sms/create", **{**SMS, **fields})["pkgID"]
    return pkg


def _runs(platform: SqlPlatform, first: int) -> list[Any]:
    with platform.store.read() as conn:
        query = select(packages).where(packages.c.run_of == first).order_by(packages.c.run_no)
        return list(conn.execute(query).mappings())


def test_a_run_whose_numbers_all_opted_out_fails_alone_not_every_later_series(
    db: Database,
) -> None:
    """DEFECT (sched x contacts merge): schedules._write_run calls sms.write_package outside
    its `try`, and write_package now drops blacklisted numbers (drop_blacklisted) and raises
    ERR_EMPTY_SMS_PACKAGE when none is left. The error escapes create_due_runs: the run is
    never written, the series never advances (retried and failing every minute), the
    dispatcher's settle pass raises, and every series due after it gets no run."""
    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100, duplicate_check=False)
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")  # consented
    for number in ("905321111101", "905321111102"):
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "w1")
    opted_out = _create(platform, numbers=["905321111101"], periodicSettings=DAILY, commercial=True)
    clock.current = datetime(2026, 3, 2, 6, 30)
    later = _create(platform, numbers=["905321111102"], periodicSettings=DAILY, commercial=True)
    call(platform, principal(platform), "contact/set-blacklist", status=True, gsms=["905321111101"])
    clock.current = datetime(2026, 3, 3, 6, 25)  # both runs 1 are due within RUN_LEAD
    created = schedules.create_due_runs(platform)  # raises DomainError today
    assert created == 2
    [failed] = _runs(platform, opted_out)
    assert failed["state"] == PackageState.CREATION_FAILED
    [sent] = _runs(platform, later)
    assert sent["state"] == PackageState.WAITING
    assert package_row(platform, opted_out)["next_run_no"] == 2
    assert balance(platform) == 100 - 2 - 1  # run 0 of each series, run 1 of the later one


def test_a_number_that_opted_out_by_mo_twice_is_skipped_by_a_commercial_package(
    db: Database,
) -> None:
    """Promise check (mo x contacts): repeated MO opt-outs (same batch, later batch, other
    spellings of the number) are stored, and a commercial package skips the number."""
    from service.domain.carrier import InboundMessage
    from service.services import mo

    platform = make_platform(db, clock=FixedClock(T0))
    add_customer(platform, balance=100)
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "İPTAL")
    # Both consented first (commercial packages need İYS consent); the opt-outs undo one.
    iys.save_settings(platform, "acme", iys_code="1234", brand_code="5678")
    for number in ("905321234567", "905329999999"):
        iys.add_consent(platform, "acme", number, ConsentStatus.ONAY, IysSource.HS_WEB)
    iys.sync_consents(platform, SimulatedIys(), "w1")

    def opt_out(source: str, ref: str) -> InboundMessage:
        return InboundMessage(source, "2222", "iptal", T0, "sim", ref)

    mo.receive(platform, [opt_out("905321234567", "r1"), opt_out("+905321234567", "r2")])
    mo.receive(platform, [opt_out("05321234567", "r3")])
    pkg = _create(platform, numbers=["5321234567", "905329999999"], commercial=True)
    row = package_row(platform, pkg)
    assert (row["recipients"], row["credit"]) == (1, 1)
    assert balance(platform) == 99


BAD_UUIDS = ["a\x00b", "\ud800"]
UUID_CASES = [
    ("/contact/update", lambda u: {"uuid": u, "firstName": "x"}),
    ("/contact/list", lambda u: {"groupUUID": u}),
    ("/contact/create-group", lambda u: {"title": "g", "parentUUID": u}),
    ("/contact/set-blacklist", lambda u: {"status": True, "uuids": [u]}),
    ("/contact/create", lambda u: {"gsm": "905321234567", "groupUUIDs": [u]}),
]


@pytest.mark.parametrize("bad", BAD_UUIDS, ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(("path", "body"), UUID_CASES, ids=[p for p, _ in UUID_CASES])
def test_a_uuid_with_a_nul_or_a_lone_surrogate_is_a_400_not_a_500(
    db: Database, path: str, body: Any, bad: str
) -> None:
    """DEFECT (contacts): service/api/node/contacts.py `_text` (uuid, uuids, groupUUID,
    groupUUIDs, parentUUID) takes any str up to 64 characters without check_text, so a
    NUL reaches PostgreSQL ("text fields cannot contain NUL") and a lone surrogate
    reaches the driver's encoder: 500 ERR_INTERNAL_SERVER instead of ERR_INVALID_PARAM."""
    platform = make_platform(db)
    add_customer(platform)
    client = Client(create_app(platform=platform))
    auth = "Basic " + base64.b64encode(f"acme:{PASSWORD}".encode()).decode()
    data = json.dumps(body(bad)).encode("utf-8", "surrogatepass")
    response = client.post(
        path, data=data, headers={"Authorization": auth, "Content-Type": "application/json"}
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


def test_an_mo_whose_text_has_a_nul_is_stored_not_refused_forever(db: Database) -> None:
    """DEFECT (mo x smpp): services/mo.py receive stores the carrier's text as is. A NUL
    (an SMSC padding short_message, a UCS-2 U+0000, a Latin-1 0x00) is refused by
    PostgreSQL, receive raises, the SMPP link answers ESME_RX_T_APPN for the whole batch
    (up to 1000 deliver_sm) and the SMSC redelivers it forever: a poison message that
    also holds back every MO batched with it. /mo/push checks text; links do not."""
    from service.domain.carrier import InboundMessage
    from service.services import mo

    platform = make_platform(db, clock=FixedClock(T0))
    add_customer(platform)
    mo.add_number(platform, "acme", "2222")
    good = InboundMessage("905321234567", "2222", "merhaba", T0, "smpp-a", "m1")
    padded = InboundMessage("905321234568", "2222", "iptal\x00\x00", T0, "smpp-a", "m2")
    result = mo.receive(platform, [good, padded])  # raises DataError on PostgreSQL today
    assert result.stored == 2


def test_a_receipt_with_an_oversized_or_nul_reference_does_not_poison_its_batch(
    db: Database,
) -> None:
    """DEFECT (durable x smpp): receipt_inbox.carrier_ref is String(64) and the SMPP
    parser takes the receipt's id from receipted_message_id or the free text's "id:"
    field, unchecked. One id over 64 characters, or with a NUL, makes the INSERT of the
    whole batch fail on PostgreSQL: delivery.record_receipts raises, the link answers
    ESME_RX_T_APPN to every deliver_sm of the batch, and the SMSC redelivers them all,
    forever for the bad one. It should be dropped (logged), the others recorded."""
    from service.domain.carrier import DeliveryReceipt
    from service.domain.constants import ItemState
    from service.services import delivery

    platform = make_platform(db, clock=FixedClock(T0))
    ok = DeliveryReceipt("ref-1", ItemState.DELIVERED, T0, None, "smpp-a")
    long = DeliveryReceipt("x" * 65, ItemState.DELIVERED, T0, None, "smpp-a")
    nul = DeliveryReceipt("ref\x00", ItemState.DELIVERED, T0, None, "smpp-a")
    recorded = delivery.record_receipts(platform, "smpp-a", [ok, long, nul])
    assert recorded == 1  # the usable one; the other two dropped, not failing the batch


class _CancelWhileThrottled:
    """A link that is throttled (retry) while the customer cancels the package."""

    name = "throttled"

    def __init__(self, cancel: Any) -> None:
        self.cancel = cancel
        self.handed: list[int] = []

    def open(self, events: Any) -> None:
        """Nothing to open."""

    def available(self) -> bool:
        """Always up."""
        return True

    def submit(self, batch: Any) -> list[Any]:
        """Cancel the package meanwhile, answer 'throttled, try later' for the batch."""
        from service.domain.carrier import SubmitResult

        self.cancel()
        return [SubmitResult(s.item_id, False, error="THROTTLED", retry=True) for s in batch]

    def poll(self) -> None:
        """Nothing to poll."""

    def close(self) -> None:
        """Nothing to close."""


def test_an_item_throttled_while_its_package_is_cancelled_is_not_sent_afterwards(
    db: Database,
) -> None:
    """DEFECT (sched cancel x durable retry): cancel moves only "waiting" items; an item
    "sending" at that moment whose carrier answers retry (throttled: certainly not sent)
    goes back to "waiting" by mark_retry and is sent on the next pass, after the customer
    cancelled, and charged. Cancel says it cancels what was not handed to a carrier."""
    from service.delivery.carriers.simulator import SimulatorCarrier
    from service.delivery.dispatcher import Dispatcher
    from service.domain.constants import ItemState
    from tests.integration.helpers import item_states

    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock)
    add_customer(platform, balance=100)
    pkg = _create(platform, numbers=["905321111101", "905321111102"])
    link = _CancelWhileThrottled(lambda: call(platform, principal(platform), "sms/cancel", id=pkg))
    Dispatcher(platform, link, owner="w1", batch=1).run_once()
    # The waiting item was cancelled and refunded; the throttled one is cancelled and
    # refunded too, as its retry is recorded: its package was cancelled meanwhile.
    assert balance(platform) == 100
    clock.current = datetime(2026, 3, 2, 6, 1)  # past RETRY_DELAY
    Dispatcher(platform, SimulatorCarrier(clock), owner="w2").drain()
    states = item_states(platform, pkg)
    assert ItemState.SENT not in states.values() and ItemState.DELIVERED not in states.values()
    assert balance(platform) == 100


def test_money_balances_across_cancel_mid_run_multipart_retry_and_webhooks(db: Database) -> None:
    """Promise check (sched cancel x durable multipart/retry x hooks): a multipart package
    with a push URL, some items rejected/undelivered/delivered/throttled, cancelled while
    running: every item is paid for at most once and refunded at most once, the ledger
    sums to the balance, and what is kept is exactly the price of what was delivered."""
    from sqlalchemy import func

    from service.delivery.carriers.simulator import SimulatorCarrier
    from service.delivery.dispatcher import Dispatcher
    from service.domain.constants import ItemState
    from service.store.schema import credit_ledger, items
    from tests.integration.helpers import ledger_sum

    clock = FixedClock(T0)
    platform = make_platform(db, clock=clock, webhook_allow_networks="127.0.0.0/8")
    add_customer(platform, balance=1000)
    text = "x" * 200  # two parts each
    numbers = [f"90532111110{n}" for n in range(8)]
    pkg = _create(
        platform, numbers=numbers, content=text, pushSettings={"url": "http://127.0.0.1:8080/h"}
    )
    assert balance(platform) == 1000 - 16
    rules = {"0": "rejected", "1": "undelivered", "2": "silent", "*": "delivered"}
    sim = SimulatorCarrier(clock, rules, report_delay=5, split_parts=True)
    Dispatcher(platform, sim, owner="w1", batch=4).send_lane(1)  # 4 of 8 handed over
    call(platform, principal(platform), "sms/cancel", id=pkg)
    clock.advance(seconds=6)
    Dispatcher(platform, sim, owner="w1").drain()
    clock.advance(days=2)  # the silent one times out
    Dispatcher(platform, sim, owner="w1").drain()
    with platform.store.read() as conn:
        rows = conn.execute(
            select(items.c.state, items.c.credit, items.c.refunded).where(items.c.package_id == pkg)
        ).all()
        refunds = conn.execute(
            select(func.coalesce(func.sum(credit_ledger.c.amount), 0)).where(
                credit_ledger.c.amount > 0, credit_ledger.c.user_id == 1
            )
        ).scalar_one()
    kept = sum(c for s, c, _ in rows if s == ItemState.DELIVERED)
    assert all(r for s, _, r in rows if s != ItemState.DELIVERED), rows
    assert balance(platform) == 1000 - kept, rows
    assert ledger_sum(platform, 1) == balance(platform)
    assert refunds == 1000 + 16 - kept  # the mint, and each refunded item once
