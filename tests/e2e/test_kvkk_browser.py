"""The KVKK consent page in a real browser: Debian's chromium driven by Playwright.

A KVKK package is created over the JSON API of a live server, the dispatcher hands it to
the simulator, and the link is read from the text the carrier received; chromium opens
it, approves, and the consent is in the database. Expired and forged links show a clear
page. Skips when chromium is missing, unless FINSMS_REQUIRE_CLIENTS=1 (CI): then fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from service.delivery.carriers.registry import make_dispatcher
from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.iys.simulator import SimulatedIys
from service.domain.carrier import Submission
from service.domain.constants import IysSource, IysState
from service.services import iys
from service.services.clock import FixedClock
from tests.conftest import Database
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import VENDOR_PASSWORD, VENDOR_USER, SoapServer, serve_vendor

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NUMBER = "905321234567"


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    reason = f"{CHROMIUM} not installed: run scripts/install_browser.sh (apt chromium)"
    if os.environ.get("FINSMS_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"FINSMS_REQUIRE_CLIENTS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless chromium page (a fresh context per test)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = chromium.new_context(locale="tr-TR", viewport={"width": 390, "height": 844})
        yield context.new_page()
        context.close()
        chromium.close()


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[SoapServer]:
    """The real app on loopback, public URL pointing at it, with the vendor's user."""
    yield from serve_vendor(sqlite_db)


def send_kvkk(server: SoapServer) -> int:
    """/sms/create-kvkk over JSON; the package id."""
    api = Api(server.url, VENDOR_USER, VENDOR_PASSWORD)
    body = {
        "number": {"nr": NUMBER, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}},
        "sender": "BASLIK",
        "content": "Merhaba FIRST_NAME LAST_NAME, KVKK izin linki SHORT_LINK.",
    }
    pkg_id: int = api.data("/sms/create-kvkk", body)["pkgID"]
    return pkg_id


def delivered_link(server: SoapServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Dispatch what is due and return the link in the text the simulator was handed."""
    texts: list[str] = []
    real = SimulatorCarrier.submit

    def recording(self: SimulatorCarrier, batch: Any) -> Any:
        texts.extend(s.text for s in batch if isinstance(s, Submission))
        return real(self, batch)

    monkeypatch.setattr(SimulatorCarrier, "submit", recording)
    make_dispatcher(server.platform).drain()
    (text,) = texts
    assert text.startswith("Merhaba Ayşe Kaya, KVKK izin linki ")
    found = re.search(r"(http://127\.0\.0\.1:\d+/k/[0-9A-Za-z]{10})\.$", text)
    assert found, text
    return found.group(1)


def consent(server: SoapServer) -> tuple[Any, ...]:
    """The stored answer of the only link."""
    from sqlalchemy import select

    from service.store.schema import kvkk_links

    with server.platform.store.read() as conn:
        row = conn.execute(
            select(
                kvkk_links.c.answer,
                kvkk_links.c.consent_source,
                kvkk_links.c.number,
                kvkk_links.c.user_agent,
            )
        ).one()
    return tuple(row)


def test_recipient_opens_the_link_in_chromium_and_approves(
    live: SoapServer, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_kvkk(live)
    link = delivered_link(live, monkeypatch)
    response = browser.goto(link)
    assert response.status == 200
    assert "Sayın Ayşe Kaya" in browser.inner_text("body")
    assert "BASLIK" in browser.inner_text(".brand")
    # Mobile-friendly: the buttons are large enough to tap on a 390 px wide screen.
    box = browser.locator("button.approve").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300
    browser.click("button.approve")
    assert browser.get_attribute("#answer", "data-answer") == "approved"
    assert "İzniniz kaydedildi" in browser.inner_text("#answer")
    answer, source, number, agent = consent(live)
    assert (answer, source, number) == ("approved", "HS_WEB", NUMBER)
    assert "Chrome" in agent
    # The answer is the user's İYS consent of the number, and the sync takes it to İYS.
    (given,) = iys.consents(live.platform, VENDOR_USER)
    assert (given.recipient, given.status, given.source) == (NUMBER, "ONAY", IysSource.HS_WEB)
    iys.save_settings(live.platform, VENDOR_USER, iys_code="1234", brand_code="5678")
    iys.sync_consents(live.platform, SimulatedIys(), "browser-test")
    assert iys.consents(live.platform, VENDOR_USER)[0].iys_state == IysState.ACCEPTED
    # Opened again (or answered again from the back button): the recorded answer stays.
    browser.go_back()
    browser.reload()
    assert browser.get_attribute("#answer", "data-answer") == "approved"


def test_expired_link_shows_a_gone_page(
    live: SoapServer, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    send_kvkk(live)
    link = delivered_link(live, monkeypatch)
    clock = FixedClock(live.platform.clock.now() + timedelta(days=31))
    monkeypatch.setattr(live.platform, "clock", clock)
    response = browser.goto(link)
    assert response.status == 410
    assert "süresi dolmuş" in browser.inner_text("#problem")
    assert browser.locator("button").count() == 0
    assert consent(live)[0] is None


def test_forged_link_shows_a_not_found_page(live: SoapServer, browser: Any) -> None:
    for token in ("AAAAAAAAAA", "kısa", "0123456789abcdef"):
        response = browser.goto(f"{live.url}/k/{token}")
        assert response.status == 404
        assert "link geçerli değil" in browser.inner_text("#problem")
