"""Fuzzing every JSON function of the registry in process: hostile bodies, methods, content
types and credentials never make a 5xx, and every answer is the Node API envelope.

Deterministic for CI: derandomized, no example database, a bounded number of examples.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from service.api.node.registry import OPERATIONS
from service.app import create_app
from tests.conftest import PASSWORD, Database, add_customer, make_platform

# The fields each function reads (service/api/node/requests.py and functions.py), with
# those of nested objects; a function missing here is fuzzed with the common ones.
COMMON = ["pageIndex", "pageSize", "startDate", "finishDate", "keyword", "status", "sender"]
REF = ["id", "pkgID", "uuid", "customID"]
CREATE = [
    *("type", "sendingType", "number", "numbers", "sender", "title", "content", "encoding"),
    *("validity", "sendingDate", "periodicSettings", "pushSettings", "commercial", "customID"),
    *("trustDate", "skipAhsQuery", "customFields"),
]
FIELDS: dict[str, list[str]] = {
    "sms/create-otp": CREATE,
    "sms/create": CREATE,
    "sms/list": [*COMMON, "ids", "customIDs"],
    "sms/list-item": [*REF, "target", "operator", "state", "pageIndex", "pageSize"],
    "sms/list-sender": ["keyword", "status", "pageIndex", "pageSize"],
    "sms/cancel": REF,
    "sms/recreate": [*REF, "title", "includeNewNumbers"],
    "sms/summary": ["startDate", "finishDate"],
    "sms/inquiry-number": ["gsm", "sender", "startDate", "finishDate", "pageIndex", "pageSize"],
    "user/credit": [],
}
NESTED = ["nr", "msg", "xid", "cfs", "FIRST_NAME", "periodType", "interval", "amount", "url"]

HUGE = "9" * 5000  # past int()'s 4,300 digits
# Placeholders in the body replaced by literals json.dumps cannot write.
RAW_LITERALS = {"@@HUGE@@": HUGE, "@@NEGHUGE@@": "-" + HUGE, "@@EXP@@": "1e999999"}

hostile = st.sampled_from(
    [
        "905321111111",
        "5321111111",
        "ACME",
        "2026-12-01 10:00",
        "0001-01-01 00:00",
        "9999-12-31 23:59",
        "1",
        "-1",
        "0",
        "",
        " ",
        "a\x00b",
        "\ud800",
        HUGE,
        "x" * 70_000,
        "http://127.0.0.1/hook",
        *RAW_LITERALS,
    ]
)


def _weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, picked in proportion to its weight (one_of picks evenly
    among branches but not among the values of a sampled_from)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


scalars = _weighted(
    (4, hostile),
    (1, st.none()),
    (1, st.booleans()),
    (1, st.integers()),
    (1, st.integers(min_value=-(2**70), max_value=2**70)),
    (1, st.floats(allow_nan=True, allow_infinity=True)),  # NaN and Infinity literals
    (1, st.text(max_size=30)),  # NUL and lone surrogates included
)


def _names(names: list[str]) -> st.SearchStrategy[str]:
    """A field name in some case, or an unknown one."""
    known = st.sampled_from(names or COMMON).flatmap(
        lambda n: st.sampled_from([n, n.upper(), n.lower(), n.swapcase()])
    )
    return st.one_of(known, known, st.text(max_size=8))


def _values(depth_names: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(_names(depth_names), inner, max_size=4),
        ),
        max_leaves=8,
    )


def _bodies(path: str) -> st.SearchStrategy[dict[str, Any]]:
    names = FIELDS.get(path, COMMON)
    # One field of the function with a hand-picked value reaches the code that reads it;
    # in a larger body another field's error usually comes first.
    single = st.dictionaries(st.sampled_from(names or COMMON), hostile, min_size=1, max_size=1)
    mixed = st.dictionaries(_names(names), _values(NESTED + names), max_size=4)
    return _weighted((1, single), (2, mixed))


def _dumps(body: Any) -> bytes:
    text = json.dumps(body)
    for marker, literal in RAW_LITERALS.items():
        text = text.replace(f'"{marker}"', literal)
    return text.encode("utf-8", "surrogatepass")


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


GOOD_AUTH = st.just(_basic(f"acme:{PASSWORD}".encode()))
BAD_AUTH = st.one_of(
    st.just(None),
    st.just(_basic(f"ACME:{PASSWORD}".encode())),
    st.sampled_from(
        [
            _basic(b"a\x00b:pw"),
            _basic(b"acme:\x00"),
            _basic(b"\xff\xfe:\xed\xa0\x80"),  # not UTF-8; a UTF-8-encoded surrogate
            _basic(b"no-colon"),
            _basic(b":"),
            "Basic !!!not base64",
            "basic " + base64.b64encode(f"acme:{PASSWORD}".encode()).decode(),
            "Bearer abc",
            "Basic ",
        ]
    ),
    st.binary(max_size=40).map(_basic),
)
# Mostly the customer's credentials, so that most requests reach the functions.
AUTH = _weighted((4, GOOD_AUTH), (1, BAD_AUTH))
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
    ]
)


@st.composite
def requests_(draw: st.DrawFn) -> dict[str, Any]:
    """One request: a function, a method, a body in some form, headers."""
    op = draw(st.sampled_from(OPERATIONS))
    body = draw(_bodies(op.path))
    form = draw(st.sampled_from(["json", "json", "json", "form", "query", "garbage", "[]"]))
    if form == "json":
        data = _dumps(body)
    elif form == "form":
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        data = urlencode(flat, encoding="utf-8", errors="surrogatepass").encode()
    elif form == "garbage":
        data = draw(st.binary(max_size=300))
    else:
        data = b"[]" if form == "[]" else b""
    query = ""
    if form == "query":
        flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        query = urlencode(flat, encoding="utf-8", errors="surrogatepass")
    headers = {}
    auth = draw(AUTH)
    if auth is not None:
        headers["Authorization"] = auth
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return {
        "method": draw(st.sampled_from(["GET", "POST", "POST", "POST", "PUT"])),
        "path": f"/{op.path}",
        "query_string": query,
        "data": data,
        "headers": headers,
    }


@pytest.fixture(scope="module")
def client(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """The whole WSGI app over a real Platform on SQLite, with a customer ready to send."""
    path = tmp_path_factory.mktemp("fuzz") / "finsms.db"
    shutil.copy(sqlite_template, path)
    platform = make_platform(Database("sqlite", f"sqlite:///{path}"))
    add_customer(platform, "acme", balance=10**9, sender="ACME")
    yield Client(create_app(platform=platform))
    platform.close()


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=requests_())
def test_no_request_makes_a_5xx_or_leaves_the_envelope(
    client: Client, request: dict[str, Any]
) -> None:
    response = client.open(**request)
    status = response.status_code
    assert status < 500, (request, response.get_data(as_text=True)[:500])
    payload = json.loads(response.get_data())
    assert set(payload) == {"err", "data"}, payload
    if status == 200:
        assert payload["err"] is None
    else:
        assert payload["data"] is None, payload
        assert payload["err"]["status"] == status, payload
        assert payload["err"]["code"].startswith("ERR_"), payload
