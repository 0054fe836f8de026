"""Contact imports without a database: the CSV dialect and its edge cases (quotes, CRLF,
a BOM, empty values, unknown columns, bad rows), the column mapping, and the import
service on the in-memory unit of work."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from service.config import Settings
from service.domain.constants import UserType
from service.domain.contacts import ContactFilter, ContactStatus, GroupInput
from service.domain.errors import DomainError
from service.domain.imports import (
    ImportOptions,
    ImportRow,
    ImportState,
    RowError,
    check_columns,
    is_header,
    parse_row,
    records,
)
from service.domain.principal import Principal
from service.domain.queries import PageRequest
from service.services import contacts, imports, users
from service.services.clock import FixedClock
from service.services.platform import Platform
from service.store.memory import MemoryUnitOfWork

COLUMNS = ("GSM", "FIRST_NAME", "GROUP_NAME", "city")


def _records(text: str) -> list[tuple[int, list[str] | RowError]]:
    return list(records(io.StringIO(text, newline="")))


def _rows(text: str, columns: tuple[str, ...] = COLUMNS) -> list[ImportRow | RowError]:
    return [parse_row(columns, line, values) for line, values in _records(text)]


# --- the dialect -------------------------------------------------------------------------
def test_the_specs_example_reads_with_its_header_and_spaces_after_commas() -> None:
    text = "'GSM', 'GROUP_NAME'\n'905991000000','A Grubu'\n'905991000002', 'A Grubu'"
    found = _records(text)
    assert found == [
        (1, ["GSM", "GROUP_NAME"]),
        (2, ["905991000000", "A Grubu"]),
        (3, ["905991000002", "A Grubu"]),
    ]
    assert is_header(("GSM", "GROUP_NAME"), found[0][1])
    assert not is_header(("GSM", "GROUP_NAME"), found[1][1])


def test_a_doubled_quote_is_a_quote_and_a_backslash_is_itself() -> None:
    [(_, values)] = _records("'905321234567','O''Brien','C:\\yol','a,b'\n")
    assert values == ["905321234567", "O'Brien", "C:\\yol", "a,b"]


def test_crlf_line_ends_a_bom_and_blank_lines() -> None:
    text = "\ufeff'GSM','FIRST_NAME'\r\n\r\n'905321234567','Ali'\r\n"
    assert _records(text) == [(1, ["GSM", "FIRST_NAME"]), (3, ["905321234567", "Ali"])]


def test_a_line_break_inside_quotes_stays_in_the_value() -> None:
    [(line, values)] = _records("'905321234567','iki\r\nsatır'\r\n")
    assert values == ["905321234567", "iki\r\nsatır"] and line == 2


# --- rows ----------------------------------------------------------------------------------
def test_a_row_maps_known_columns_and_makes_unknown_ones_details() -> None:
    columns = check_columns(["gsm", "first_name", "last_name", "birth_date", "gsm_2", "group_name",
                             "Sehir"])  # fmt: skip
    [row] = _rows("'05321234567','Ali','Veli','1990-04-01','5321111111','VIP','Ankara'", columns)
    assert row == ImportRow(
        "905321234567",
        "Ali",
        "Veli",
        {"BIRTH_DATE": "1990-04-01", "GSM_2": "905321111111", "Sehir": "Ankara"},
        "VIP",
    )


def test_empty_values_are_not_given() -> None:
    [row] = _rows("'905321234567','','',''")
    assert row == ImportRow("905321234567", None, None, {}, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("'12345','Ali','G','X'", "GSM"),
        ("'905321234567','Ali'", "2 değer var, 4 kolon"),
        ("'905321234567','Ali','G','X','fazla'", "5 değer var"),
        ("'','Ali','G','X'", "GSM"),
    ],
)
def test_bad_rows_are_invalid_with_a_reason(text: str, reason: str) -> None:
    [row] = _rows(text)
    assert isinstance(row, RowError) and reason in row.reason and row.line == 1


def test_bad_dates_and_numbers_in_known_details_are_invalid() -> None:
    columns = ("GSM", "BIRTH_DATE", "GSM_3")
    bad = _rows("'905321234567','01.04.1990',''\n'905321234567','','123'", columns)
    assert [type(r) for r in bad] == [RowError, RowError]
    assert "BIRTH_DATE" in str(bad[0]) and "GSM_3" in str(bad[1])


def test_a_value_too_large_for_csv_is_one_invalid_row() -> None:
    text = "'905321234567','" + "x" * 200_000 + "'\n'905321234568','ok'\n"
    rows = _rows(text, ("GSM", "note"))
    assert isinstance(rows[0], RowError) and isinstance(rows[-1], ImportRow)


@pytest.mark.parametrize(
    "columns", [[], ["first_name"], ["gsm", "GSM"], ["gsm", "şehir"], ["gsm", "a-b"]]
)
def test_bad_column_mappings_are_refused(columns: list[str]) -> None:
    with pytest.raises(DomainError) as caught:
        check_columns(columns)
    assert caught.value.err.name == "ERR_INVALID_PARAM" and caught.value.field == "columns"


# --- the service on the in-memory unit of work ---------------------------------------------
@pytest.fixture
def platform() -> Platform:
    settings = Settings(argon2_time_cost=1, argon2_memory_kib=8, secret_key="unit")
    return Platform(settings, uow=MemoryUnitOfWork(), clock=FixedClock(datetime(2026, 3, 2)))


@pytest.fixture
def who(platform: Platform) -> Principal:
    users.create_user(platform, "acme", "password", UserType.STANDARD)
    return platform.auth.principal_of("acme")


CSV = (
    "'GSM','FIRST_NAME','GROUP_NAME','CITY'\r\n"
    "'905321234567','Ali','A Grubu','Ankara'\r\n"
    "'905321234568','Veli','A Grubu',''\r\n"
    "'bad','X','B','Y'\r\n"
    "'905321234568','Tekrar','B Grubu','İzmir'\r\n"
)


def _book(platform: Platform, who: Principal) -> list[tuple[str, str | None, list[str]]]:
    rows = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(0, 100)).rows
    return [(c.gsm, c.first_name, [g.title for g in c.groups]) for c in rows]


def test_an_import_waits_for_a_worker_and_a_second_one_is_refused(
    platform: Platform, who: Principal
) -> None:
    imports.submit(platform, who, CSV, ImportOptions(COLUMNS))
    with pytest.raises(DomainError) as caught:
        imports.submit(platform, who, CSV, ImportOptions(COLUMNS))
    assert caught.value.err.sms_code == "SMS13"
    assert _book(platform, who) == []
    done = imports.run_next(platform, "worker")
    assert done is not None and done.state == ImportState.DONE
    assert imports.run_next(platform, "worker") is None
    assert _book(platform, who) == [
        ("905321234567", "Ali", ["A Grubu"]),
        ("905321234568", "Veli", ["A Grubu", "B Grubu"]),
    ]
    c = done.counts
    assert (c.total, c.created, c.updated, c.unchanged, c.invalid) == (4, 2, 0, 1, 1)
    assert c.errors == [RowError(4, "GSM: geçerli bir numara değil")]
    imports.submit(platform, who, CSV, ImportOptions(COLUMNS))  # the first one is done


def test_overwrite_replaces_given_fields_and_merges_details(
    platform: Platform, who: Principal
) -> None:
    imports.import_lines(platform, who, io.StringIO(CSV, newline=""), ImportOptions(COLUMNS))
    again = "'905321234567','','A Grubu','Bursa'\n'905321234568','Yeni','',''\n"
    job = imports.import_lines(
        platform, who, io.StringIO(again, newline=""), ImportOptions(COLUMNS, overwrite=True)
    )
    assert (job.counts.updated, job.counts.created) == (2, 0)
    rows = contacts.list_contacts(platform, who, ContactFilter(), None, PageRequest(0, 10)).rows
    assert (rows[0].first_name, rows[0].details) == ("Ali", {"city": "Bursa"})
    assert rows[1].first_name == "Yeni"


def test_blacklist_and_group_uuids_apply_to_every_row(platform: Platform, who: Principal) -> None:
    group = contacts.create_group(platform, who, GroupInput("Hepsi"))
    options = ImportOptions(COLUMNS, blacklisted=True, group_uuids=(group.uuid,))
    imports.import_lines(platform, who, io.StringIO(CSV, newline=""), options)
    black = ContactFilter(status=ContactStatus.BLACK)
    listed = contacts.list_contacts(platform, who, black, group.uuid, PageRequest(0, 10))
    assert listed.total == 2


def test_unknown_group_uuids_are_refused_before_anything_is_stored(
    platform: Platform, who: Principal
) -> None:
    with pytest.raises(DomainError) as caught:
        imports.submit(platform, who, CSV, ImportOptions(COLUMNS, group_uuids=("nope",)))
    assert caught.value.err.sms_code == "SMS10"
    assert imports.list_imports(platform, who) == []


def test_an_import_whose_group_was_deleted_meanwhile_fails_with_sms15(
    platform: Platform, who: Principal
) -> None:
    group = contacts.create_group(platform, who, GroupInput("Gidecek"))
    imports.submit(platform, who, CSV, ImportOptions(COLUMNS, group_uuids=(group.uuid,)))
    with platform.uow.write() as tx:
        tx.groups.delete([group.id])
    failed = imports.run_next(platform, "worker")
    assert failed is not None and failed.state == ImportState.FAILED
    assert failed.error is not None and "SMS15" in failed.error
    assert _book(platform, who) == []


def test_a_cli_import_whose_process_died_no_longer_blocks_the_user(
    platform: Platform, who: Principal
) -> None:
    clock = platform.clock
    assert isinstance(clock, FixedClock)
    with platform.uow.write() as tx:  # a CLI import that never finished: its process died
        tx.imports.add(who.user_id, ImportOptions(COLUMNS), None, "cli:dead",
                       clock.now() + imports.IMPORT_LEASE, clock.now())  # fmt: skip
    with pytest.raises(DomainError):
        imports.submit(platform, who, CSV, ImportOptions(COLUMNS))
    clock.advance(seconds=imports.IMPORT_LEASE.total_seconds() + 1)
    imports.submit(platform, who, CSV, ImportOptions(COLUMNS))
    new, dead = imports.list_imports(platform, who)
    assert new.state == ImportState.PENDING and dead.state == ImportState.FAILED
    assert dead.error is not None and "SMS14" in dead.error
