"""/sms/create-kvkk over JSON and SOAP on a live server, and the consent page over plain
HTTP: success, the spec's errors for missing names or SHORT_LINK, a server without a
public URL, and a page that answers forged forms, links and tokens with a clear status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from service.store.schema import kvkk_links
from tests.conftest import Database
from tests.e2e.conftest import Api
from tests.e2e.soap.conftest import VENDOR_PASSWORD, VENDOR_USER, SoapServer, serve_vendor
from tests.e2e.soap.helpers import data_of, err_of

NUMBER = "905321234567"
TEXT = "Merhaba FIRST_NAME LAST_NAME, KVKK izin linki SHORT_LINK."
BODY: dict[str, Any] = {
    "number": {"nr": NUMBER, "cfs": {"FIRST_NAME": "Ayşe", "LAST_NAME": "Kaya"}},
    "sender": "BASLIK",
    "content": TEXT,
}


@pytest.fixture
def live(sqlite_db: Database) -> Iterator[SoapServer]:
    """The real app on loopback, its public URL pointing at itself."""
    yield from serve_vendor(sqlite_db)


@pytest.fixture
def api(live: SoapServer) -> Api:
    return Api(live.url, VENDOR_USER, VENDOR_PASSWORD)


def sent_link(api: Api, pkg_id: int) -> str:
    """The link in the text of the package's only item."""
    (item,) = api.data("/sms/list-item", {"pkgID": pkg_id})["list"]
    found = re.search(r"(http://\S+/k/[0-9A-Za-z]{10})\.$", item["msg"])
    assert found, item["msg"]
    return found.group(1)


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def stored_answer(live: SoapServer) -> Any:
    with live.platform.store.read() as conn:
        return conn.execute(select(kvkk_links.c.answer)).scalar_one()


def test_json_create_sends_a_link_the_page_answers_once(live: SoapServer, api: Api) -> None:
    link = sent_link(api, api.data("/sms/create-kvkk", BODY)["pkgID"])
    assert link.startswith(f"{live.url}/k/")
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'name="viewport"' in page.text and "Sayın Ayşe Kaya" in page.text
    answered = requests.post(
        link, data={"answer": "approved", "csrf_token": form_token(page.text)}, timeout=10
    )
    assert answered.status_code == 200 and 'data-answer="approved"' in answered.text
    again = requests.post(
        link, data={"answer": "refused", "csrf_token": form_token(page.text)}, timeout=10
    )
    assert again.status_code == 200 and 'data-answer="approved"' in again.text
    assert stored_answer(live) == "approved"


def test_page_turns_an_oversized_form_and_a_broken_database_into_pages(
    live: SoapServer, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = sent_link(api, api.data("/sms/create-kvkk", BODY)["pkgID"])
    live.app.flask.config["MAX_CONTENT_LENGTH"] = 1000
    big = requests.post(link, data={"answer": "approved", "csrf_token": "x" * 5000}, timeout=10)
    assert big.status_code == 413 and big.headers["Content-Type"].startswith("text/html")

    def broken(*args: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr("service.services.kvkk.open_link", broken)
    down = requests.get(link, timeout=10)
    assert down.status_code == 503 and "biraz sonra tekrar deneyin" in down.text


def test_page_escapes_the_names_it_shows(api: Api) -> None:
    names = {"FIRST_NAME": "<script>alert(1)</script>", "LAST_NAME": "O'Neil & Co"}
    body = {**BODY, "number": {"nr": NUMBER, "cfs": names}}
    page = requests.get(sent_link(api, api.data("/sms/create-kvkk", body)["pkgID"]), timeout=10)
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Neil &amp; Co" in page.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": {"nr": NUMBER, "cfs": {"LAST_NAME": "Kaya"}}}, "number.cfs.FIRST_NAME"),
        ({"number": {"nr": NUMBER, "cfs": {"FIRST_NAME": "Ayşe"}}}, "number.cfs.LAST_NAME"),
        ({"content": "Merhaba FIRST_NAME LAST_NAME"}, "content"),
    ],
)
def test_json_missing_names_or_short_link_are_invalid_params(
    live: SoapServer, api: Api, change: dict[str, Any], field: str
) -> None:
    err = api.error("/sms/create-kvkk", {**BODY, **change})
    assert (err["code"], err["smsCode"], err["status"], err["field"]) == (
        "ERR_INVALID_PARAM",
        "SMS61",
        400,
        field,
    )
    with live.platform.store.read() as conn:
        assert conn.execute(select(kvkk_links)).first() is None


