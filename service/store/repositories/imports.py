"""Contact imports in SQL: the contact_imports rows (claimed under a lease) and the bulk
write of one chunk of rows.

A chunk goes through a temporary staging table (COPY on PostgreSQL, executemany on
SQLite: store/bulk.py), then a few set-based statements: groups named by GROUP_NAME
created, contacts upserted (ON CONFLICT on (user, number)), memberships and blacklist
rows inserted. No per-row round trip: a million rows is a hundred chunks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TextClause,
    bindparam,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy import update as sql_update

from service.domain.constants import ExitType
from service.domain.contacts import ContactStatus
from service.domain.ids import uuid7
from service.domain.imports import (
    ContactImport,
    ImportCounts,
    ImportOptions,
    ImportRow,
    ImportState,
    RowError,
    rows_last,
)
from service.store.bulk import insert_rows
from service.store.repositories.contacts import _inserted
from service.store.schema import contact_imports

_WEB = int(ExitType.WEB)  # an import's isInBlacklist, like set-blacklist
# The staging table: not part of the schema (a temporary table of the connection).
_STAGING = Table(
    "import_rows",
    MetaData(),
    Column("gsm", String(15)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("details", Text),
    Column("group_name", String(100)),
    Column("uuid", String(36)),
    Column("is_last", Integer),  # the row that writes the contact (a number once)
    Column("seq", Integer),  # the row's place in the chunk: contacts get ids in file order
)
_COLUMNS = [c.name for c in _STAGING.columns]
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS import_rows (gsm VARCHAR(15), first_name VARCHAR(100), "
    "last_name VARCHAR(100), details TEXT, group_name VARCHAR(100), uuid VARCHAR(36), "
    "is_last INTEGER, seq INTEGER)"
)


def text(sql: str) -> TextClause:
    """A statement of this module; `:now` bound as a DateTime (SQLite stores it as text)."""
    clause = sql_text(sql)
    return clause.bindparams(bindparam("now", type_=DateTime)) if ":now" in sql else clause


_MERGE_DETAILS = {
    "sqlite": "json_patch(contacts.details, excluded.details)",
    "postgresql": "(contacts.details::jsonb || excluded.details::jsonb)::text",
}


def options_json(options: ImportOptions) -> str:
    """The stored form of an import's options."""
    return json.dumps(
        {
            "columns": list(options.columns),
            "overwrite": options.overwrite,
            "blacklisted": options.blacklisted,
            "groupUUIDs": list(options.group_uuids),
        }
    )


def _options(raw: str) -> ImportOptions:
    data = json.loads(raw)
    return ImportOptions(
        tuple(data["columns"]), data["overwrite"], data["blacklisted"], tuple(data["groupUUIDs"])
    )


