"""Hostile XML and oversize bodies cost milliseconds, reach no service, leak no secret."""

from __future__ import annotations

import io
import logging
import time

import pytest
from werkzeug.test import Client, EnvironBuilder

from service.api.soap import make_soap_app
from service.api.soap.protocol import MAX_ELEMENTS
from tests.unit.test_soap_app import ENV, FakePlatform, FakeSettings, envelope, make_client, post

SECRET_FILE_TEXT = "root:x:0:0"  # /etc/passwd's first line, if an entity were resolved


def body_with_dtd(dtd: str, value: str) -> str:
    """An otherwise valid request with a DOCTYPE and `value` as the username."""
    return f"<?xml version='1.0'?>\n<!DOCTYPE Envelope [{dtd}]>\n" + envelope(
        "getUserCredit", credentials=False
    ).replace("<sms:getUserCredit>", f"<sms:getUserCredit><username>{value}</username>")


XXE = body_with_dtd('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;")
XXE_NETWORK = body_with_dtd('<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">', "&xxe;")
BILLION_LAUGHS = body_with_dtd(
    '<!ENTITY a0 "lol">'
    + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)),
    "&a9;",
)
QUADRATIC = body_with_dtd(f'<!ENTITY big "{"x" * 50_000}">', "&big;" * 5_000)
PARAMETER_ENTITY = body_with_dtd('<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;', "a")
HOSTILE = {
    "xxe": XXE,
    "xxe-network": XXE_NETWORK,
    "billion-laughs": BILLION_LAUGHS,
    "quadratic": QUADRATIC,
    "parameter-entity": PARAMETER_ENTITY,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_documents_with_a_dtd_are_refused_fast(name: str) -> None:
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 30)))
    started = time.perf_counter()
    response = post(client, HOSTILE[name])
    elapsed = time.perf_counter() - started
    assert response.status_code == 500
    assert b"DTDForbidden" in response.data
    assert SECRET_FILE_TEXT.encode() not in response.data
    assert platform.logins == [] and platform.calls == []
    assert elapsed < 0.5, f"{name} took {elapsed:.3f}s"


def test_utf16_doctype_is_refused_after_parsing() -> None:
    client, platform = make_client()
    response = post(client, XXE.replace("<?xml version='1.0'?>\n", "").encode("utf-16"))
    assert response.status_code == 500
    assert b"Client" in response.data
    assert platform.logins == []


def test_deep_nesting_is_refused() -> None:
    client, platform = make_client()
    deep = "<a>" * 100 + "</a>" * 100
    response = post(client, envelope("sendSms", f"<title>{deep}</title>"))
    assert response.status_code == 500
    assert b"TooDeep" in response.data
    assert platform.calls == []


def test_very_deep_nesting_costs_little() -> None:
    client, _ = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    deep = "<a>" * 100_000 + "</a>" * 100_000
    started = time.perf_counter()
    response = post(client, envelope("sendSms", f"<title>{deep}</title>"))
    assert response.status_code == 500
    assert time.perf_counter() - started < 1.0


def test_oversize_body_is_413_before_parsing() -> None:
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1000)))
    body = envelope("sendSms", f"<content>{'x' * 2000}</content>")
    response = post(client, body)
    assert response.status_code == 413
    assert b"RequestTooLarge" in response.data
    assert platform.logins == []


def test_oversize_chunked_body_is_413() -> None:
    platform = FakePlatform(FakeSettings(max_body_bytes=1000))
    app = make_soap_app(platform)
    body = envelope("sendSms", f"<content>{'x' * 2000}</content>").encode()
    builder = EnvironBuilder(
        method="POST",
        path="/",
        headers=[("Content-Type", "text/xml")],
        input_stream=io.BytesIO(body),
    )
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    statuses: list[str] = []
    b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses == ["413 Request Entity Too Large"]
    assert platform.logins == []


def test_body_at_the_limit_is_served() -> None:
    body = envelope("getUserCredit")
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=len(body))))
    assert post(client, body).status_code == 200
    assert platform.calls


def test_passwords_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(make_soap_app(FakePlatform()))
    secret = "Sup3rSecretPw"
    caplog.set_level(logging.DEBUG)
    for logger in ("spyne", "spyne.protocol.xml", "spyne.server.wsgi"):
        logging.getLogger(logger).setLevel(logging.DEBUG)
    try:
        bad_int = envelope("getSmsPackages", "<pageSize>abc</pageSize>")
        requests = [
            envelope("getUserCredit").replace("123456", secret),  # wrong password
            bad_int.replace("123456", secret),
            envelope("getUserCredit").replace("123456", secret)[:-20],  # malformed
            envelope("sendFax").replace("123456", secret),  # unknown operation
        ]
        for body in requests:
            client.post(
                "/",
                data=body,
                headers={
                    "Content-Type": "text/xml",
                    "Authorization": "Basic " + "YWRtaW46" + "U3VwM3JTZWNyZXRQdw==",
                },
            )
    finally:
        for logger in ("spyne", "spyne.protocol.xml", "spyne.server.wsgi"):
            logging.getLogger(logger).setLevel(logging.NOTSET)
    text = caplog.text + "".join(str(r.exc_info) for r in caplog.records)
    assert secret not in text
    assert "U3VwM3JTZWNyZXRQdw" not in text
    assert not [
        r for r in caplog.records if r.name.startswith("spyne") and r.levelno >= logging.ERROR
    ]


