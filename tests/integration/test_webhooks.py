"""Delivery-report webhooks end to end on each database: the outbox written as items
settle, a real HTTP receiver on loopback verifying signatures with the standardwebhooks
library, addresses refused, redirects not followed, a slow endpoint beside a fast one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from standardwebhooks.webhooks import Webhook

from service.cli import cli
from service.delivery.carriers.simulator import SimulatorCarrier
from service.delivery.dispatcher import Dispatcher
from service.delivery.webhooks import PinnedTransport, Refused, WebhookSender
from service.domain import webhooks as hooks
from service.domain.errors import DomainError, Err
from service.services import webhooks
from service.services.clock import FixedClock
from tests.conftest import Database, SqlPlatform, add_customer, make_platform
from tests.integration.helpers import SMS, call, principal

RULES = {"01": "delivered", "02": "undelivered", "03": "rejected", "04": "silent"}
NUMBERS = ["905321111101", "905321111102", "905321111103", "905321111104"]
LOOPBACK = "127.0.0.0/8"


class Receiver:
    """A real HTTP server on loopback: /ok answers 200, /slow after `slow` seconds,
    /fail 500, /redirect 302 to /ok; it keeps every request."""

    def __init__(self, slow: float = 3.0) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body,
                     "at": time.monotonic()}
                )  # fmt: skip
                if self.path == "/slow":
                    time.sleep(slow)
                status = {"/fail": 500, "/redirect": 302}.get(self.path, 200)
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/ok")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def platform(db: Database, clock: FixedClock) -> SqlPlatform:
    p = make_platform(db, clock=clock, webhook_allow_networks=LOOPBACK)
    add_customer(p, balance=100)
    return p


def deliver(platform: SqlPlatform, clock: FixedClock, url: str, numbers: list[str]) -> int:
    """A package with a push URL, sent through the simulator and settled."""
    pkg: int = call(
        platform, principal(platform), "sms/create", **SMS, numbers=numbers,
        pushSettings={"url": url},
    )["pkgID"]  # fmt: skip
    dispatcher = Dispatcher(platform, SimulatorCarrier(clock, RULES, report_delay=5), owner="d")
    dispatcher.drain()
    clock.advance(seconds=6)
    dispatcher.drain()
    return pkg


def outbox(platform: SqlPlatform, *states: int) -> list[hooks.OutboxRow]:
    with platform.uow.read() as tx:
        return tx.webhooks.listing(list(states or (0, 1, -1)), None, 100)


def test_reports_reach_a_real_receiver_signed_and_every_final_state_is_in_them(
    platform: SqlPlatform, clock: FixedClock, receiver: Receiver
) -> None:
    pkg = deliver(platform, clock, receiver.url("/ok"), NUMBERS)
    clock.advance(minutes=1440 + 61)
    Dispatcher(platform, SimulatorCarrier(clock, RULES), owner="d").drain()  # the silent one
    sender = WebhookSender(platform)
    try:
        sender.drain()
        clock.advance(seconds=2)  # the third was given back: two at a time per endpoint
        sender.drain()
    finally:
        sender.stop()
    secret = webhooks.secret(platform, "acme")
    states = {}
    for request in receiver.requests:
        body = Webhook(secret).verify(request["body"], request["headers"])
        assert body["pkgID"] == pkg
        states.update({item["target"]: item["state"] for item in body["items"]})
    assert states == dict(zip(NUMBERS, [3, 4, -1, 5], strict=True))
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(set(ids)) == len(ids) == 3  # rejected; two reports; the timeout
    assert {r.state for r in outbox(platform)} == {hooks.DELIVERED}


def test_a_receiver_that_fails_gets_the_webhook_again_later(
    platform: SqlPlatform, clock: FixedClock, receiver: Receiver
) -> None:
    deliver(platform, clock, receiver.url("/fail"), NUMBERS[:1])
    sender = WebhookSender(platform, jitter=lambda: 0.0)
    try:
        sender.drain()
        (row,) = outbox(platform)
        assert (row.state, row.attempts, row.last_error) == (0, 1, "HTTP 500")
        assert (row.next_at - clock.now()).total_seconds() == 2.5
        clock.advance(seconds=3)
        sender.drain()
    finally:
        sender.stop()
    assert [r["path"] for r in receiver.requests] == ["/fail", "/fail"]
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # the same message id: receivers can drop a repeat
    assert outbox(platform)[0].attempts == 2


def drain_once(platform: SqlPlatform) -> None:
    """A sender on `platform` sends all that is due, then stops."""
    sender = WebhookSender(platform)
    try:
        sender.drain()
    finally:
        sender.stop()


def test_a_redirect_is_not_followed(
    platform: SqlPlatform, clock: FixedClock, receiver: Receiver
) -> None:
    deliver(platform, clock, receiver.url("/redirect"), NUMBERS[:1])
    drain_once(platform)
    assert [r["path"] for r in receiver.requests] == ["/redirect"]
    (row,) = outbox(platform)
    assert row.state == hooks.PENDING
    assert row.last_error == "HTTP 302 (redirects are not followed)"


def test_a_private_address_is_refused_unless_the_operator_allows_it(
    db: Database, platform: SqlPlatform, clock: FixedClock, receiver: Receiver
) -> None:
    strict = make_platform(db, clock=clock)  # no FINSMS_WEBHOOK_ALLOW_NETWORKS
    with pytest.raises(DomainError) as excinfo:
        call(strict, principal(strict), "sms/create", **SMS, numbers=NUMBERS[:1],
             pushSettings={"url": receiver.url("/ok")})  # fmt: skip
    assert (excinfo.value.err, excinfo.value.field) == (Err.ERR_INVALID_PARAM, "pushSettings.url")
    # Accepted where loopback is allowed, then sent by a worker where it is not: refused
    # at the connection, nothing reaches the receiver.
    deliver(platform, clock, receiver.url("/ok"), NUMBERS[:1])
    drain_once(strict)
    assert receiver.requests == []
    (row,) = outbox(platform)
    assert row.last_error is not None and row.last_error.startswith("refused: 127.0.0.1")


def test_a_slow_endpoint_does_not_delay_another_customer_s_reports(
    platform: SqlPlatform, clock: FixedClock
) -> None:
    slow, fast = Receiver(slow=3.0), Receiver()
    try:
        deliver(platform, clock, slow.url("/slow"), NUMBERS)  # three webhooks, first in line
        deliver(platform, clock, fast.url("/ok"), NUMBERS[:1])
        sender = WebhookSender(platform, poll_interval=0.05)
        started = time.monotonic()
        sender.start()
        try:
            while not fast.requests and time.monotonic() - started < 5:
                time.sleep(0.02)
            waited = time.monotonic() - started
            assert fast.requests, "the fast endpoint got nothing"
            assert waited < 1.0, f"the fast endpoint waited {waited:.2f} s"
            # At most webhook_per_endpoint (2) requests at once to the slow one: both
            # arrive (the second may trail the fast one's on a busy machine), no third
            # while they take their 3 s.
            limit = platform.settings.webhook_per_endpoint
            while len(slow.requests) < limit and time.monotonic() - started < 2.5:
                time.sleep(0.02)
            time.sleep(0.3)
            assert len(slow.requests) == limit
        finally:
            sender.stop(timeout=1)
    finally:
        slow.close()
        fast.close()


def test_the_address_checked_is_the_address_connected_to_and_the_name_is_kept(
    receiver: Receiver,
) -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    transport = PinnedTransport(hooks.parse_networks(LOOPBACK), resolver)
    with httpx.Client(transport=transport) as client:
        answer = client.post(receiver.url("/ok", host="hooks.example.test"), content=b"{}")
    assert answer.status_code == 200
    assert lookups == ["hooks.example.test"]  # resolved once
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.test:{receiver.port}"


@pytest.mark.parametrize("answers", [["10.0.0.7"], ["93.184.216.34", "127.0.0.1"], ["fe80::1"]])
def test_a_name_with_any_private_address_is_refused(answers: list[str]) -> None:
    transport = PinnedTransport((), lambda host, port: answers)
    with httpx.Client(transport=transport) as client, pytest.raises(Refused):
        client.post("http://hooks.example.test/", content=b"{}")


def test_workers_claim_disjoint_webhooks_without_waiting(
    pg_db: Database, clock: FixedClock, receiver: Receiver
) -> None:
    platform = make_platform(pg_db, clock=clock, webhook_allow_networks=LOOPBACK)
    add_customer(platform, balance=100)
    for numbers in (NUMBERS[:3], ["905321111201", "905321111202", "905321111203"]):
        deliver(platform, clock, receiver.url("/ok"), numbers)  # two webhooks each
    now = clock.now()
    with platform.uow.write() as first:
        mine = first.webhooks.claim("a", now, now, 2)
        # While the first claim's transaction holds its rows, another worker skips them.
        other: list[hooks.Claimed] = []
        worker = threading.Thread(target=lambda: other.extend(webhooks_claim(platform, "b")))
        worker.start()
        worker.join(5)
        assert not worker.is_alive(), "the second worker waited for the first one's rows"
    assert len(mine) == 2 and len(other) == 2
    assert not {c.id for c in mine} & {c.id for c in other}


def webhooks_claim(platform: SqlPlatform, owner: str) -> list[hooks.Claimed]:
    now = platform.clock.now()
    with platform.uow.write() as tx:
        return tx.webhooks.claim(owner, now, now, 10)


def test_the_cli_shows_and_rotates_a_secret_and_lists_webhooks(
    sqlite_db: Database, clock: FixedClock, receiver: Receiver
) -> None:
    platform = make_platform(sqlite_db, clock=clock, webhook_allow_networks=LOOPBACK)
    add_customer(platform, balance=100)
    deliver(platform, clock, receiver.url("/fail"), NUMBERS[:1])
    sender = WebhookSender(platform, jitter=lambda: 0.0)
    sender.drain()
    sender.stop()
    database = ["--database", platform.settings.database_url, "--json"]
    runner = CliRunner()
    shown = runner.invoke(cli, ["webhook", "secret", "acme", *database])
    assert shown.exit_code == 0, shown.output
    secret = json.loads(shown.output)["secret"]
    assert secret == webhooks.secret(platform, "acme")
    rotated = runner.invoke(cli, ["webhook", "secret", "acme", "--rotate", *database])
    assert json.loads(rotated.output)["secret"] not in (secret, None)
    listed = runner.invoke(cli, ["webhook", "list", "--state", "pending", *database])
    (row,) = json.loads(listed.output)
    assert (row["state"], row["attempts"], row["lastError"]) == ("pending", 1, "HTTP 500")
    missing = runner.invoke(cli, ["webhook", "secret", "nobody", *database])
    assert missing.exit_code == 1


def test_finished_webhooks_are_deleted_after_the_keep_days_and_pending_ones_kept(
    platform: SqlPlatform, clock: FixedClock, receiver: Receiver
) -> None:
    # Kept FINSMS_WEBHOOK_KEEP_DAYS (14) from their creation.
    deliver(platform, clock, receiver.url("/ok"), NUMBERS[:1])
    deliver(platform, clock, receiver.url("/fail"), NUMBERS[1:2])
    drain_once(platform)
    clock.advance(hours=25)  # past the retries: the failing endpoint's webhook fails
    drain_once(platform)
    deliver(platform, clock, receiver.url("/ok"), NUMBERS[2:3])  # never sent: pending
    assert sorted(r.state for r in outbox(platform)) == [hooks.FAILED, 0, hooks.DELIVERED]
    finished = sorted(r.created_at for r in outbox(platform, hooks.DELIVERED, hooks.FAILED))
    clock.current = finished[0] + timedelta(days=14)  # the older one's last moment
    assert webhooks.forget_finished(platform) == 0
    clock.current = finished[-1] + timedelta(days=14, microseconds=1)
    assert webhooks.forget_finished(platform) == 2
    clock.advance(days=30)
    assert webhooks.forget_finished(platform) == 0
    assert [r.state for r in outbox(platform)] == [0]


def test_finished_webhooks_are_deleted_a_chunk_per_transaction(
    platform: SqlPlatform, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "FORGET_CHUNK", 2)
    now = clock.now()
    reports = [
        hooks.NewReport(1, 1, f"http://127.0.0.1:9/{n}", "127.0.0.1:9", "{}") for n in range(5)
    ]
    with platform.uow.write() as tx:
        tx.webhooks.enqueue(reports, now)
        for row in tx.webhooks.claim("w", now, now, 10):
            tx.webhooks.finish(
                "w", row.id, state=hooks.DELIVERED, tried=1, next_at=now, error=None, sent_at=now
            )
    clock.advance(days=15)
    assert webhooks.forget_finished(platform) == 5
    assert outbox(platform) == []
