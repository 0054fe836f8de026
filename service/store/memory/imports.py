"""Contact imports in memory: the twin of SqlImports, for the services' unit tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.constants import ExitType
from service.domain.contacts import ContactFields, ContactStatus
from service.domain.ids import uuid7
from service.domain.imports import (
    OPEN_STATES,
    ContactImport,
    ImportCounts,
    ImportOptions,
    ImportRow,
    ImportState,
    rows_last,
)
from service.store.memory.contacts import MemoryBlacklist, MemoryContacts, MemoryGroups, _table

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase

_WEB = int(ExitType.WEB)  # an import's isInBlacklist, like set-blacklist


@dataclasses.dataclass
class _Stored:
    job: ContactImport
    csv_data: str | None
    owner: str | None
    lease_until: datetime | None


class MemoryImports:
    """The contact_imports table, and imported rows written through the contact twins."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.rows: dict[int, _Stored] = _table(db, "imports")

    def add(
        self,
        user_id: int,
        options: ImportOptions,
        csv_data: str | None,
        owner: str | None,
        lease_until: datetime | None,
        now: datetime,
    ) -> ContactImport | None:
        """A new import; None when the user has an open one."""
        if any(s.job.user_id == user_id and s.job.state in OPEN_STATES for s in self.rows.values()):
            return None
        import_id = self.db.next_id("imports")
        state = ImportState.RUNNING if owner else ImportState.PENDING
        job = ContactImport(import_id, uuid7(), user_id, state, options, ImportCounts(), 0,
                            None, now, now if owner else None, None)  # fmt: skip
        self.rows[import_id] = _Stored(job, csv_data, owner, lease_until)
        return job

    def fail_abandoned(self, user_id: int, error: str, now: datetime) -> int:
        """Fail the user's CLI imports whose process died."""
        failed = 0
        for stored in self.rows.values():
            job = stored.job
            if (job.user_id, job.state, stored.csv_data) == (
                user_id,
                ImportState.RUNNING,
                None,
            ) and (stored.lease_until is not None and stored.lease_until < now):
                stored.lease_until = None
                stored.job = dataclasses.replace(
                    job, state=ImportState.FAILED, error=error, finished_at=now
                )
                failed += 1
        return failed

    def get(self, import_id: int) -> ContactImport | None:
        """An import by id."""
        stored = self.rows.get(import_id)
        return None if stored is None else _copy(stored.job)

    def source(self, import_id: int) -> str | None:
        """The CSV of an API import."""
        return self.rows[import_id].csv_data

    def next_claimable(self, now: datetime) -> int | None:
        """The oldest claimable import."""
        return next((i for i, s in sorted(self.rows.items()) if _claimable(s, now)), None)

    def claim(self, import_id: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take an import if it is still claimable."""
        stored = self.rows[import_id]
        if not _claimable(stored, now):
            return False
        stored.owner, stored.lease_until = owner, until
        stored.job = dataclasses.replace(stored.job, state=ImportState.RUNNING, started_at=now)
        return True

    def save_progress(
        self, import_id: int, owner: str, counts: ImportCounts, records_done: int, until: datetime
    ) -> bool:
        """Record progress; False when `owner` lost the import."""
        stored = self.rows[import_id]
        if stored.owner != owner or stored.job.state != ImportState.RUNNING:
            return False
        stored.lease_until = until
        stored.job = dataclasses.replace(stored.job, counts=_counts(counts),
                                         records_done=records_done)  # fmt: skip
        return True

    def finish(
        self,
        import_id: int,
        owner: str,
        state: ImportState,
        counts: ImportCounts,
        error: str | None,
        now: datetime,
    ) -> bool:
        """Close an import; False when `owner` lost it."""
        stored = self.rows[import_id]
        if stored.owner != owner or stored.job.state not in OPEN_STATES:
            return False
        stored.csv_data, stored.lease_until = None, None
        stored.job = dataclasses.replace(
            stored.job, state=state, counts=_counts(counts), error=error, finished_at=now
        )
        return True

    def listing(self, user_id: int, limit: int) -> list[ContactImport]:
        """A user's latest imports, newest first."""
        mine = [_copy(s.job) for i, s in sorted(self.rows.items(), reverse=True)]
        return [j for j in mine if j.user_id == user_id][:limit]

    def refresh_statistics(self) -> None:
        """Nothing to do in memory."""

    def write_chunk(
        self,
        user_id: int,
        rows: Sequence[ImportRow],
        options: ImportOptions,
        group_ids: Sequence[int],
        now: datetime,
    ) -> tuple[int, int]:
        """Write one chunk: (contacts created, contacts updated)."""
        contacts, groups = MemoryContacts(self.db), MemoryGroups(self.db)
        blacklist = MemoryBlacklist(self.db)
        last = rows_last(rows, options.overwrite)
        if options.blacklisted:
            blacklist.add(user_id, list(last), _WEB, now)
        created = updated = 0
        for gsm, index in last.items():
            row, current = rows[index], contacts.by_number(user_id, gsm)
            exit_type = blacklist.rows.get((user_id, gsm), -1)
            status = ContactStatus.WHITE if exit_type == -1 else ContactStatus.BLACK
            exit_value = None if exit_type == -1 else exit_type
            if current is None:
                contacts.add(uuid7(), user_id, _fields(row, None), int(status), exit_value, now)
                created += 1
            elif current.archived or options.overwrite:
                keep = None if current.archived else current
                contacts.update(current.id, _fields(row, keep), int(status), exit_value, now)
                updated += 1
        if options.blacklisted:
            contacts.set_status(user_id, list(last), int(ContactStatus.BLACK), _WEB, now)
        ids = contacts.ids_by_number(user_id, list(last))
        for row in rows:
            if row.group is not None:
                groups.add(uuid7(), user_id, row.group, None, now)
                group = next(g for g in groups.rows.values()
                             if g.user_id == user_id and g.title == row.group)  # fmt: skip
                contacts.link(group.id, [ids[row.gsm]])
        for group_id in group_ids:
            contacts.link(group_id, list(ids.values()))
        return created, updated


def _fields(row: ImportRow, current: Any) -> ContactFields:
    """A row over the current contact: empty values keep, details merge key by key."""
    details = {**(current.details if current else {}), **row.details}
    return ContactFields(
        gsm=row.gsm,
        first_name=row.first_name or (current.first_name if current else None),
        last_name=row.last_name or (current.last_name if current else None),
        details=details,
        iys_state=current.iys_state if current else None,
        iys_type=current.iys_type if current else None,
        iys_source=current.iys_source if current else None,
        query_call=current.query_call if current else None,
        query_email=current.query_email if current else None,
    )


def _claimable(stored: _Stored, now: datetime) -> bool:
    job = stored.job
    if job.state == ImportState.PENDING:
        return True
    return (
        job.state == ImportState.RUNNING
        and stored.lease_until is not None
        and (stored.lease_until < now)
    )


def _counts(counts: ImportCounts) -> ImportCounts:
    return dataclasses.replace(counts, errors=list(counts.errors))


def _copy(job: ContactImport) -> ContactImport:
    return dataclasses.replace(job, counts=_counts(job.counts))
