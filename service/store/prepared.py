"""Hot-path statements: SQLAlchemy Core statements compiled once per dialect and run
straight on the driver's cursor.

Creating a package runs a handful of small statements per request. Through a Core
`Connection.execute` each costs ~40 µs of Python (execution context, result wrapping,
events) against ~5 µs of database work on SQLite, which made SQLAlchemy, not the database,
the ceiling of /sms/create-otp. The SQL still comes from the Core statement and the one
schema; only the per-call machinery is skipped. The columns' bind processors are kept, so
values are stored exactly as the Core path stores them (SQLite keeps DateTime as text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: Sequence[str] | None  # positional order (qmark); None: the driver takes a dict
    processors: Mapping[str, Callable[[Any], Any]]


class Prepared:
    """A Core statement executed without SQLAlchemy's per-call overhead."""

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        # For an INSERT: which columns the parameters carry (the rest take their defaults).
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run inside the connection's transaction; the driver's cursor."""
        compiled = self._compiled(conn.dialect)
        values = dict(params)
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        args = values if compiled.names is None else [values[n] for n in compiled.names]
        try:
            cursor.execute(compiled.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            # The same exception classes as the Core path, and never the values in the
            # message: they may carry an SMS text (an OTP code).
            raise DBAPIError.instance(compiled.sql, None, exc, conn.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=conn.dialect) from exc
        return cursor

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        rows = self._rows(conn, params)
        return tuple(rows[0]) if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        rows = self._rows(conn, params)
        return rows[0][0] if rows else None

    def _rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        # Read to the end: a RETURNING statement left half-read stays open on SQLite.
        return list(self.execute(conn, params).fetchall())

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect,  # type: ignore[attr-defined]
                                          column_keys=self.column_keys)
        if dialect.paramstyle not in ("qmark", "pyformat"):
            raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        names = list(compiled.positiontup) if dialect.paramstyle == "qmark" else None
        return _Compiled(compiled.string, names, processors)