def test_server_without_public_url_refuses_kvkk(server: Any) -> None:
    from tests.conftest import add_customer

    add_customer(server.platform, "acme", 10, "BASLIK")
    err = Api(server.url, "acme").error("/sms/create-kvkk", BODY)
    assert (err["code"], err["status"]) == ("ERR_USER_NOT_AUTHORIZED", 403)
    assert "FINSMS_PUBLIC_URL" in err["message"]


def soap_kvkk(fields: str) -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sms="http://localhost:9587/wsdl/sms"><soapenv:Body><sms:sendKvkkSms>'
        f"<username>{VENDOR_USER}</username><password>{VENDOR_PASSWORD}</password>"
        f"{fields}<sender>BASLIK</sender></sms:sendKvkkSms></soapenv:Body></soapenv:Envelope>"
    ).encode()


NUMBER_XML = (
    f"<number><nr>{NUMBER}</nr><cfs><FIRST_NAME>Ali</FIRST_NAME>"
    "<LAST_NAME>Veli</LAST_NAME></cfs></number>"
)


def test_soap_create_kvkk_and_its_errors(live: SoapServer, api: Api) -> None:
    ok = data_of(live.post(soap_kvkk(f"{NUMBER_XML}<content>{TEXT}</content>"), "sendKvkkSms"))
    link = sent_link(api, int(ok["pkgID"]))
    assert requests.get(link, timeout=10).status_code == 200
    no_link = err_of(live.post(soap_kvkk(f"{NUMBER_XML}<content>Merhaba</content>"), ""))
    assert (no_link["code"], no_link["field"]) == ("ERR_INVALID_PARAM", "content")
    unnamed = f"<number><nr>{NUMBER}</nr></number><content>{TEXT}</content>"
    err = err_of(live.post(soap_kvkk(unnamed), "sendKvkkSms"))
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", "number.cfs.FIRST_NAME")


def test_page_refuses_forged_forms_and_records_nothing(live: SoapServer, api: Api) -> None:
    link = sent_link(api, api.data("/sms/create-kvkk", BODY)["pkgID"])
    other = sent_link(
        api,
        api.data("/sms/create-kvkk", {**BODY, "number": {**BODY["number"], "nr": "905321234568"}})[
            "pkgID"
        ],
    )
    other_form = form_token(requests.get(other, timeout=10).text)
    good_form = form_token(requests.get(link, timeout=10).text)
    for data in (
        {"answer": "approved"},
        {"answer": "approved", "csrf_token": "forged"},
        {"answer": "approved", "csrf_token": other_form},  # signed, for another link
        {"answer": "maybe", "csrf_token": good_form},
    ):
        response = requests.post(link, data=data, timeout=10)
        assert response.status_code == 400 and "Form süresi dolmuş" in response.text
    with live.platform.store.read() as conn:
        assert conn.execute(select(kvkk_links.c.answered_at)).scalars().all() == [None, None]


def test_page_answers_expired_links_with_gone_even_to_a_signed_form(
    live: SoapServer, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from service.services.clock import FixedClock

    link = sent_link(api, api.data("/sms/create-kvkk", BODY)["pkgID"])
    form = form_token(requests.get(link, timeout=10).text)
    later = FixedClock(live.platform.clock.now() + timedelta(days=30))
    monkeypatch.setattr(live.platform, "clock", later)
    for response in (
        requests.get(link, timeout=10),
        requests.post(link, data={"answer": "approved", "csrf_token": form}, timeout=10),
    ):
        assert response.status_code == 410 and "süresi dolmuş" in response.text
    assert stored_answer(live) is None


@pytest.mark.parametrize(
    "token", ["AAAAAAAAAA", "%C4%B1%C4%B1", "x" * 500, "a'b\"c", "0123456789%00"]
)
def test_page_answers_unknown_tokens_with_a_not_found_page(live: SoapServer, token: str) -> None:
    for response in (
        requests.get(f"{live.url}/k/{token}", timeout=10),
        requests.post(f"{live.url}/k/{token}", data={"answer": "approved"}, timeout=10),
    ):
        assert response.status_code == 404 and "link geçerli değil" in response.text
        assert response.headers["Content-Type"].startswith("text/html")
