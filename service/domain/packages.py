"""Rules of SMS packages and their items: states, validity, customID, schedules, credit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.domain.constants import (
    CUSTOM_ID_MAX,
    NORMAL_VALIDITY,
    OTP_VALIDITY,
    REPORT_GRACE_MINUTES,
    SPLIT_AMOUNT_STEP,
    TITLE_MAX,
    ItemState,
    PackageState,
    PeriodType,
    ReportFilter,
    SmsType,
)
from service.domain.errors import DomainError, Err, invalid

# How far ahead a package may be scheduled (and a split sending may reach): a year.
SCHEDULE_HORIZON = timedelta(days=366)
MAX_SPLIT_INTERVAL = int(SCHEDULE_HORIZON.total_seconds() // 60)  # minutes
# Lanes of the dispatcher's queue: OTPs travel in their own, never behind bulk packages.
OTP_LANE, BULK_LANE = 0, 1
_CUSTOM_ID = re.compile(rf"[A-Za-z0-9.\-]{{1,{CUSTOM_ID_MAX}}}")

# Item states after which nothing more happens to the item.
FINAL_ITEM_STATES = frozenset(
    {
        ItemState.CANCELLED,
        ItemState.REJECTED,
        ItemState.DELIVERED,
        ItemState.UNDELIVERED,
        ItemState.TIMED_OUT,
    }
)
# Final item states whose credit goes back to the customer.
REFUNDED_ITEM_STATES = frozenset(
    {ItemState.CANCELLED, ItemState.REJECTED, ItemState.UNDELIVERED, ItemState.TIMED_OUT}
)
# Items the dispatcher may still claim, and items handed over and awaiting an outcome
# (the schema's partial indexes are derived from these).
CLAIMABLE_ITEM_STATES = frozenset({ItemState.WAITING})
IN_FLIGHT_ITEM_STATES = frozenset({ItemState.SENDING, ItemState.SENT})
# Final item states counted as "undelivered" in reports.
UNDELIVERED_ITEM_STATES = frozenset(
    {ItemState.UNDELIVERED, ItemState.TIMED_OUT, ItemState.REJECTED}
)
# Legal item transitions: the dispatcher, the carrier's reports and cancel follow these.
ITEM_TRANSITIONS: Mapping[ItemState, frozenset[ItemState]] = {
    ItemState.WAITING: frozenset({ItemState.SENDING, ItemState.CANCELLED}),
    # Back to waiting: the carrier asked to retry later (throttled), nothing was sent.
    ItemState.SENDING: frozenset(
        {ItemState.SENT, ItemState.REJECTED, ItemState.TIMED_OUT, ItemState.WAITING}
    ),
    # Rejected: the operator refused it after accepting the submission (a REJECTD receipt).
    ItemState.SENT: frozenset(
        {ItemState.DELIVERED, ItemState.UNDELIVERED, ItemState.REJECTED, ItemState.TIMED_OUT}
    ),
}
# How long an item the carrier asked to retry waits before it is due again.
RETRY_DELAY = timedelta(seconds=5)
# Package states a customer may still cancel from: nothing has been handed to a carrier.
CANCELLABLE_PACKAGE_STATES = frozenset({PackageState.WAITING, PackageState.QUEUEING})
# Package states from which /sms/recreate may copy a package: completed or wholly failed.
RECREATABLE_PACKAGE_STATES = frozenset(
    {PackageState.COMPLETED, PackageState.SENDING_FAILED, PackageState.REJECTED}
)
# /sms/list `status` filters as sets of package states (the "periodic" filter is separate).
REPORT_FILTER_STATES: Mapping[ReportFilter, frozenset[PackageState]] = {
    ReportFilter.IN_QUEUE: frozenset({PackageState.SAVING, PackageState.QUEUEING}),
    ReportFilter.IN_PROGRESS: frozenset(
        {PackageState.SENDING, PackageState.SENT, PackageState.PARTLY_REPORTED}
    ),
    ReportFilter.SCHEDULED: frozenset({PackageState.WAITING}),
    ReportFilter.COMPLETED: frozenset({PackageState.COMPLETED}),
    ReportFilter.CANCELLED: frozenset({PackageState.CANCELLED}),
    ReportFilter.FAILED: frozenset(
        {PackageState.SENDING_FAILED, PackageState.CREATION_FAILED, PackageState.REJECTED}
    ),
}


def can_move(src: ItemState, dst: ItemState) -> bool:
    """Whether an item may go from `src` to `dst`."""
    return dst in ITEM_TRANSITIONS.get(src, frozenset())


def sources(*targets: ItemState) -> list[int]:
    """The item states from which every one of `targets` may be reached: the states a
    write moving items to them must find (what the SQL fences test)."""
    found = [src for src in ITEM_TRANSITIONS if all(can_move(src, t) for t in targets)]
    return [int(s) for s in found]


def package_state(counts: Mapping[int, int], scheduled_future: bool) -> PackageState:
    """The package state implied by how many of its items are in each item state."""
    total = sum(counts.values())
    if total == 0:
        return PackageState.CREATION_FAILED
    n = {state: counts.get(int(state), 0) for state in ItemState}
    if n[ItemState.CANCELLED] == total:
        return PackageState.CANCELLED
    if n[ItemState.WAITING] == total:
        return PackageState.WAITING if scheduled_future else PackageState.QUEUEING
    if n[ItemState.WAITING] or n[ItemState.SENDING]:
        return PackageState.SENDING
    if n[ItemState.REJECTED] == total:
        return PackageState.REJECTED
    reported = n[ItemState.DELIVERED] + n[ItemState.UNDELIVERED] + n[ItemState.TIMED_OUT]
    if n[ItemState.SENT] == 0:
        return PackageState.COMPLETED if reported else PackageState.SENDING_FAILED
    return PackageState.PARTLY_REPORTED if reported else PackageState.SENT


def validity_minutes(sms_type: SmsType, value: int | None, otp: bool) -> int:
    """The validity in minutes, defaulted and checked against the type's range."""
    low, high, default = OTP_VALIDITY if otp or sms_type == SmsType.OTP else NORMAL_VALIDITY
    if value is None:
        return default
    if not low <= value <= high:
        raise invalid("validity", f"{low} ile {high} dakika arasında olmalı")
    return value