def test_faults_do_not_echo_the_request() -> None:
    client, _ = make_client()
    response = post(client, envelope("getUserCredit").replace("123456", "Sup3rSecret")[:-30])
    assert b"Sup3rSecret" not in response.data
    assert ENV.encode() in response.data


def test_the_issue_9_request_is_refused_before_any_work() -> None:
    """getUserCredit padded with 160,000 repeated elements (1.3 MB) took 21 s of CPU."""
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    body = envelope("getUserCredit", "<x>1</x>" * 160_000)
    started = time.perf_counter()
    response = post(client, body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 500
    assert b"Client.TooManyElements" in response.data
    assert platform.logins == [] and platform.calls == []
    assert elapsed < 0.5, f"took {elapsed:.3f}s"


@pytest.mark.parametrize("op", ["getUserCredit", "getSmsPackages", "noSuchOperation"])
def test_a_small_operation_over_its_budget_is_refused_without_parsing(
    op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The operation's name is read from the bytes; the parser must never see the body.
    from lxml import etree

    def no_parse(*_: object) -> None:
        raise AssertionError("parsed")

    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    monkeypatch.setattr(etree, "fromstring", no_parse)
    response = post(client, envelope(op, "<!-- pad --><x>1</x>" * 20_000))
    assert response.status_code == 500
    assert b"Client.TooManyElements" in response.data
    assert platform.logins == []


def test_more_elements_than_any_request_needs_are_refused_before_parsing() -> None:
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    body = envelope("sendSms", "<numbers>" + "<item/>" * (MAX_ELEMENTS + 1) + "</numbers>")
    started = time.perf_counter()
    response = post(client, body)
    assert time.perf_counter() - started < 0.5
    assert response.status_code == 500
    assert b"Client.TooManyElements" in response.data
    assert platform.logins == []


# getUserCredit's whole budget is smaller than the header: refused by the byte count first.
@pytest.mark.parametrize(
    ("op", "fault"),
    [("getUserCredit", b"Client.TooManyElements"), ("sendSms", b"Client.HeaderTooLarge")],
)
def test_a_header_larger_than_credentials_need_is_refused(op: str, fault: bytes) -> None:
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    response = post(client, envelope(op, header="<h>" + "<x/>" * 300_000 + "</h>"))
    assert fault in response.data
    assert platform.logins == []


def test_ws_addressing_and_security_headers_fit() -> None:
    client, platform = make_client()
    addressing = "<To>x</To><Action>y</Action><MessageID>z</MessageID><ReplyTo><Address/></ReplyTo>"
    security = (
        "<Security><UsernameToken><Username>admin</Username><Password>123456</Password>"
        "</UsernameToken></Security>"
    )
    response = post(
        client, envelope("getUserCredit", header=addressing + security, credentials=False)
    )
    assert response.status_code == 200
    assert platform.logins[0][:2] == ("admin", "123456")


def test_a_100000_recipient_package_in_its_most_verbose_form_is_accepted() -> None:
    """PHP's associative arrays (nr, msg, xid) are 10 elements per recipient: the largest
    legitimate request, still under the element limit and the body size limit."""
    pair = "<item><key>{}</key><value>{}</value></item>"
    item = "<item>" + pair.format("nr", "9053{:08d}") + pair.format("msg", "Mesaj")
    item += pair.format("xid", "x{}") + "</item>"
    numbers = "".join(item.format(i, i) for i in range(100_000))
    body = envelope("sendSms", f"<sendingType>2</sendingType><numbers>{numbers}</numbers>")
    settings = FakeSettings(max_body_bytes=16 * 1024 * 1024)
    assert len(body) < settings.max_body_bytes
    client, platform = make_client(FakePlatform(settings))
    response = post(client, body)
    assert response.status_code == 200, response.data[:300]
    ((_, params),) = platform.calls
    assert len(params["numbers"]) == 100_000
    assert params["numbers"][-1] == {"nr": "905300099999", "msg": "Mesaj", "xid": "x99999"}


def test_the_largest_filter_request_fits_an_ordinary_operation_budget() -> None:
    client, platform = make_client(FakePlatform(FakeSettings(max_body_bytes=1 << 24)))
    ids = "".join(f"<item>{i}</item>" for i in range(1000))
    custom = "".join(f"<item>c-{i}</item>" for i in range(1000))
    post(client, envelope("getSmsPackages", f"<ids>{ids}</ids><customIDs>{custom}</customIDs>"))
    ((_, params),) = platform.calls
    assert len(params["ids"]) == len(params["customIDs"]) == 1000
