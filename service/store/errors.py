"""Database errors as SQLAlchemy raises them, without the row values servers quote.

PostgreSQL adds a DETAIL to constraint errors that quotes the failing row or key (and a
COPY's CONTEXT quotes its line): SMS texts, OTP codes, phone numbers, which would then
reach tracebacks and logs. SQLite names columns only. `hide_parameters` hides what we
sent, not what the server echoes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

HIDDEN = "(values hidden)"
_UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def hide_values(exc: BaseException) -> None:
    """Replace the server's DETAIL and CONTEXT (a COPY quotes its failing line there) in the
    error's message, and its driver error's, in place."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    quoted = [
        text
        for text in (getattr(diag, "message_detail", None), getattr(diag, "context", None))
        if text
    ]
    for error in (exc, orig):
        if error.args and isinstance(error.args[0], str):
            message = error.args[0]
            for text in quoted:
                message = message.replace(text.rstrip("\n"), HIDDEN)
            error.args = (message, *error.args[1:])


@contextmanager
def driver_cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """The driver's cursor, for work done outside SQLAlchemy's execute (prepared
    statements, bulk inserts); its errors raised as the Core path raises them: the same
    exception classes, no parameters, no quoted values."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        hide_values(exc)
        raise _as_core(conn.dialect, sql, exc) from exc


def _as_core(dialect: Dialect, sql: str, exc: Exception) -> StatementError:
    return DBAPIError.instance(
        sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )


def is_unique_violation(exc: DBAPIError) -> bool:
    """Whether the error is a unique constraint refusing a duplicate (not a NOT NULL, a
    foreign key or a CHECK, which are IntegrityErrors too)."""
    orig: Any = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return True
    return str(orig).startswith("UNIQUE constraint failed")  # SQLite's wording
