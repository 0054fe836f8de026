"""MO messages through the live server: /mo/list-request and /sms/get-mo over JSON and
SOAP, and /mo/push/<link>, where operators push MO over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from service.api.mo_push import parse_tokens
from service.config import SettingsError
from service.domain.carrier import InboundMessage
from service.services import mo
from service.store.schema import mo_messages, mo_optouts
from tests.conftest import Database, LiveServer, add_customer, make_platform, start_server
from tests.e2e.conftest import Api
from tests.integration.helpers import count

TOKEN = "a-long-operator-token-1234"


def received(platform: Any, username: str, number: str, *texts: str) -> None:
    """`username` has short number `number`, keyword IPTAL, and these MO messages."""
    mo.add_number(platform, username, number)
    mo.add_keyword(platform, username, "IPTAL")
    messages = [
        InboundMessage(
            "905321234567", number, text, datetime(2026, 5, 4, 9, n), "sim", f"{number}-{n}"
        )
        for n, text in enumerate(texts)
    ]
    mo.receive(platform, messages)


# --- JSON ------------------------------------------------------------------------------


def test_list_request_and_get_mo_over_json_post_and_get(server: LiveServer, api: Api) -> None:
    received(server.platform, "acme", "2222", "merhaba", "İPTAL")
    posted = api.data("/mo/list-request", {"pageSize": 10})
    assert [r["msg"] for r in posted["list"]] == ["İPTAL", "merhaba"]
    assert posted["list"][0]["state"] == 2 and posted["list"][0]["gsm"] == 905321234567
    for path in ("/mo/list-request", "/sms/get-mo"):
        response = api.get(path, params={"pageSize": "10"})
        assert response.status_code == 200 and response.json()["data"] == posted
    assert api.data("/sms/get-mo", {"keyword": "iptal"})["stats"]["totalRecord"] == 1


def test_list_request_errors_over_json(server: LiveServer, api: Api) -> None:
    assert api.error("/mo/list-request", {"pageSize": 5})["code"] == "ERR_INVALID_PARAM"
    stranger = add_customer(server.platform, "rival", sender="RIVAL")
    err = api.error("/sms/get-mo", {"userUUID": stranger.uuid})
    assert (err["status"], err["code"], err["field"]) == (404, "ERR_USER_NOT_FOUND", "userUUID")
    anonymous = requests.post(f"{server.url}/mo/list-request", json={}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"


# --- HTTP push -------------------------------------------------------------------------


@pytest.fixture
def pushed(sqlite_db: Database) -> Iterator[LiveServer]:
    platform = make_platform(sqlite_db, mo_push_tokens=f"opa={TOKEN},opb=another-token-5678")
    add_customer(platform, "acme")
    mo.add_number(platform, "acme", "2222")
    mo.add_keyword(platform, "acme", "İPTAL")
    server = start_server(platform)
    yield server
    server.close()


def push(
    server: LiveServer, body: Any = None, token: str | None = TOKEN, link: str = "opa", **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        f"{server.url}/mo/push/{link}",
        headers=headers,
        timeout=10,
        **({"json": body} if body is not None else {}),
        **kw,
    )


MO = {"id": "op-77", "from": "905321234567", "to": "2222", "text": "iptal"}


def test_a_pushed_mo_is_stored_once_and_listed(pushed: LiveServer) -> None:
    first, again = push(pushed, MO), push(pushed, MO)
    assert first.status_code == again.status_code == 200
    assert first.json() == {"err": None, "data": {"status": 1, "duplicate": False}}
    assert again.json()["data"] == {"status": 1, "duplicate": True}
    assert count(pushed.platform, mo_messages) == 1 and count(pushed.platform, mo_optouts) == 1
    (row,) = Api(pushed.url, "acme").data("/mo/list-request")["list"]
    assert (row["msg"], row["state"], row["keyword"]) == ("iptal", 2, "iptal")


def test_the_same_id_on_another_link_is_another_message(pushed: LiveServer) -> None:
    assert push(pushed, MO).status_code == 200
    assert push(pushed, MO, token="another-token-5678", link="opb").status_code == 200
    assert count(pushed.platform, mo_messages) == 2


def test_forms_query_strings_and_aggregators_field_names_are_read(pushed: LiveServer) -> None:
    form = {"msgid": "f1", "msisdn": "05321234567", "shortcode": "2222", "message": "Merhaba"}
    assert push(pushed, data=form).status_code == 200
    query = {"token": TOKEN, "messageId": "q1", "GSM": "5321234567", "TO": "2222", "msg": "x"}
    response = requests.get(f"{pushed.url}/mo/push/opa", params=query, timeout=10)
    assert response.status_code == 200, response.text
    dated = {**MO, "id": "d1", "date": "2026-05-04 12:30"}
    assert push(pushed, dated).status_code == 200
    rows = Api(pushed.url, "acme").data("/mo/list-request")["list"]
    assert {r["msg"] for r in rows} == {"Merhaba", "x", "iptal"}
    assert "2026-05-04T12:30:00" in {r["date"] for r in rows}


@pytest.mark.parametrize(
    "token, link",
    [(None, "opa"), ("wrong-token-but-long-enough", "opa"), (TOKEN, "opb"), (TOKEN, "nolink")],
)
def test_a_push_without_the_links_token_is_refused(
    pushed: LiveServer, token: str | None, link: str
) -> None:
    response = push(pushed, MO, token=token, link=link)
    assert response.status_code == 401
    assert response.json()["err"]["code"] == "ERR_UNAUTHORIZED_REQUEST"
    assert count(pushed.platform, mo_messages) == 0


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({k: v for k, v in MO.items() if k != "from"}, "ERR_INVALID_PARAM", "from"),
        ({**MO, "text": "  "}, "ERR_INVALID_PARAM", "text"),
        ({**MO, "id": "x" * 129}, "ERR_INVALID_PARAM", "id"),
        ({**MO, "to": {"a": 1}}, "ERR_INVALID_PARAM", "to"),
        ({**MO, "date": "yarın"}, "ERR_INVALID_PARAM", "date"),
        ({**MO, "text": "a\x00b"}, "ERR_INVALID_PARAM", "text"),
        ([MO], "ERR_BAD_REQUEST", None),
    ],
)
def test_bad_pushes_are_400_with_a_code_and_store_nothing(
    pushed: LiveServer, body: Any, code: str, field: str | None
) -> None:
    response = push(pushed, body)
    err = response.json()["err"]
    assert (response.status_code, err["code"], err["field"]) == (400, code, field)
    assert count(pushed.platform, mo_messages) == 0


def test_a_push_of_broken_json_is_400(pushed: LiveServer) -> None:
    response = push(pushed, data=b'{"id": ')
    assert response.status_code == 400 and response.json()["err"]["code"] == "ERR_BAD_REQUEST"


def test_a_push_that_cannot_be_stored_is_503_for_the_operator_to_retry(
    pushed: LiveServer,
) -> None:
    pushed.platform.store.dispose()
    with pushed.platform.store.write() as conn:  # the table gone: every insert fails
        conn.exec_driver_sql("ALTER TABLE mo_messages RENAME TO mo_messages_gone")
    response = push(pushed, MO)
    assert response.status_code == 503
    assert response.json()["err"]["code"] == "ERR_SYSTEM_MAINTENANCE"


@pytest.mark.parametrize("text", ["opa", "opa=short", "b@d=" + TOKEN])
def test_bad_push_tokens_stop_the_start(text: str) -> None:
    with pytest.raises(SettingsError, match="FINSMS_MO_PUSH_TOKENS"):
        parse_tokens(text)
