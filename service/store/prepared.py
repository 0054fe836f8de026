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
from sqlalchemy.sql import Executable, Insert
from sqlalchemy.types import TypeEngine

from service.store.errors import driver_cursor


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: Sequence[str] | None  # positional order; None: the driver takes a dict
    processors: Mapping[str, Callable[[Any], Any]]


class Prepared:
    """A Core statement executed without SQLAlchemy's per-call overhead."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # An INSERT names the columns its parameters carry (the rest take their defaults).
        self._is_insert = isinstance(statement, Insert)
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run inside the connection's transaction, for a statement that returns no rows."""
        self._run(conn, params, fetch=False)

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        rows = self._rows(conn, params)
        return tuple(rows[0]) if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        rows = self._rows(conn, params)
        return rows[0][0] if rows else None

    def _rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        return self._run(conn, params, fetch=True)

    def _run(self, conn: Connection, params: Mapping[str, Any], fetch: bool) -> list[Any]:
        compiled = self._for(conn.dialect, params)
        values = dict(params)
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        args = values if compiled.names is None else [values[n] for n in compiled.names]
        with driver_cursor(conn, compiled.sql) as cursor:
            cursor.execute(compiled.sql, args)
            # Read to the end (a RETURNING statement left half-read stays open on SQLite),
            # inside the error handling: a later row's error surfaces while fetching.
            return list(cursor.fetchall()) if fetch else []

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, tuple(params) if self._is_insert else ())
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect, list(key[1]) or None)
        return found

    def _compile(self, dialect: Dialect, column_keys: list[str] | None) -> _Compiled:
        # Every statement given is a ClauseElement; Executable alone does not say so.
        statement: Any = self.statement
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        processors = {}
        for name, bind in compiled.binds.items():
            process = dialect_bind_processor(bind.type, dialect)
            if process is not None:
                processors[name] = process
        # Positional styles (SQLite's qmark) take a list in the compiled order, repeated
        # names included; named styles (psycopg's pyformat) take the dict.
        names = list(compiled.positiontup or ()) if compiled.positional else None
        return _Compiled(compiled.string, names, processors)


def dialect_bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How the dialect converts a value of this type for its driver, if it does.

    The dialect's own implementation of the type: the generic DateTime has no processor,
    SQLite's stores text.
    """
    return type_.dialect_impl(dialect).bind_processor(dialect)
