"""Database errors as SQLAlchemy raises them, without the row values servers quote.

PostgreSQL adds a DETAIL to constraint errors that quotes the failing row or key (and a
COPY's CONTEXT quotes its line): SMS
texts, OTP codes, phone numbers, which would then reach tracebacks and logs. SQLite names
columns only. `hide_parameters` hides what we sent, not what the server echoes back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

HIDDEN = "(values hidden)"
_UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def hide_values(exc: BaseException) -> None:
    """Replace the server's DETAIL and CONTEXT (a COPY quotes its failing line there) in the
    error's message, and its driver error's, in place."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    quoted = [text for text in (getattr(diag, "message_detail", None),
                                getattr(diag, "context", None)) if text]
    for error in (exc, orig):
        if error.args and isinstance(error.args[0], str):
            message = error.args[0]
            for text in quoted:
                message = message.replace(text.rstrip("\n"), HIDDEN)
            error.args = (message, *error.args[1:])


def from_driver(dialect: Dialect, sql: str, exc: Exception) -> StatementError:
    """A driver error raised outside SQLAlchemy's execute, as the Core path raises it: the
    same exception class, no parameters, no quoted values."""
    hide_values(exc)
    return DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                               hide_parameters=True, dialect=dialect)


def is_unique_violation(exc: DBAPIError) -> bool:
    """Whether the error is a unique constraint refusing a duplicate (not a NOT NULL, a
    foreign key or a CHECK, which are IntegrityErrors too)."""
    orig: Any = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return True
    return str(orig).startswith("UNIQUE constraint failed")  # SQLite's wording
