"""Hostile XML and oversize bodies cost milliseconds, reach no service, leak no secret."""

from __future__ import annotations

import io
import logging
import time

import pytest
from werkzeug.test import Client, EnvironBuilder

from service.api.soap import make_soap_app
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
