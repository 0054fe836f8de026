"""Delivery-report webhooks: writing them to the outbox as items settle, handing due ones
to the sender, recording each attempt, and the users' signing secrets.

`record_settled` runs inside the transaction that settles items (delivery.settle, and
cancel): what it writes commits with the items' states or not at all. The sender
(service.delivery.webhooks) claims, sends and reports back through the rest.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from service.config import Settings
from service.domain import webhooks as hooks
from service.domain.errors import DomainError, Err
from service.domain.records import PackageStats
from service.domain.webhooks import Delivery, OutboxRow
from service.services.clock import Clock, LocalTime
from service.services.ports import Tx, UnitOfWork

# Finished webhooks deleted per transaction (SQLite's one writer is not held long).
FORGET_CHUNK = 1000


class Host(Protocol):
    """What these use cases need of the platform."""

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def uow(self) -> UnitOfWork: ...


@dataclass(frozen=True)
class Outcome:
    """What came of one attempt: delivered (a 2xx answer) or the error."""

    outbox_id: int
    delivered: bool
    error: str | None = None


def record_settled(tx: Tx, package_ids: Iterable[int], now: datetime) -> int:
    """Write to the outbox the items of these packages that reached a final state and
    were not reported yet, for packages with a push URL; how many webhooks.

    Call it in the transaction that settled them, after the packages' states are
    refreshed (the report carries the package's state). Packages without a push URL cost
    one indexed read.
    """
    pushable = tx.webhooks.pushable(sorted(set(package_ids)))
    if not pushable:
        return 0
    settled = tx.webhooks.settled_items(sorted(pushable))
    by_package: dict[int, list[hooks.SettledItem]] = {}
    for item in settled:
        by_package.setdefault(item.package_id, []).append(item)
    stats = tx.packages.stats(sorted(by_package))
    reports = []
    for package_id, package_items in sorted(by_package.items()):
        pkg = pushable[package_id]
        counts = stats.get(package_id, PackageStats())
        endpoint = _endpoint(pkg.url)
        for document in hooks.documents(pkg, counts.delivered, counts.undelivered, package_items):
            reports.append(hooks.NewReport(pkg.user_id, pkg.id, pkg.url, endpoint, document))
    tx.webhooks.enqueue(reports, now)
    return len(reports)


def _endpoint(url: str) -> str:
    # URLs are checked at creation; one stored before that check fails at sending.
    try:
        return hooks.target_of(url).endpoint
    except DomainError:
        return "-"


def any_due(platform: Host) -> bool:
    """Whether a webhook is due (a read)."""
    with platform.uow.read() as tx:
        return tx.webhooks.any_due(platform.clock.now())


def claim(platform: Host, owner: str, limit: int) -> list[Delivery]:
    """Take up to `limit` due webhooks for `owner`, rendered and ready to sign; users
    without a secret get one now."""
    now = platform.clock.now()
    if limit <= 0 or not any_due(platform):
        return []
    lease = now + timedelta(seconds=platform.settings.webhook_lease_seconds)
    with platform.uow.write() as tx:
        claimed = tx.webhooks.claim(owner, now, lease, limit)
        if not claimed:
            return []
        users = sorted({c.user_id for c in claimed})
        keys = tx.webhooks.secrets(users)
        for user_id in users:
            if user_id not in keys:
                keys[user_id] = tx.webhooks.set_secret(user_id, _new_secret(), now, replace=False)
    local = LocalTime(platform.settings.timezone)
    return [
        Delivery(
            c.id,
            c.url,
            c.endpoint,
            hooks.message_id(c.id),
            keys[c.user_id],
            hooks.render(c.document, local.format),
        )
        for c in claimed
    ]


def finish(
    platform: Host,
    owner: str,
    outcomes: Sequence[Outcome],
    jitter: Callable[[], float],
) -> dict[int, datetime | None]:
    """Record attempts: delivered rows are done; failed ones are due again after an
    exponential, jittered delay, or marked failed once the retry window has passed. Each
    failed row's endpoint waits as long (its other webhooks too). {row: next attempt}."""
    now = platform.clock.now()
    window = timedelta(hours=platform.settings.webhook_retry_hours)
    later: dict[int, datetime | None] = {}
    with platform.uow.write() as tx:
        rows = {r.id: r for r in tx.webhooks.claimed([o.outbox_id for o in outcomes])}
        for outcome in outcomes:
            row = rows.get(outcome.outbox_id)
            if row is None:
                continue
            if outcome.delivered:
                _done(tx, owner, row.id, now)
                later[row.id] = None
                continue
            retry = hooks.next_attempt(row.created_at, row.attempts + 1, now, jitter(), window)
            tx.webhooks.finish(
                owner,
                row.id,
                state=hooks.PENDING if retry else hooks.FAILED,
                tried=1,
                next_at=retry or now,
                error=outcome.error,
                sent_at=None,
            )
            if retry is not None:
                tx.webhooks.defer_endpoint(row.endpoint, retry)
            later[row.id] = retry
    return later


def _done(tx: Tx, owner: str, outbox_id: int, now: datetime) -> None:
    tx.webhooks.finish(
        owner, outbox_id, state=hooks.DELIVERED, tried=1, next_at=now, error=None, sent_at=now
    )


def release(platform: Host, owner: str, outbox_ids: Sequence[int], seconds: float) -> None:
    """Give back claimed webhooks unattempted (their endpoint is busy): due in `seconds`,
    with the endpoint's other webhooks."""
    now = platform.clock.now()
    until = now + timedelta(seconds=seconds)
    with platform.uow.write() as tx:
        for row in tx.webhooks.claimed(list(outbox_ids)):
            tx.webhooks.finish(
                owner, row.id, state=hooks.PENDING, tried=0, next_at=until, error=None, sent_at=None
            )
            tx.webhooks.defer_endpoint(row.endpoint, until)


def secret(platform: Host, username: str, *, rotate: bool = False) -> str:
    """A user's signing secret, made on first use; a new one if `rotate` (the old one
    stops verifying at once)."""
    now = platform.clock.now()
    with platform.uow.write() as tx:
        user = tx.users.by_name(username)
        if user is None:
            raise DomainError(Err.ERR_USER_NOT_FOUND)
        return tx.webhooks.set_secret(user.id, _new_secret(), now, replace=rotate)


def listing(
    platform: Host, states: Sequence[int], username: str | None, limit: int
) -> list[OutboxRow]:
    """The newest webhooks in these states, of one user if named."""
    with platform.uow.read() as tx:
        user_id = None
        if username is not None:
            user = tx.users.by_name(username)
            if user is None:
                raise DomainError(Err.ERR_USER_NOT_FOUND)
            user_id = user.id
        return tx.webhooks.listing(states, user_id, limit)


def forget_finished(platform: Host) -> int:
    """Delete delivered and failed webhooks older than FINSMS_WEBHOOK_KEEP_DAYS, a chunk
    per transaction; how many."""
    before = platform.clock.now() - timedelta(days=platform.settings.webhook_keep_days)
    forgotten = 0
    while True:
        with platform.uow.write() as tx:
            chunk = tx.webhooks.forget_finished(before, FORGET_CHUNK)
        forgotten += chunk
        if chunk < FORGET_CHUNK:
            return forgotten


def _new_secret() -> str:
    return hooks.new_secret(secrets.token_bytes(32))
