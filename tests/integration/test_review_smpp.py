"""Review: an SMPP link over a real SMSC (tests/smsc) feeding the real MO store, on
SQLite and PostgreSQL. A failing test here is a defect still open."""

from __future__ import annotations

import time

from service.delivery.carriers.smpp import make_smpp_carrier
from service.delivery.dispatcher import DurableLinkEvents
from service.delivery.inbound import StoredInbound
from service.services.clock import Clock
from service.store.schema import mo_messages
from tests.conftest import Database, add_customer, make_platform
from tests.integration.helpers import count
from tests.smsc_fixture import Smsc, smsc, wait_for

__all__ = ["smsc"]  # the fixture, imported for pytest


def test_an_mo_padded_with_nul_over_smpp_is_stored_not_redelivered_forever(
    db: Database, smsc: Smsc
) -> None:
    """DEFECT (mo x smpp): an MO whose short_message carries a 0x00 (Latin-1 padding; a
    UCS-2 U+0000 alike) decodes to text with a NUL; PostgreSQL refuses it, mo.receive
    raises, the link answers ESME_RX_T_APPN (0x64) and the SMSC redelivers it every
    redeliver interval, forever, never stored, holding back MOs batched with it."""
    platform = make_platform(db)
    add_customer(platform)
    carrier = make_smpp_carrier("smsc-a", smsc.options(), Clock())
    carrier.open(DurableLinkEvents(platform, "smsc-a", StoredInbound(platform)))
    try:
        wait_for(carrier.available, what="bind")
        smsc.mo("905321112233", "2222", short_message_hex=b"iptal\x00".hex(), data_coding=3)
        time.sleep(2.0)  # several redeliveries at the SMSC's 500 ms
        statuses = [d["status"] for d in smsc.deliveries()]
        assert count(platform, mo_messages) == 1, statuses
        assert statuses and statuses[-1] == 0, statuses
    finally:
        carrier.close()
