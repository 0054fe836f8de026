"""Statements over a list of values given as one parameter, for the dispatcher's batches.

SQLite takes the list as an expanding IN (one cached statement serves every length);
PostgreSQL takes it as one array parameter: an expanded list of 500 made a statement text
that psycopg converts on every call (too long for its cache: ~5 ms each), and that the
server parses and plans anew.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, column, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal


class InList(ColumnElement[bool]):
    """`column IN (list parameter b_ids)`: an expanding IN on SQLite, `column =
    ANY(array parameter)` on PostgreSQL."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: Any) -> None:
        self.column = column


@compiles(InList)
def _in_expanding(element: InList, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(bindparam("b_ids", expanding=True)), **kw))


@compiles(InList, "postgresql")
def _in_array(element: InList, compiler: Any, **kw: Any) -> str:
    array = bindparam("b_ids", type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def unnest_rows(**columns: Any) -> Any:
    """PostgreSQL: rows given as one array parameter per column (b_<name>s), to join an
    UPDATE with: one statement and one round trip for a batch, where executemany sent a
    statement per row (a 100,000-item package spent most of its time in those)."""
    arrays = [bindparam(f"b_{name}s", type_=ARRAY(t)) for name, t in columns.items()]
    shape = [column(name, t) for name, t in columns.items()]
    return func.unnest(*arrays).table_valued(*shape).render_derived(name="v")
