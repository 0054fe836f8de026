"""Fuzzing every SOAP operation with mutated envelopes, against the app in process over
a real platform (in-memory storage): random element names and nesting, repeated, empty
and nil elements, huge text, wrong types, unknown operations, broken XML.

Every answer must be a `<result>` envelope (HTTP 200) whose error, if any, is a client
error (never ERR_INTERNAL_SERVER), or a SOAP Fault (HTTP 500, client fault code only:
malformed XML and the like), or a 413; and each must come back in bounded time.
"""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from werkzeug.test import Client

from service.api.node.registry import OPERATIONS
from service.api.soap import make_soap_app
from service.api.soap.operations import SPECS
from service.config import Settings
from service.domain.constants import SenderState, UserType
from service.services import credit, senders, users
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SECONDS_PER_REQUEST = 2.0
MAX_PART = 1 << 20  # characters a repeated element may grow to
OP_NAMES = [op.soap_name for op in OPERATIONS]
FIELD_NAMES = sorted(
    {name for spec in SPECS.values() for name in spec.inputs.names()}
    | {"item", "key", "value", "nr", "msg", "xid", "cfs", "username", "password"}
)
TEXTS = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1.5", "abc", "true", "905511034554", "9" * 40]),
    st.sampled_from(["2026-03-02 08:00", "2999-01-01 00:00", "BASLIK", "http://x", "&<>"]),
    st.text(max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "ş", "9"]), st.integers(0, 200_000)),
)


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    """One element: a known or random name, nil, empty, text, or children (repeated)."""
    name = draw(
        st.one_of(
            st.sampled_from(FIELD_NAMES), st.from_regex(r"[A-Za-z_][\w.-]{0,8}", fullmatch=True)
        )
    )
    kind = draw(st.sampled_from(["nil", "empty", "text", "children", "repeated"]))
    if kind == "nil":
        return f'<{name} xsi:nil="true"/>'
    if kind == "empty" or (depth >= 4 and kind in ("children", "repeated")):
        return f"<{name}/>"
    if kind == "text":
        return f"<{name}>{escape(draw(TEXTS))}</{name}>"
    kids = draw(st.lists(elements(depth + 1), max_size=4))
    inner = "".join(kids)
    if kind == "repeated":  # bounded: nested repetitions would multiply
        inner *= min(draw(st.integers(1, 2_000)), MAX_PART // max(1, len(inner)))
    return f"<{name}>{inner}</{name}>"


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    """A request for a known or an unknown operation, sometimes broken."""
    op = draw(st.one_of(st.sampled_from(OP_NAMES), st.sampled_from(["sendFax", "x", "Body"])))
    creds = draw(st.sampled_from(["<username>fuzz</username><password>fuzz-pw</password>", ""]))
    body = "".join(draw(st.lists(elements(), max_size=6)))
    header = "".join(draw(st.lists(elements(), max_size=2)))
    xml = (
        f'<soapenv:Envelope xmlns:soapenv="{ENV}" xmlns:xsi="{XSI}" xmlns:sms="urn:x">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>"
        f"<sms:{op}>{creds}{body}</sms:{op}></soapenv:Body></soapenv:Envelope>"
    ).encode()
    mutation = draw(st.sampled_from(["none"] * 6 + ["truncate", "garbage", "no-envelope"]))
    if mutation == "truncate":
        return xml[: draw(st.integers(0, max(0, len(xml) - 1)))]
    if mutation == "garbage":
        at = draw(st.integers(0, len(xml)))
        return xml[:at] + draw(st.binary(min_size=1, max_size=8)) + xml[at:]
    if mutation == "no-envelope":
        return f"<sms:{op} xmlns:sms='urn:x'>{body}</sms:{op}>".encode()
    return xml


@pytest.fixture(scope="module")
def client() -> Client:
    config = Settings(
        argon2_time_cost=1, argon2_memory_kib=8, secret_key="fuzz", max_body_bytes=4 << 20
    )
    platform = Platform(config, uow=MemoryUnitOfWork())
    users.create_user(platform, "fuzz", "fuzz-pw", UserType.STANDARD)
    credit.mint(platform, "fuzz", 10_000_000)
    senders.add_sender(platform, "fuzz", "BASLIK", SenderState.APPROVED)
    return Client(make_soap_app(platform))


def check_answer(status: int, data: bytes) -> None:
    """A <result> without an internal error, a client SOAP Fault, or 413."""
    if status == 413:
        return
    root = etree.fromstring(data)
    body = root.find(f"{{{ENV}}}Body")
    (answer,) = body
    if status == 200:
        (result,) = answer
        assert result.tag == "result"
        assert b"ERR_INTERNAL_SERVER" not in data, data[:2000]
        return
    assert status == 500, status
    assert answer.tag == f"{{{ENV}}}Fault"
    code = answer.findtext("faultcode") or ""
    assert code.split(":")[-1].startswith("Client"), data[:2000]


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=envelopes())
def test_every_answer_is_a_result_or_a_client_fault(client: Client, body: bytes) -> None:
    started = time.perf_counter()
    response = client.post("/", data=body, headers={"Content-Type": "text/xml; charset=utf-8"})
    elapsed = time.perf_counter() - started
    check_answer(response.status_code, response.data)
    assert elapsed < SECONDS_PER_REQUEST, f"{elapsed:.2f}s for {len(body)} bytes"
