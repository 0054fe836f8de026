"""Review: the Node API functions the merges added (/contact/*, /mo/list-request,
/sms/get-mo) and /mo/push/<link>, fuzzed over the whole WSGI app on SQLite AND
PostgreSQL: odd JSON never makes a 5xx (the existing fuzz test runs on SQLite only and
does not know these functions' fields)."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from service.app import create_app
from service.services import mo
from tests.conftest import PASSWORD, Database, add_customer, make_platform
from tests.integration.test_fuzz_json_api import _dumps, _values, hostile, scalars

TOKEN = "mo-push-token-0123456789"
CONTACT = [
    *("uuid", "uuids", "gsm", "gsms", "firstName", "lastName", "title", "details", "iys"),
    *("iysState", "permanent", "status", "groupUUID", "groupUUIDs", "parentUUID"),
    *("includeContacts", "isInBlacklist", "queryCall", "queryEmail", "returnInvalids"),
    *("exitType", "keyword", "pageIndex", "pageSize", "email", "city", "customFields"),
]
MO = ["startDate", "finishDate", "keyword", "shortNr", "gsm", "state", "pageIndex", "pageSize"]
MO += ["userUUID", "uuid", "exitType"]
PUSH = ["id", "msgid", "from", "msisdn", "to", "shortcode", "text", "msg", "date", "time"]
PATHS = {
    **{
        f"/contact/{name}": CONTACT
        for name in (
            "create",
            "update",
            "delete",
            "list",
            "create-group",
            "update-group",
            "delete-group",
            "list-group",
            "set-blacklist",
        )
    },
    "/mo/list-request": MO,
    "/sms/get-mo": MO,
    "/mo/push/sim": PUSH,
}
AUTH = "Basic " + base64.b64encode(f"acme:{PASSWORD}".encode()).decode()


@st.composite
def requests_(draw: st.DrawFn) -> tuple[str, bytes]:
    """A path and a JSON body using (mostly) its own field names with hostile values."""
    path = draw(st.sampled_from(sorted(PATHS)))
    names = PATHS[path]
    single = st.dictionaries(st.sampled_from(names), hostile, min_size=1, max_size=2)
    mixed = st.dictionaries(st.sampled_from(names), _values(names), max_size=5)
    typed = st.dictionaries(st.sampled_from(names), scalars, min_size=1, max_size=4)
    return path, _dumps(draw(st.one_of(single, mixed, typed)))


def _client(db: Database) -> Client:
    platform = make_platform(db, mo_push_tokens=f"sim={TOKEN}")
    add_customer(platform, "acme")
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "iptal")
    return Client(create_app(platform=platform))


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(request=requests_())
def test_new_functions_never_answer_a_5xx(db: Database, request: tuple[str, bytes]) -> None:
    client = _CLIENTS.get(db.kind)
    if client is None or _CLIENTS.get(db.kind + ":url") != db.url + str(db.search_path):
        client = _CLIENTS[db.kind] = _client(db)
        _CLIENTS[db.kind + ":url"] = db.url + str(db.search_path)
    path, body = request
    auth = f"Bearer {TOKEN}" if path.startswith("/mo/push") else AUTH
    response = client.post(
        path, data=body, headers={"Authorization": auth, "Content-Type": "application/json"}
    )
    assert response.status_code < 500, (path, body[:300], response.get_data(as_text=True)[:300])


_CLIENTS: dict[str, Any] = {}
