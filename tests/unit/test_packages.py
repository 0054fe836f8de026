"""Package rules: states from item counts, item transitions, validity, customID, schedules."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from service.domain import packages as rules
from service.domain.constants import (
    ItemState,
    PackageState,
    PeriodType,
    ReportFilter,
    SmsType,
)
from service.domain.errors import DomainError, Err
from service.domain.packages import (
    Periodic,
    can_move,
    check_custom_id,
    check_periodic,
    check_sending_date,
    check_title,
    expires_at,
    fingerprint,
    package_state,
    split_due,
    validity_minutes,
)

I = ItemState  # noqa: E741 - short alias keeps the count tables readable
P = PackageState


def _invalid_field(excinfo: pytest.ExceptionInfo[DomainError], field: str) -> None:
    assert excinfo.value.err is Err.ERR_INVALID_PARAM
    assert excinfo.value.field == field


# --- package state from item counts ---------------------------------------------------


def test_no_items_means_creation_failed() -> None:
    assert package_state({}, scheduled_future=False) is P.CREATION_FAILED


def test_zero_counts_mean_creation_failed() -> None:
    assert package_state({I.WAITING: 0, I.SENT: 0}, scheduled_future=True) is P.CREATION_FAILED


def test_all_waiting_and_scheduled_for_later_is_waiting() -> None:
    assert package_state({I.WAITING: 5}, scheduled_future=True) is P.WAITING


def test_all_waiting_and_due_now_is_queueing() -> None:
    assert package_state({I.WAITING: 5}, scheduled_future=False) is P.QUEUEING


@pytest.mark.parametrize(
    "counts",
    [
        {I.WAITING: 2, I.SENDING: 1},
        {I.SENDING: 3},
        {I.SENDING: 1, I.DELIVERED: 4},
        {I.WAITING: 1, I.SENT: 2},  # a split sending: later chunks still waiting
        {I.WAITING: 1, I.DELIVERED: 2, I.UNDELIVERED: 1},
        {I.SENDING: 1, I.REJECTED: 3},
    ],
)
def test_any_item_waiting_or_sending_beside_others_is_sending(counts: dict[int, int]) -> None:
    assert package_state(counts, scheduled_future=False) is P.SENDING
    assert package_state(counts, scheduled_future=True) is P.SENDING


def test_all_rejected_is_rejected() -> None:
    assert package_state({I.REJECTED: 4}, scheduled_future=False) is P.REJECTED


@pytest.mark.parametrize(
    "counts",
    [
        {I.DELIVERED: 3},
        {I.UNDELIVERED: 3},
        {I.DELIVERED: 2, I.UNDELIVERED: 1},
        {I.DELIVERED: 1, I.REJECTED: 1},
        {I.DELIVERED: 1, I.CANCELLED: 1},
        {I.DELIVERED: 1, I.TIMED_OUT: 1},
    ],
)
def test_every_item_final_with_some_reported_is_completed(counts: dict[int, int]) -> None:
    assert package_state(counts, scheduled_future=False) is P.COMPLETED


def test_all_timed_out_is_completed() -> None:
    assert package_state({I.TIMED_OUT: 3}, scheduled_future=False) is P.COMPLETED


def test_sent_with_no_report_is_sent() -> None:
    assert package_state({I.SENT: 3}, scheduled_future=False) is P.SENT
    assert int(P.SENT) == 4


def test_sent_beside_rejected_without_reports_is_sent() -> None:
    assert package_state({I.SENT: 2, I.REJECTED: 1}, scheduled_future=False) is P.SENT


@pytest.mark.parametrize(
    "counts",
    [{I.SENT: 2, I.DELIVERED: 1}, {I.SENT: 1, I.UNDELIVERED: 1}, {I.SENT: 1, I.TIMED_OUT: 1}],
)
def test_partly_reported_is_5(counts: dict[int, int]) -> None:
    state = package_state(counts, scheduled_future=False)
    assert state is P.PARTLY_REPORTED
    assert int(state) == 5


def test_all_cancelled_is_cancelled() -> None:
    state = package_state({I.CANCELLED: 7}, scheduled_future=True)
    assert state is P.CANCELLED
    assert int(state) == -4


def test_cancelled_and_rejected_without_any_report_is_sending_failed() -> None:
    assert (
        package_state({I.CANCELLED: 1, I.REJECTED: 2}, scheduled_future=False) is P.SENDING_FAILED
    )


def test_counts_keyed_by_plain_ints_work_like_item_states() -> None:
    assert package_state({3: 2, 4: 1}, scheduled_future=False) is P.COMPLETED
    assert package_state({0: 2}, scheduled_future=True) is P.WAITING
    assert package_state({2: 1, 3: 1}, scheduled_future=False) is P.PARTLY_REPORTED


# --- item transitions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (I.WAITING, I.SENDING),
        (I.WAITING, I.CANCELLED),
        (I.SENDING, I.SENT),
        (I.SENDING, I.REJECTED),
        (I.SENDING, I.TIMED_OUT),
        (I.SENDING, I.WAITING),  # the carrier asked to retry: nothing was sent
        (I.SENT, I.DELIVERED),
        (I.SENT, I.UNDELIVERED),
        (I.SENT, I.REJECTED),  # a REJECTED receipt
        (I.SENT, I.TIMED_OUT),
    ],
)
def test_legal_item_transitions(src: I, dst: I) -> None:
    assert can_move(src, dst) is True


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (I.WAITING, I.SENT),
        (I.WAITING, I.DELIVERED),
        (I.WAITING, I.WAITING),
        (I.SENDING, I.CANCELLED),
        (I.SENDING, I.DELIVERED),
        (I.SENT, I.SENDING),
        (I.SENT, I.CANCELLED),
        (I.DELIVERED, I.UNDELIVERED),
        (I.UNDELIVERED, I.DELIVERED),
        (I.TIMED_OUT, I.DELIVERED),
        (I.CANCELLED, I.WAITING),
        (I.REJECTED, I.SENT),
    ],
)
def test_illegal_item_transitions(src: I, dst: I) -> None:
    assert can_move(src, dst) is False


@pytest.mark.parametrize("src", sorted(rules.FINAL_ITEM_STATES))
def test_final_item_states_go_nowhere(src: ItemState) -> None:
    assert not any(can_move(src, dst) for dst in ItemState)


def test_final_item_states_are_exactly_those_without_transitions() -> None:
    final = set(rules.FINAL_ITEM_STATES)
    assert final == {I.CANCELLED, I.REJECTED, I.DELIVERED, I.UNDELIVERED, I.TIMED_OUT}
    assert set(ItemState) - final == set(rules.ITEM_TRANSITIONS)


def test_refunded_states_are_every_final_state_but_delivered() -> None:
    refunded = set(rules.REFUNDED_ITEM_STATES)
    assert refunded == {I.CANCELLED, I.REJECTED, I.UNDELIVERED, I.TIMED_OUT}
    assert refunded == rules.FINAL_ITEM_STATES - {I.DELIVERED}


# --- package state sets ---------------------------------------------------------------


def test_only_waiting_and_queueing_packages_can_be_cancelled() -> None:
    cancellable = set(rules.CANCELLABLE_PACKAGE_STATES)
    assert cancellable == {P.WAITING, P.QUEUEING}


@pytest.mark.parametrize("state", [P.COMPLETED, P.SENDING_FAILED, P.REJECTED])
def test_completed_and_failed_packages_can_be_recreated(state: P) -> None:
    assert state in rules.RECREATABLE_PACKAGE_STATES


@pytest.mark.parametrize(
    "state", [P.SAVING, P.WAITING, P.QUEUEING, P.SENDING, P.SENT, P.PARTLY_REPORTED]
)
def test_unfinished_packages_cannot_be_recreated(state: P) -> None:
    assert state not in rules.RECREATABLE_PACKAGE_STATES


def test_report_filters_split_every_package_state_exactly_once() -> None:
    sets = list(rules.REPORT_FILTER_STATES.values())
    assert sum(len(s) for s in sets) == len(PackageState)
    assert set().union(*sets) == set(PackageState)


def test_report_filter_contents() -> None:
    f = rules.REPORT_FILTER_STATES
    assert f[ReportFilter.IN_QUEUE] == {P.SAVING, P.QUEUEING}
    assert f[ReportFilter.IN_PROGRESS] == {P.SENDING, P.SENT, P.PARTLY_REPORTED}
    assert f[ReportFilter.SCHEDULED] == {P.WAITING}
    assert f[ReportFilter.COMPLETED] == {P.COMPLETED}
    assert f[ReportFilter.CANCELLED] == {P.CANCELLED}
    assert f[ReportFilter.FAILED] == {P.SENDING_FAILED, P.CREATION_FAILED, P.REJECTED}
    assert ReportFilter.ALL not in f
    assert ReportFilter.PERIODIC not in f


# --- validity -------------------------------------------------------------------------


def test_otp_validity_defaults_to_6() -> None:
    assert validity_minutes(SmsType.OTP, None, otp=True) == 6


def test_normal_validity_defaults_to_1440() -> None:
    assert validity_minutes(SmsType.NORMAL, None, otp=False) == 1440


@pytest.mark.parametrize("value", [3, 4, 5, 6])
def test_otp_validity_3_to_6_is_accepted(value: int) -> None:
    assert validity_minutes(SmsType.NORMAL, value, otp=True) == value


@pytest.mark.parametrize("value", [0, 2, 7, 60, 1440, -1])
def test_otp_validity_outside_3_to_6_is_invalid(value: int) -> None:
    with pytest.raises(DomainError) as excinfo:
        validity_minutes(SmsType.OTP, value, otp=True)
    _invalid_field(excinfo, "validity")


@pytest.mark.parametrize("value", [60, 61, 720, 1440])
def test_normal_validity_60_to_1440_is_accepted(value: int) -> None:
    assert validity_minutes(SmsType.NORMAL, value, otp=False) == value


@pytest.mark.parametrize("value", [0, 6, 59, 1441, 10000])
def test_normal_validity_outside_60_to_1440_is_invalid(value: int) -> None:
    with pytest.raises(DomainError) as excinfo:
        validity_minutes(SmsType.NORMAL, value, otp=False)
    _invalid_field(excinfo, "validity")


def test_otp_sms_type_on_create_uses_the_otp_range() -> None:
    assert validity_minutes(SmsType.OTP, None, otp=False) == 6
    assert validity_minutes(SmsType.OTP, 3, otp=False) == 3
    with pytest.raises(DomainError):
        validity_minutes(SmsType.OTP, 60, otp=False)


def test_tc_identity_type_uses_the_normal_range() -> None:
    assert validity_minutes(SmsType.TC_IDENTITY, None, otp=False) == 1440


# --- customID -------------------------------------------------------------------------


def test_custom_id_of_100_characters_is_accepted() -> None:
    value = "a" * 100
    assert check_custom_id(value) == value


def test_custom_id_of_101_characters_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_custom_id("a" * 101)
    _invalid_field(excinfo, "customID")


@pytest.mark.parametrize(
    "value", ["abc", "ABC-123.x", "0", "-", ".", "a.b-c.D9", "f47ac10b-58cc-4372-a567-0e02b2c3d479"]
)
def test_custom_id_letters_digits_dash_and_dot_are_accepted(value: str) -> None:
    assert check_custom_id(value) == value


@pytest.mark.parametrize(
    "value",
    ["has space", "under_score", "şifre", "Ğ1", "ıd", "İD", "a/b", "a+b", "a@b", "abc\n", "", "ü"],
)
def test_custom_id_with_other_characters_is_refused(value: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        check_custom_id(value)
    _invalid_field(excinfo, "customID")


def test_absent_custom_id_is_none() -> None:
    assert check_custom_id(None) is None


# --- title ----------------------------------------------------------------------------


def test_title_of_50_characters_is_accepted() -> None:
    assert check_title("t" * 50) == "t" * 50


def test_title_of_51_characters_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_title("t" * 51)
    _invalid_field(excinfo, "title")


def test_title_counts_characters_not_bytes() -> None:
    title = "ş" * 50
    assert check_title(title) == title


def test_absent_title_takes_the_default() -> None:
    assert check_title(None, "varsayılan") == "varsayılan"
    assert check_title(None) is None


# --- sending date ---------------------------------------------------------------------

NOW = datetime(2025, 6, 15, 10, 30, 45)


def test_no_sending_date_is_none() -> None:
    assert check_sending_date(None, NOW) is None


def test_sending_date_in_the_past_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_sending_date(datetime(2025, 6, 15, 10, 29), NOW)
    assert excinfo.value.err is Err.ERR_INVALID_SMS_SENDING_DATE
    assert excinfo.value.field == "sendingDate"
    assert excinfo.value.as_wire()["smsCode"] == "SMS08"


def test_sending_date_a_day_ago_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_sending_date(NOW - timedelta(days=1), NOW)
    assert excinfo.value.err is Err.ERR_INVALID_SMS_SENDING_DATE


def test_the_current_minute_is_accepted() -> None:
    when = datetime(2025, 6, 15, 10, 30)
    assert check_sending_date(when, NOW) == when


def test_a_future_date_is_returned_unchanged() -> None:
    when = datetime(2025, 6, 15, 11, 0)
    assert check_sending_date(when, NOW) == when


def test_a_date_within_a_year_is_accepted() -> None:
    when = NOW + timedelta(days=365)
    assert check_sending_date(when, NOW) == when


def test_a_date_more_than_a_year_ahead_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_sending_date(NOW + timedelta(days=367), NOW)
    assert excinfo.value.err is Err.ERR_INVALID_SMS_SENDING_DATE
    assert excinfo.value.field == "sendingDate"


# --- periodic settings ----------------------------------------------------------------


def test_no_periodic_settings_is_none() -> None:
    assert check_periodic(None, None, None) is None


def test_split_needs_interval_and_amount() -> None:
    periodic = check_periodic(0, 30, 1000)
    assert periodic == Periodic(PeriodType.ONE_TIME, 30, 1000)
    assert periodic.is_split is True
    assert periodic.as_dict() == {"periodType": 0, "interval": 30, "amount": 1000}


@pytest.mark.parametrize("amount", [1000, 2000, 15000])
def test_split_amount_multiple_of_1000_is_accepted(amount: int) -> None:
    periodic = check_periodic(0, 1, amount)
    assert periodic is not None and periodic.amount == amount


@pytest.mark.parametrize("amount", [0, 999, 1500, 2001, -1000])
def test_split_amount_not_a_multiple_of_1000_from_1000_is_refused(amount: int) -> None:
    with pytest.raises(DomainError) as excinfo:
        check_periodic(0, 10, amount)
    _invalid_field(excinfo, "periodicSettings.amount")


def test_split_amount_missing_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_periodic(0, 10, None)
    _invalid_field(excinfo, "periodicSettings.amount")


@pytest.mark.parametrize("interval", [0, -5, None])
def test_split_interval_below_1_or_missing_is_refused(interval: int | None) -> None:
    with pytest.raises(DomainError) as excinfo:
        check_periodic(0, interval, 1000)
    _invalid_field(excinfo, "periodicSettings.interval")


def test_period_type_0_without_interval_or_amount_is_a_plain_one_time_sending() -> None:
    # Current reading: {periodType: 0} alone means "one-time", nothing to split.
    periodic = check_periodic(0, None, None)
    assert periodic == Periodic(PeriodType.ONE_TIME)
    assert periodic.is_split is False


@pytest.mark.parametrize("ptype", [1, 2, 3, 4])
def test_repeating_types_are_accepted_alone(ptype: int) -> None:
    periodic = check_periodic(ptype, None, None)
    assert periodic == Periodic(PeriodType(ptype))
    assert periodic.is_split is False


def test_repeating_type_ignores_interval_and_amount() -> None:
    assert check_periodic(2, 5, 1234) == Periodic(PeriodType.WEEKLY)


@pytest.mark.parametrize("ptype", [5, -1, 99])
def test_unknown_period_type_is_refused(ptype: int) -> None:
    with pytest.raises(DomainError) as excinfo:
        check_periodic(ptype, None, None)
    _invalid_field(excinfo, "periodicSettings.periodType")


def test_interval_or_amount_without_period_type_is_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        check_periodic(None, 10, 1000)
    _invalid_field(excinfo, "periodicSettings.periodType")


# --- split_due and expiry -------------------------------------------------------------

START = datetime(2025, 1, 1, 9, 0)


@pytest.mark.parametrize(
    ("index", "minutes"),
    [(0, 0), (999, 0), (1000, 30), (1999, 30), (2000, 60), (2500, 60), (10_000, 300)],
)
def test_split_due_moves_each_chunk_of_amount_by_interval(index: int, minutes: int) -> None:
    periodic = Periodic(PeriodType.ONE_TIME, interval=30, amount=1000)
    assert split_due(START, index, periodic) == START + timedelta(minutes=minutes)


def test_split_due_with_2000_per_chunk_every_15_minutes() -> None:
    periodic = Periodic(PeriodType.ONE_TIME, interval=15, amount=2000)
    assert split_due(START, 3999, periodic) == START + timedelta(minutes=15)
    assert split_due(START, 4000, periodic) == START + timedelta(minutes=30)


@pytest.mark.parametrize(
    "periodic", [None, Periodic(PeriodType.ONE_TIME), Periodic(PeriodType.DAILY)]
)
def test_without_a_split_every_item_is_due_at_the_start(periodic: Periodic | None) -> None:
    assert split_due(START, 5000, periodic) == START


def test_expiry_is_validity_plus_60_minutes_after_sending() -> None:
    assert expires_at(START, 1440) == START + timedelta(minutes=1500)
    assert expires_at(START, 6) == START + timedelta(minutes=66)


# --- fingerprint ----------------------------------------------------------------------

PAIRS = [("905551234567", "Merhaba"), ("905551234568", "Merhaba"), ("905321234567", "Selam")]


def test_fingerprint_ignores_the_order_of_recipients() -> None:
    assert fingerprint("BASLIK", PAIRS) == fingerprint("BASLIK", list(reversed(PAIRS)))


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = fingerprint("BASLIK", PAIRS)
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_fingerprint_changes_with_the_sender() -> None:
    assert fingerprint("BASLIK", PAIRS) != fingerprint("BASLIK2", PAIRS)


def test_fingerprint_changes_with_the_text() -> None:
    other = [*PAIRS[:2], ("905321234567", "Selam!")]
    assert fingerprint("BASLIK", PAIRS) != fingerprint("BASLIK", other)


def test_fingerprint_changes_with_the_numbers() -> None:
    other = [*PAIRS[:2], ("905321234568", "Selam")]
    assert fingerprint("BASLIK", PAIRS) != fingerprint("BASLIK", other)


def test_fingerprint_ties_each_text_to_its_number() -> None:
    swapped = [("905551234567", "B"), ("905551234568", "A")]
    assert fingerprint("S", [("905551234567", "A"), ("905551234568", "B")]) != fingerprint(
        "S", swapped
    )


def test_fingerprint_changes_when_a_recipient_is_added() -> None:
    assert fingerprint("S", PAIRS) != fingerprint("S", [*PAIRS, ("905001234567", "x")])


def test_sources_are_the_states_a_write_must_find() -> None:
    from service.domain.packages import sources

    assert sources(ItemState.SENDING) == [ItemState.WAITING]
    assert sources(ItemState.SENT, ItemState.REJECTED) == [ItemState.SENDING]
    assert sources(ItemState.DELIVERED, ItemState.UNDELIVERED) == [ItemState.SENT]
    assert sources(ItemState.CANCELLED) == [ItemState.WAITING]
    assert sources(ItemState.TIMED_OUT) == [ItemState.SENDING, ItemState.SENT]
    assert sources(ItemState.WAITING) == [ItemState.SENDING]  # a retry
    assert sources(ItemState.DELIVERED, ItemState.REJECTED) == [ItemState.SENT]
