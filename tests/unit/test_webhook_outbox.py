"""The webhook outbox against the in-memory unit of work, on a clock the test moves:
what settlement writes, and the retry schedule of the sender's outcomes."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from service.domain import webhooks as hooks
from service.domain.carrier import DeliveryReceipt, SubmitResult
from service.domain.constants import ItemState
from service.domain.errors import DomainError, Err
from service.domain.principal import Principal
from service.domain.queries import PackageRef
from service.services import delivery, sms, webhooks
from service.services.webhooks import Outcome
from tests.unit.memory_platform import MemoryPlatform

URL = "https://hooks.example.com/report"
NUMBERS = ["905320000001", "905320000002", "905320000003", "905320000004"]


@pytest.fixture
def platform() -> MemoryPlatform:
    return MemoryPlatform()


def pushed_package(platform: MemoryPlatform, targets: list[str], url: str | None = URL) -> int:
    user = platform.add_user(100)
    package_id = platform.add_package(user, targets)
    pkg = platform.db.packages[package_id]
    platform.db.packages[package_id] = dataclasses.replace(pkg, push_url=url)
    return package_id


def settle_all(platform: MemoryPlatform, *, expire: bool = True) -> None:
    """Claim and send everything: numbers ending 03 are rejected, 02 undelivered, 04 get
    no report, the rest are delivered; then (if `expire`) time the silent ones out."""
    rejected, undelivered = "03", "02"
    claimed = delivery.claim(platform, "w", 1, 100)
    delivery.record_submissions(
        platform,
        "w",
        [
            SubmitResult(
                c.item_id, c.target[-2:] != rejected, carrier_ref=f"r{c.item_id}", link="sim"
            )
            for c in claimed
        ],
    )
    now = platform.clock.now()
    delivery.record_receipts(
        platform,
        "sim",
        [
            DeliveryReceipt(
                f"r{c.item_id}",
                ItemState.UNDELIVERED if c.target[-2:] == undelivered else ItemState.DELIVERED,
                now,
            )
            for c in claimed
            if c.target[-2:] not in (rejected, "04")
        ],
    )
    delivery.apply_receipts(platform)
    if expire:
        platform.clock.advance(minutes=1440 + 61)
        delivery.expire(platform)


def documents(platform: MemoryPlatform) -> list[dict[str, Any]]:
    with platform.uow.read() as tx:
        rows = tx.webhooks.claimed(sorted(tx.webhooks.outbox))
    return [json.loads(r.document) for r in rows]


def test_every_final_state_is_reported_once_per_settling_transaction(
    platform: MemoryPlatform,
) -> None:
    package_id = pushed_package(platform, NUMBERS)
    settle_all(platform)
    docs = documents(platform)
    # record_submissions (the rejected one), apply_receipts (two), expire (the silent one)
    assert [[i["target"][-2:] for i in d["items"]] for d in docs] == [["03"], ["01", "02"], ["04"]]
    states = {i["target"][-2:]: i["state"] for d in docs for i in d["items"]}
    assert states == {"01": 3, "02": 4, "03": -1, "04": 5}
    assert all(d["pkgID"] == package_id for d in docs)
    assert docs[-1]["pkg"]["state"] == 6  # completed, after the refresh
    assert docs[-1]["pkg"]["statistics"]["delivered"] == 1
    assert docs[-1]["pkg"]["statistics"]["undelivered"] == 3
    # Settling the package again reports nothing more.
    with platform.uow.write() as tx:
        assert webhooks.record_settled(tx, [package_id], platform.clock.now()) == 0


def test_packages_without_a_push_url_write_nothing(platform: MemoryPlatform) -> None:
    pushed_package(platform, NUMBERS, url=None)
    settle_all(platform)
    assert documents(platform) == []


def test_cancelled_items_are_reported(platform: MemoryPlatform) -> None:
    package_id = pushed_package(platform, NUMBERS[:2])
    user = platform.db.users[platform.db.packages[package_id].user_id]
    principal = Principal(user.id, user.uuid, user.username, user.user_type, False, True)
    sms.cancel(platform.as_platform, principal, PackageRef("id", package_id))
    (doc,) = documents(platform)
    assert [i["state"] for i in doc["items"]] == [-2, -2]
    assert doc["pkg"]["state"] == -4


def claim_one(platform: MemoryPlatform) -> hooks.Delivery:
    (claimed,) = webhooks.claim(platform, "sender", 10)
    return claimed


def fail(platform: MemoryPlatform, claimed: hooks.Delivery, jitter: float = 0.0) -> Any:
    outcome = Outcome(claimed.id, False, "HTTP 500")
    later = webhooks.finish(platform, "sender", [outcome], lambda: jitter)
    return later[claimed.id]


def test_failures_are_retried_on_an_exponential_schedule_then_marked_failed(
    platform: MemoryPlatform,
) -> None:
    pushed_package(platform, NUMBERS[:1])
    settle_all(platform, expire=False)
    created = platform.clock.now()
    delays = []
    while True:
        claimed = claim_one(platform)
        retry = fail(platform, claimed)
        if retry is None:
            break
        delays.append((retry - platform.clock.now()).total_seconds())
        assert webhooks.claim(platform, "sender", 10) == []  # not due before its time
        platform.clock.current = retry
    assert delays[:5] == [2.5, 5, 10, 20, 40]
    assert max(delays) == hooks.MAX_DELAY.total_seconds() / 2  # jitter 0: half the cap
    assert platform.clock.now() == created + timedelta(hours=24)
    with platform.uow.read() as tx:
        (row,) = tx.webhooks.listing([hooks.FAILED], None, 10)
    assert row.attempts == len(delays) + 1 and row.last_error == "HTTP 500"


def test_jitter_spreads_the_delay_between_half_and_all_of_it(platform: MemoryPlatform) -> None:
    pushed_package(platform, NUMBERS[:1])
    settle_all(platform, expire=False)
    now = platform.clock.now()
    for _ in range(3):  # three failures: the fourth delay is 20-40 s
        retry = fail(platform, claim_one(platform), jitter=0.0)
        platform.clock.current = now = retry
    retry = fail(platform, claim_one(platform), jitter=0.75)
    assert retry - now == timedelta(seconds=40 * (0.5 + 0.75 / 2))


def test_a_delivered_webhook_is_done_and_a_lost_worker_s_claim_comes_back(
    platform: MemoryPlatform,
) -> None:
    pushed_package(platform, NUMBERS[:1])
    settle_all(platform, expire=False)
    first = claim_one(platform)
    assert first.msg_id == f"msg_finsms_{first.id}"
    assert first.secret.startswith("whsec_")
    # The worker dies: the row is due again after the lease, for another worker.
    platform.clock.advance(seconds=platform.settings.webhook_lease_seconds)
    again = claim_one(platform)
    assert (again.id, again.body, again.secret) == (first.id, first.body, first.secret)
    # The first worker's late outcome is fenced out; the second's counts.
    assert webhooks.finish(platform, "other", [Outcome(first.id, True)], lambda: 0.0)
    with platform.uow.read() as tx:
        assert tx.webhooks.listing([hooks.DELIVERED], None, 10) == []
    webhooks.finish(platform, "sender", [Outcome(again.id, True)], lambda: 0.0)
    with platform.uow.read() as tx:
        (row,) = tx.webhooks.listing([hooks.DELIVERED], None, 10)
    assert row.sent_at == platform.clock.now() and row.attempts == 1


def test_a_failing_endpoint_s_backlog_waits_and_other_endpoints_go_on(
    platform: MemoryPlatform,
) -> None:
    # The dead endpoint gets two webhooks (a rejection, then a report), the live one one.
    pushed_package(platform, ["905320000001", "905320000003"], url="https://dead.test/")
    pushed_package(platform, ["905320000006"], url="https://live.test/")
    settle_all(platform, expire=False)
    (oldest,) = webhooks.claim(platform, "sender", 1)
    assert oldest.endpoint == "dead.test:443"
    retry = fail(platform, oldest)
    # Its other webhook waits with it; the other customer's is claimed at once.
    (live,) = webhooks.claim(platform, "sender", 10)
    assert live.endpoint == "live.test:443"
    platform.clock.current = retry
    assert {d.endpoint for d in webhooks.claim(platform, "sender", 10)} == {"dead.test:443"}


def test_a_busy_endpoint_s_webhook_is_given_back_unattempted(platform: MemoryPlatform) -> None:
    pushed_package(platform, NUMBERS[:1])
    settle_all(platform, expire=False)
    claimed = claim_one(platform)
    webhooks.release(platform, "sender", [claimed.id], 1.0)
    assert webhooks.claim(platform, "sender", 10) == []
    platform.clock.advance(seconds=1)
    assert claim_one(platform).id == claimed.id
    with platform.uow.read() as tx:
        (row,) = tx.webhooks.listing([hooks.PENDING], None, 10)
    assert row.attempts == 0


def test_secrets_are_made_once_and_rotated_on_demand(platform: MemoryPlatform) -> None:
    user = platform.add_user()
    name = platform.db.users[user].username
    first = webhooks.secret(platform, name)
    assert webhooks.secret(platform, name) == first
    rotated = webhooks.secret(platform, name, rotate=True)
    assert rotated != first and rotated.startswith("whsec_")
    assert len(hooks.new_secret(bytes(32))) == len(rotated)


def test_unknown_users_have_no_secret(platform: MemoryPlatform) -> None:
    with pytest.raises(DomainError) as excinfo:
        webhooks.secret(platform, "nobody")
    assert excinfo.value.err is Err.ERR_USER_NOT_FOUND


def test_finished_webhooks_are_forgotten_after_the_keep_days_pending_ones_never(
    platform: MemoryPlatform,
) -> None:
    pushed_package(platform, NUMBERS[:1])
    pushed_package(platform, NUMBERS[1:2])
    settle_all(platform, expire=False)  # a webhook per package
    now = platform.clock.now()
    with platform.uow.write() as tx:
        first, second = tx.webhooks.claim("s", now, now, 10)
        tx.webhooks.finish(
            "s", first.id, state=hooks.DELIVERED, tried=1, next_at=now, error=None, sent_at=now
        )  # the second stays pending
    platform.clock.advance(days=14)
    assert webhooks.forget_finished(platform) == 0  # created exactly 14 days ago: kept
    platform.clock.advance(seconds=1)
    assert webhooks.forget_finished(platform) == 1
    with platform.uow.read() as tx:
        assert [r.id for r in tx.webhooks.listing([0, 1, -1], None, 10)] == [second.id]
