"""Writing many rows at once, straight to the driver: COPY on PostgreSQL (executemany for
a few rows), executemany on SQLite. SQLAlchemy's per-row parameter handling costs more than
the database's own work for a 100,000-recipient package, and these rows need none of it
beyond type conversion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from service.store.errors import driver_cursor
from service.store.prepared import dialect_bind_processor

_CHUNK = 20_000  # rows per executemany: bounded memory for very large packages
# Below this, COPY's extra round trips cost more than it saves (an OTP is one row).
_COPY_MIN_ROWS = 64


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (tuples in `columns` order) inside the connection's transaction."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql" and len(rows) >= _COPY_MIN_ROWS:
        sql = f'COPY "{table.name}" ({names}) FROM STDIN'
        with driver_cursor(conn, sql) as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marker = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([marker] * len(columns))})'
    convert = _converter(conn.dialect, table, tuple(columns))
    with driver_cursor(conn, sql) as cursor:
        if len(rows) == 1:  # an OTP: psycopg's executemany would open a pipeline for it
            cursor.execute(sql, convert(rows)[0])
            return
        for offset in range(0, len(rows), _CHUNK):
            cursor.executemany(sql, convert(rows[offset : offset + _CHUNK]))


@functools.lru_cache(maxsize=64)
def _converter(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> Callable[[Sequence[Sequence[Any]]], Sequence[Sequence[Any]]]:
    # The columns' own bind processors (SQLite stores DateTime as text), applied only
    # where a column has one; values repeated across rows are converted once.
    procs = [
        (i, p)
        for i, c in enumerate(columns)
        if (p := dialect_bind_processor(table.c[c].type, dialect)) is not None
    ]
    if not procs:
        return lambda rows: rows

    def convert(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        seen: dict[tuple[int, Any], Any] = {}
        out = []
        for row in rows:
            values = list(row)
            for i, proc in procs:
                key = (i, values[i])
                if key not in seen:
                    seen[key] = proc(values[i])
                values[i] = seen[key]
            out.append(values)
        return out

    return convert
