"""Contact imports (/contact/import): the CSV dialect, the column mapping and the rules of
one row. Pure: reading records from a text stream the caller opened.

The dialect, from the spec ("every value is in single quotes"; its example puts a space
after the comma): the stdlib csv module with quotechar `'`, a quote inside a value doubled
(`'O''Brien'`, as in RFC 4180 and SQL), a backslash an ordinary character, spaces after
a comma skipped, CRLF or LF line ends, a UTF-8 BOM ignored, blank lines skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from service.domain.contacts import (
    DETAIL_NAME_MAX,
    DETAILS_MAX,
    NAME_MAX,
    TITLE_MAX,
    check_detail,
)
from service.domain.errors import DomainError, invalid
from service.domain.phone import normalize
from service.domain.text import is_storable

KNOWN_COLUMNS = ("GSM", "FIRST_NAME", "LAST_NAME", "BIRTH_DATE", "GSM_2", "GSM_3", "GROUP_NAME")
_DETAIL_NAME = re.compile(r"[A-Za-z0-9_]+")
CHUNK_ROWS = 10_000  # rows per transaction: bounded memory, progress every chunk
ERRORS_KEPT = 100  # invalid rows an import keeps, with their reasons
GROUP_UUIDS_MAX = 100


class ImportState(StrEnum):
    """Where an import stands; pending and running ones are "unprocessed" (SMS13)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


OPEN_STATES = (ImportState.PENDING, ImportState.RUNNING)


@dataclass(frozen=True)
class ImportOptions:
    """What an import does besides reading rows: columns, overwrite, blacklist, groups."""

    columns: tuple[str, ...]
    overwrite: bool = False
    blacklisted: bool = False
    group_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportRow:
    """One valid row: the contact's fields and the group it names (GROUP_NAME)."""

    gsm: str
    first_name: str | None
    last_name: str | None
    details: dict[str, str]
    group: str | None


@dataclass(frozen=True)
class RowError:
    """An invalid row: its line in the CSV and why."""

    line: int
    reason: str


@dataclass
class ImportCounts:
    """Rows read and what became of them (total = created + updated + unchanged + invalid)."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add_errors(self, errors: Sequence[RowError]) -> None:
        """Count invalid rows, keeping the first ERRORS_KEPT with their reasons."""
        self.invalid += len(errors)
        room = ERRORS_KEPT - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])


@dataclass(frozen=True)
class ContactImport:
    """An import request as stored and as its status shows it."""

    id: int
    uuid: str
    user_id: int
    state: ImportState
    options: ImportOptions
    counts: ImportCounts
    records_done: int  # CSV records already applied: where a resumed import starts
    error: str | None
    created_at: Any
    started_at: Any
    finished_at: Any


def check_columns(raw: Sequence[Any]) -> tuple[str, ...]:
    """The `columns` mapping: known names upper-cased, custom names (details) as given,
    letters, digits and `_` only; GSM exactly once; no name twice."""
    if not raw:
        raise invalid("columns", "zorunlu")
    if len(raw) > DETAILS_MAX + len(KNOWN_COLUMNS):
        raise invalid("columns", f"en fazla {DETAILS_MAX + len(KNOWN_COLUMNS)} kolon")
    names: list[str] = []
    for value in raw:
        if not isinstance(value, str):
            raise invalid("columns", "metin listesi olmalı")
        name = value.strip()
        if name.upper() in KNOWN_COLUMNS:
            name = name.upper()
        elif not (_DETAIL_NAME.fullmatch(name) and name.isascii()) or len(name) > DETAIL_NAME_MAX:
            raise invalid("columns", f"'{name}': yalnız harf, rakam ve _ içerebilir")
        if name.upper() in (n.upper() for n in names):
            raise invalid("columns", f"'{name}' iki kez verilmiş")
        names.append(name)
    if "GSM" not in names:
        raise invalid("columns", "GSM kolonu zorunlu")
    return tuple(names)


def records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line number, values) of each CSV record, or why it could not be read; blank
    lines skipped. `lines` must keep
    their line ends (a file opened with newline="", or io.StringIO(text, newline=""))."""
    reader = csv.reader(_without_bom(lines), quotechar="'", doublequote=True,
                        skipinitialspace=True, strict=False)  # fmt: skip
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a value over csv's field size limit
            yield reader.line_num, RowError(reader.line_num, f"okunamadı: {error}")
            continue
        if values:
            yield reader.line_num, values


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    first = True
    for line in lines:
        yield line.removeprefix("\ufeff") if first else line
        first = False


def is_header(columns: Sequence[str], values: Sequence[str] | RowError) -> bool:
    """Whether a first record names the columns (the spec's example starts with one)."""
    return (
        not isinstance(values, RowError)
        and len(values) == len(columns)
        and all(v.strip().upper() == c.upper() for v, c in zip(values, columns, strict=True))
    )


def parse_row(
    columns: Sequence[str], line: int, values: Sequence[str] | RowError
) -> ImportRow | RowError:
    """One record under the column mapping: a row to write, or why it is invalid."""
    if isinstance(values, RowError):
        return values
    if not is_storable("".join(values)):  # once per row, not per value: rows are many
        return RowError(line, "NUL veya geçersiz Unicode karakteri içeriyor")
    if len(values) != len(columns):
        return RowError(line, f"{len(values)} değer var, {len(columns)} kolon bekleniyor")
    fields = {c: v.strip() for c, v in zip(columns, values, strict=True)}
    gsm = normalize(fields.pop("GSM"))
    if gsm is None:
        return RowError(line, "GSM: geçerli bir numara değil")
    first, last = fields.pop("FIRST_NAME", "") or None, fields.pop("LAST_NAME", "") or None
    group = fields.pop("GROUP_NAME", "") or None
    for name, value in (("FIRST_NAME", first), ("LAST_NAME", last)):
        if value is not None and len(value) > NAME_MAX:
            return RowError(line, f"{name}: en fazla {NAME_MAX} karakter")
    if group is not None and len(group) > TITLE_MAX:
        return RowError(line, f"GROUP_NAME: en fazla {TITLE_MAX} karakter")
    details: dict[str, str] = {}
    for name, value in fields.items():
        try:
            text = check_detail(name, value)
        except DomainError as error:
            return RowError(line, error.detail or error.message)
        if text is not None:
            details[name] = text
    return ImportRow(gsm, first, last, details, group)


def rows_last(rows: Sequence[ImportRow], overwrite: bool) -> dict[str, int]:
    """{number: index of the row that writes it}: a number repeated in a chunk is written
    once, by its last row with `overwrite` (later rows update), else by its first."""
    chosen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if overwrite:
            chosen[row.gsm] = index
        else:
            chosen.setdefault(row.gsm, index)
    return chosen
