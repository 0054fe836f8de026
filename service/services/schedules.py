"""Periodic sending: the runs of repeating packages (periodType 1-4), created on time.

The dispatcher's housekeeping (once a minute, on every worker) calls create_due_runs. A
run is a package of its own, written RUN_LEAD before it is due (so its items, due at the
run's time, go out on time) and charged then, under the pricing policy of the series'
source as it is at that moment. Several workers may run this at once: a run is created
by the worker whose conditional update moves the series to its next run, and the unique
(run_of, run_no) index refuses a second copy whatever happens.

A run that cannot be paid (or whose sender is no longer approved, or whose user is
inactive) is still written, as a package that failed to be created (state -2) with the
error's name (ERR_USER_CREDIT_REQUIRED...), no items and nothing charged; the series goes
on, and the next run is tried at its own time. So the customer sees in /sms/list which
run was missed and why, and a top-up is enough for the next run to go out.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from service.domain import schedules
from service.domain.constants import PackageState
from service.domain.errors import DomainError, Err
from service.domain.ids import uuid7
from service.domain.pricing import policy_for
from service.domain.records import NewPackage, Package, User
from service.services import sms
from service.services.platform import Platform
from service.services.ports import Tx
from service.services.senders import require_approved

log = logging.getLogger("finsms.schedules")
# Series looked at per read; the sweep repeats while it finds a full chunk.
SWEEP_CHUNK = 200
_NEW_PACKAGE_FIELDS = tuple(f.name for f in dataclasses.fields(NewPackage))


def create_due_runs(platform: Platform) -> int:
    """Create every run due within RUN_LEAD (skipping runs missed by more than
    MISSED_GRACE); how many were written."""
    now = platform.clock.now()
    created = 0
    while True:
        with platform.uow.read() as tx:
            due = tx.packages.series_due(now + schedules.RUN_LEAD, SWEEP_CHUNK)
        for series in due:
            created += _next_run(platform, series, now)
        if len(due) < SWEEP_CHUNK:
            return created


def _next_run(platform: Platform, series: Package, now: datetime) -> int:
    """Create the series' next run unless another worker did; 1 when this one did."""
    assert series.periodic is not None and series.next_run_at is not None
    local, period = platform.local, series.periodic.period_type
    anchor = local.to_local(series.sending_date)
    number, due_local = schedules.next_due(
        anchor, period, series.next_run_no or 1, local.to_local(now)
    )
    if number != series.next_run_no:
        log.warning("series %d: runs before %d were missed and are skipped", series.id, number)
    due = local.to_utc(due_local)
    following = local.to_utc(schedules.occurrence(anchor, period, number + 1))
    with platform.uow.write() as tx:
        # The balance first: every settler locks balances before packages.
        tx.users.lock([series.user_id])
        if not tx.packages.advance_series(series.id, series.next_run_at, following, number + 1):
            return 0  # another worker created it, or the series was cancelled
        _write_run(platform, tx, series, number, due, now)
    return 1


def _write_run(
    platform: Platform, tx: Tx, series: Package, number: int, due: datetime, now: datetime
) -> int:
    """The run's package, items and debit; or, when it cannot be sent, a failed package
    that says why. Its id."""
    user = tx.users.by_id(series.user_id)
    recipients = tx.packages.recipients(series.id)
    req = dataclasses.replace(sms.copy_request(series, series.title, recipients), periodic=None)
    policy = policy_for(series.source)
    try:
        _check_sendable(platform, tx, user, series)
        assert user is not None
        if series.commercial:  # consents change between runs: each run asks again
            kept = sms.consented(tx, user.id, sms.Filtered(recipients, 0))
            recipients = kept.recipients
            req = dataclasses.replace(req, invalid_count=req.invalid_count + kept.skipped)
        priced = sms.price_recipients(req, recipients, policy, platform.settings.max_message_parts)
        draft = sms.draft_package(platform, user.principal, req, policy, due, now, priced, None)
        # Inside the try: a run whose every number opted out fails alone (an empty package),
        # and the credit check counts only what is sent.
        draft = sms.drop_blacklisted(tx, user.principal, draft)
        if draft.package.credit > (tx.ledger.balance(user.id) or 0):
            raise DomainError(Err.ERR_USER_CREDIT_REQUIRED)
    except DomainError as error:
        log.info("series %d: run %d not sent: %s", series.id, number, error.err.name)
        return _failed_run(tx, series, number, due, now, error.err.name)
    package = dataclasses.replace(
        draft.package, periodic=series.periodic, run_of=series.id, run_no=number
    )
    # No duplicate check (a repeat is meant); the blacklist was read above, in this tx.
    run = sms.Draft(package, draft.items, None, screened=draft.screened)
    return sms.write_package(platform, tx, user.principal, run, now)


def _check_sendable(platform: Platform, tx: Tx, user: User | None, series: Package) -> None:
    """Raise what stops a run before anything of it is written."""
    if user is None or not user.active:
        raise DomainError(Err.ERR_USER_NOT_AUTHORIZED)
    require_approved(platform, tx, user.id, series.sender)


def _failed_run(
    tx: Tx, series: Package, number: int, due: datetime, now: datetime, error: str
) -> int:
    """A run written as a package that failed to be created, with the error's name."""
    values = {name: getattr(series, name) for name in _NEW_PACKAGE_FIELDS}
    values.update(
        uuid=uuid7(),
        custom_id=None,
        state=int(PackageState.CREATION_FAILED),
        sending_date=due,
        is_scheduled=False,
        credit=0,
        recreated_from=None,
        created_at=now,
        updated_at=now,
        next_run_at=None,
        next_run_no=None,
        run_of=series.id,
        run_no=number,
    )
    package_id = tx.packages.add(NewPackage(**values))
    assert package_id is not None  # no customID: nothing to collide with
    tx.packages.set_state(package_id, PackageState.CREATION_FAILED, now, error=error)
    return package_id
