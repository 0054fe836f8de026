"""/contact/import and /contact/import-status over JSON through a live server, on SQLite
and PostgreSQL: the request answers at once, a dispatcher (as `finsms serve` embeds one)
processes it, a second request meanwhile is SMS13, bad parameters change nothing."""

from __future__ import annotations

import time

import pytest

from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from tests.conftest import LiveServer, add_customer
from tests.e2e.conftest import Api

# The spec's example (a space after the comma of its header), and one bad number.
CSV = (
    "'GSM', 'GROUP_NAME'\n'905991000000','A Grubu'\n'905991000002','A Grubu'\n"
    "'905991000003','B Grubu'\n'123','B Grubu'"
)


@pytest.fixture
def book(any_server: LiveServer) -> Api:
    """User 'acme' on a live server over each database."""
    add_customer(any_server.platform, "acme", 1000, "ACME")
    return Api(any_server.url, "acme")


def _wait_done(book: Api, seconds: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        (latest, *_) = book.data("/contact/import-status")["list"]
        if latest["state"] in ("done", "failed"):
            return latest  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the import was not processed")


def test_the_specs_example_is_imported_by_the_dispatcher(book: Api, any_server: LiveServer) -> None:
    body = {"csvData": CSV, "columns": ["gsm", "group_name"], "isInBlacklist": False}
    assert book.data("/contact/import", body) == {"status": 1}
    err = book.error("/contact/import", body)
    assert (err["code"], err["smsCode"], err["status"]) == (
        "ERR_CONTACT_IMPORT_EXISTS",
        "SMS13",
        409,
    )
    (pending,) = book.data("/contact/import-status")["list"]
    assert pending["state"] == "pending"
    dispatcher = Dispatcher(
        any_server.platform, SimulatorCarrier(any_server.platform.clock), owner="serve-worker"
    )
    dispatcher.start()
    try:
        done = _wait_done(book)
    finally:
        dispatcher.stop()
    assert done["stats"] == {"total": 4, "created": 3, "updated": 0, "unchanged": 0, "invalid": 1}
    assert done["invalidRows"] == [{"line": 5, "reason": "GSM: geçerli bir numara değil"}]
    groups = book.data("/contact/list-group")["list"]
    assert [(g["title"], g["stats"]["contactCount"]) for g in groups] == [
        ("A Grubu", 2),
        ("B Grubu", 1),
    ]
    assert book.data("/contact/import", body) == {"status": 1}  # the first is done


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"columns": ["gsm"]}, "csvData"),
        ({"csvData": "'905991000000'"}, "columns"),
        ({"csvData": "'905991000000'", "columns": ["first_name"]}, "columns"),
        ({"csvData": "'905991000000'", "columns": ["gsm", "şehir"]}, "columns"),
        ({"csvData": "'905991000000'", "columns": "gsm", "overwrite": "belki"}, "overwrite"),
    ],
)
def test_bad_parameters_are_refused_and_store_nothing(
    book: Api, body: dict[str, object], field: str
) -> None:
    err = book.error("/contact/import", body)
    assert (err["code"], err["field"]) == ("ERR_INVALID_PARAM", field)
    assert book.data("/contact/import-status")["list"] == []


def test_an_unknown_group_uuid_is_sms10(book: Api) -> None:
    body = {"csvData": "'905991000000'", "columns": ["gsm"], "groupUUIDs": ["nope"]}
    assert book.error("/contact/import", body)["smsCode"] == "SMS10"
    assert book.data("/contact/import-status")["stats"]["totalRecord"] == 0
