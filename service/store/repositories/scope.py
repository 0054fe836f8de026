"""The one visibility rule in SQL: a Scope as a condition on a table's user column."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, select

from service.domain.principal import Scope
from service.store.schema import users


def descendants_of(user_id: int) -> Any:
    """A SELECT of the ids of every user below `user_id` (children, their children...)."""
    tree = select(users.c.id).where(users.c.parent_id == literal(user_id)).cte(recursive=True)
    below = users.alias("below")
    tree = tree.union_all(select(below.c.id).where(below.c.parent_id == tree.c.id))
    return select(tree.c.id)


def visible(column: Any, scope: Scope) -> Any:
    """`column` (a user id) is within the scope: the user's own, or one of its descendants
    when the scope reaches them."""
    if not scope.descendants:
        return column == scope.user_id
    return (column == scope.user_id) | column.in_(descendants_of(scope.user_id))