def _import(row: Any) -> ContactImport:
    errors = [RowError(e["line"], e["reason"]) for e in json.loads(row.errors or "[]")]
    counts = ImportCounts(row.total, row.created, row.updated, row.unchanged, row.invalid, errors)
    return ContactImport(
        id=row.id,
        uuid=row.uuid,
        user_id=row.user_id,
        state=ImportState(row.state),
        options=_options(row.options),
        counts=counts,
        records_done=row.records_done,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _count_values(counts: ImportCounts) -> dict[str, Any]:
    return {
        "total": counts.total,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "invalid": counts.invalid,
        "errors": json.dumps([{"line": e.line, "reason": e.reason} for e in counts.errors]),
    }


_T = contact_imports
_OPEN = _T.c.state.in_([ImportState.PENDING.value, ImportState.RUNNING.value])


def _claimable(now: datetime) -> Any:
    return (_T.c.state == ImportState.PENDING.value) | (
        (_T.c.state == ImportState.RUNNING.value) & (_T.c.lease_until < now)
    )


class SqlImports:
    """The contact_imports table and the bulk write of imported rows."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        user_id: int,
        options: ImportOptions,
        csv_data: str | None,
        owner: str | None,
        lease_until: datetime | None,
        now: datetime,
    ) -> ContactImport | None:
        """A new import, pending (or running, owned, with an owner); None when the user
        has an open import already."""
        values = {
            "uuid": uuid7(),
            "user_id": user_id,
            "state": (ImportState.RUNNING if owner else ImportState.PENDING).value,
            "options": options_json(options),
            "csv_data": csv_data,
            "owner": owner,
            "lease_until": lease_until,
            "created_at": now,
            "started_at": now if owner else None,
        }
        new_id = _inserted(self.conn, _T.insert().values(values).returning(_T.c.id))
        return None if new_id is None else self.get(int(new_id))

    def fail_abandoned(self, user_id: int, error: str, now: datetime) -> int:
        """Fail the user's CLI imports whose process died (running, no CSV stored, the
        lease expired): their file is not in the database, no worker can finish them."""
        result = self.conn.execute(
            sql_update(_T)
            .where(
                _T.c.user_id == user_id,
                _T.c.state == ImportState.RUNNING.value,
                _T.c.csv_data.is_(None),
                _T.c.lease_until < now,
            )
            .values(state=ImportState.FAILED.value, error=error, lease_until=None, finished_at=now)
        )
        return int(result.rowcount)

    def get(self, import_id: int) -> ContactImport | None:
        """An import by id."""
        row = self.conn.execute(select(_T).where(_T.c.id == import_id)).first()
        return None if row is None else _import(row)

    def source(self, import_id: int) -> str | None:
        """The CSV of an import submitted over the API (None: a CLI import's file)."""
        query = select(_T.c.csv_data).where(_T.c.id == import_id)
        value: str | None = self.conn.execute(query).scalar_one_or_none()
        return value

    def next_claimable(self, now: datetime) -> int | None:
        """The oldest import waiting, or running under an expired lease (a crashed worker)."""
        query = select(_T.c.id).where(_OPEN, _claimable(now)).order_by(_T.c.id).limit(1)
        found: int | None = self.conn.execute(query).scalar_one_or_none()
        return found

    def claim(self, import_id: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take an import if it is still claimable: one conditional UPDATE, so two workers
        never both take it."""
        result = self.conn.execute(
            sql_update(_T)
            .where(_T.c.id == import_id, _claimable(now))
            .values(
                state=ImportState.RUNNING.value,
                owner=owner,
                lease_until=until,
                started_at=now,
            )
        )
        return bool(result.rowcount)

    def save_progress(
        self, import_id: int, owner: str, counts: ImportCounts, records_done: int, until: datetime
    ) -> bool:
        """Record progress and extend the lease; False when `owner` lost the import."""
        result = self.conn.execute(
            sql_update(_T)
            .where(
                _T.c.id == import_id,
                _T.c.owner == owner,
                _T.c.state == ImportState.RUNNING.value,
            )
            .values(records_done=records_done, lease_until=until, **_count_values(counts))
        )
        return bool(result.rowcount)

    def finish(
        self,
        import_id: int,
        owner: str,
        state: ImportState,
        counts: ImportCounts,
        error: str | None,
        now: datetime,
    ) -> bool:
        """Close an import (done or failed), dropping its CSV; False when `owner` lost it."""
        result = self.conn.execute(
            sql_update(_T)
            .where(_T.c.id == import_id, _T.c.owner == owner, _OPEN)
            .values(
                state=state.value,
                error=error,
                csv_data=None,
                lease_until=None,
                finished_at=now,
                **_count_values(counts),
            )
        )
        return bool(result.rowcount)

    def listing(self, user_id: int, limit: int) -> list[ContactImport]:
        """A user's latest imports, newest first."""
        query = select(_T).where(_T.c.user_id == user_id).order_by(_T.c.id.desc()).limit(limit)
        return [_import(r) for r in self.conn.execute(query)]

    # --- the rows ---------------------------------------------------------------------
    def write_chunk(
        self,
        user_id: int,
        rows: Sequence[ImportRow],
        options: ImportOptions,
        group_ids: Sequence[int],
        now: datetime,
    ) -> tuple[int, int]:
        """Write one chunk of valid rows: (contacts created, contacts updated)."""
        if not rows:
            return 0, 0
        last = rows_last(rows, options.overwrite)
        self._stage(rows, last)
        names = sorted({r.group for r in rows if r.group is not None})
        self._add_groups(user_id, names, now)
        params = {"uid": user_id, "now": now, "web": _WEB}
        existing, archived = self.conn.execute(
            text(
                "SELECT count(*), coalesce(sum(CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END),"
                " 0) FROM import_rows s JOIN contacts c ON c.user_id = :uid AND c.gsm = s.gsm"
                " WHERE s.is_last = 1"
            ),
            params,
        ).one()
        if options.blacklisted:
            self.conn.execute(
                text(
                    "INSERT INTO blacklist (user_id, gsm, exit_type, created_at)"
                    " SELECT :uid, gsm, :web, :now FROM import_rows WHERE is_last = 1"
                    " ON CONFLICT (user_id, gsm) DO UPDATE SET exit_type = excluded.exit_type"
                ),
                params,
            )
        self.conn.execute(text(self._upsert(options.overwrite)), params)
        if options.blacklisted:  # contacts the upsert left alone take the flag too
            self.conn.execute(
                text(
                    "UPDATE contacts SET status = :black, exit_type = :web, updated_at = :now"
                    " WHERE user_id = :uid AND status = :white"
                    " AND gsm IN (SELECT gsm FROM import_rows)"
                ),
                params | {"black": int(ContactStatus.BLACK), "white": int(ContactStatus.WHITE)},
            )
        self._link(user_id, group_ids)
        created = len(last) - int(existing)
        updated = int(existing) if options.overwrite else int(archived)
        return created, updated

    def refresh_statistics(self) -> None:
        """PostgreSQL: ANALYZE the tables an import grows, so that the planner keeps
        joining a chunk to the book by index while the book grows from nothing to
        millions (autovacuum's analyze lags far behind a bulk load)."""
        if self.conn.dialect.name == "postgresql":
            for table in ("contacts", "contact_group_members"):
                self.conn.exec_driver_sql(f"ANALYZE {table}")

    def _stage(self, rows: Sequence[ImportRow], last: dict[str, int]) -> None:
        postgres = self.conn.dialect.name == "postgresql"
        self.conn.exec_driver_sql(_CREATE_STAGING + (" ON COMMIT DROP" if postgres else ""))
        if not postgres:  # the writer connection keeps it between transactions
            self.conn.exec_driver_sql("DELETE FROM import_rows")
        staged = [
            (
                r.gsm,
                r.first_name,
                r.last_name,
                json.dumps(r.details, ensure_ascii=False) if r.details else None,
                r.group,
                uuid7(),
                1 if last.get(r.gsm) == index else 0,
                index,
            )
            for index, r in enumerate(rows)
        ]
        insert_rows(self.conn, _STAGING, _COLUMNS, staged)
        if postgres:  # a new temporary table has no statistics: without them the planner
            # hash-joins the whole book (a million contacts) for every chunk
            self.conn.exec_driver_sql("ANALYZE import_rows")

    def _add_groups(self, user_id: int, names: list[str], now: datetime) -> None:
        """Create the groups named by GROUP_NAME that the user lacks (a title taken
        meanwhile by a concurrent create is left to it: the links find it by title)."""
        if names:
            self.conn.execute(
                text(
                    "INSERT INTO contact_groups (uuid, user_id, title, created_at)"
                    " VALUES (:uuid, :uid, :title, :now)"
                    " ON CONFLICT (user_id, title) DO NOTHING"
                ),
                [{"uuid": uuid7(), "uid": user_id, "title": n, "now": now} for n in names],
            )

    def _upsert(self, overwrite: bool) -> str:
        merge = _MERGE_DETAILS[self.conn.dialect.name]
        # An archived contact is restored with the imported fields (as /contact/create
        # restores it); a live one keeps what the row leaves empty, and its custom fields
        # are merged key by key.
        restored = "contacts.deleted_at IS NOT NULL"
        return (
            "INSERT INTO contacts (uuid, user_id, gsm, first_name, last_name, details, status,"
            " exit_type, created_at, updated_at)"
            " SELECT s.uuid, :uid, s.gsm, s.first_name, s.last_name, s.details,"
            f" CASE WHEN b.gsm IS NULL THEN {int(ContactStatus.WHITE)}"
            f" ELSE {int(ContactStatus.BLACK)} END, b.exit_type, :now, :now"
            " FROM import_rows s LEFT JOIN blacklist b ON b.user_id = :uid AND b.gsm = s.gsm"
            " WHERE s.is_last = 1 ORDER BY s.seq"
            " ON CONFLICT (user_id, gsm) DO UPDATE SET"
            f" first_name = CASE WHEN {restored} THEN excluded.first_name"
            " ELSE coalesce(excluded.first_name, contacts.first_name) END,"
            f" last_name = CASE WHEN {restored} THEN excluded.last_name"
            " ELSE coalesce(excluded.last_name, contacts.last_name) END,"
            f" details = CASE WHEN {restored} OR contacts.details IS NULL THEN excluded.details"
            f" WHEN excluded.details IS NULL THEN contacts.details ELSE {merge} END,"
            " status = excluded.status, exit_type = excluded.exit_type,"
            " updated_at = excluded.updated_at, deleted_at = NULL"
            + ("" if overwrite else f" WHERE {restored}")
        )

    def _link(self, user_id: int, group_ids: Sequence[int]) -> None:
        self.conn.execute(
            text(
                "INSERT INTO contact_group_members (group_id, contact_id)"
                " SELECT DISTINCT g.id, c.id FROM import_rows s"
                " JOIN contacts c ON c.user_id = :uid AND c.gsm = s.gsm"
                " JOIN contact_groups g ON g.user_id = :uid AND g.title = s.group_name"
                " WHERE s.group_name IS NOT NULL"
                " ON CONFLICT (group_id, contact_id) DO NOTHING"
            ),
            {"uid": user_id},
        )
        for group_id in group_ids:
            self.conn.execute(
                text(
                    "INSERT INTO contact_group_members (group_id, contact_id)"
                    " SELECT :gid, c.id FROM import_rows s"
                    " JOIN contacts c ON c.user_id = :uid AND c.gsm = s.gsm"
                    " WHERE s.is_last = 1 ON CONFLICT (group_id, contact_id) DO NOTHING"
                ),
                {"uid": user_id, "gid": group_id},
            )