def check_custom_id(value: str | None) -> str | None:
    """The customID when it follows the rules: up to 100 of letters, digits, '-' and '.'."""
    if value is None:
        return None
    if not _CUSTOM_ID.fullmatch(value):
        raise invalid("customID", "en fazla 100 karakter; harf, rakam, '-' ve '.' olabilir")
    return value


def check_title(value: str | None, default: str | None = None) -> str | None:
    """The package title, defaulted when absent and at most 50 characters."""
    if value is None:
        return default
    if len(value) > TITLE_MAX:
        raise invalid("title", f"en fazla {TITLE_MAX} karakter olabilir")
    return value


def check_sending_date(when: datetime | None, now: datetime) -> datetime | None:
    """A schedule (UTC) that is not in the past; the current minute is still accepted."""
    if when is None:
        return None
    if when < now.replace(second=0, microsecond=0):
        raise DomainError(Err.ERR_INVALID_SMS_SENDING_DATE, field="sendingDate")
    if when > now + SCHEDULE_HORIZON:
        raise DomainError(
            Err.ERR_INVALID_SMS_SENDING_DATE, "En fazla bir yıl sonrası.", field="sendingDate"
        )
    return when


@dataclass(frozen=True)
class Periodic:
    """periodicSettings: a split (type 0 with amount/interval) or a repeat (types 1-4)."""

    period_type: PeriodType
    interval: int | None = None  # minutes between chunks of a split sending
    amount: int | None = None  # messages per chunk of a split sending

    @property
    def is_split(self) -> bool:
        """Whether this splits one package into timed chunks."""
        return self.period_type == PeriodType.ONE_TIME and self.amount is not None

    def as_dict(self) -> dict[str, int | None]:
        """The settings as the API shows them."""
        return {
            "periodType": int(self.period_type),
            "interval": self.interval,
            "amount": self.amount,
        }


def check_periodic(
    period_type: int | None, interval: int | None, amount: int | None
) -> Periodic | None:
    """periodicSettings checked: type 0 needs interval >= 1 and amount a multiple of 1000."""
    if period_type is None:
        if interval is None and amount is None:
            return None
        raise invalid("periodicSettings.periodType", "zorunlu")
    try:
        ptype = PeriodType(period_type)
    except ValueError:
        raise invalid("periodicSettings.periodType", "0-4 arasında olmalı") from None
    if ptype != PeriodType.ONE_TIME:
        return Periodic(ptype)
    if interval is None and amount is None:
        return Periodic(ptype)
    if interval is None or not 1 <= interval <= MAX_SPLIT_INTERVAL:
        raise invalid("periodicSettings.interval", f"1 ile {MAX_SPLIT_INTERVAL} arasında olmalı")
    if amount is None or amount < SPLIT_AMOUNT_STEP or amount % SPLIT_AMOUNT_STEP:
        raise invalid("periodicSettings.amount", "1000 ve katları olmalı")
    return Periodic(ptype, interval, amount)


def check_split_span(
    start: datetime, recipients: int, periodic: Periodic | None, now: datetime
) -> None:
    """A split sending must finish within the year a schedule may reach."""
    if periodic is None or not periodic.is_split or recipients == 0:
        return
    if split_due(start, recipients - 1, periodic) > now + SCHEDULE_HORIZON:
        raise invalid("periodicSettings.interval", "son parça en fazla bir yıl sonra olmalı")


def split_due(start: datetime, index: int, periodic: Periodic | None) -> datetime:
    """When the index-th recipient of a package is due, honouring a split sending."""
    if periodic is None or not periodic.is_split:
        return start
    assert periodic.amount and periodic.interval
    return start + timedelta(minutes=(index // periodic.amount) * periodic.interval)


def expires_at(sent: datetime, validity: int) -> datetime:
    """When an item sent at `sent` with no report is settled as timed out."""
    return sent + timedelta(minutes=validity + REPORT_GRACE_MINUTES)


def stranded_expiry(claimed: datetime, validity: int) -> datetime:
    """When an item claimed at `claimed` and left "sending" (perhaps handed over, its answer
    never recorded: its worker died) times out unless a receipt settles it: never sent
    again, settled once its own validity and the hour of grace have passed."""
    return expires_at(claimed, validity)


def lane_of(sms_type: SmsType, otp: bool) -> int:
    """The queue lane of a package: OTPs have their own."""
    return OTP_LANE if otp or sms_type == SmsType.OTP else BULK_LANE


def fingerprint(
    sender: str, pairs: Iterable[tuple[str, str]], scheduled_for: datetime | None = None
) -> str:
    """A digest of sender, (number, text) pairs and, for a scheduled package, its minute:
    what "the same SMS" means. Order-free."""
    digest = hashlib.sha256(sender.encode())
    if scheduled_for is not None:
        digest.update(scheduled_for.strftime("@%Y-%m-%d %H:%M").encode())
    for number, text in sorted(pairs):
        digest.update(b"\x00" + number.encode() + b"\x01" + text.encode())
    return digest.hexdigest()
