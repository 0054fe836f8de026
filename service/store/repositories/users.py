"""Users, their place in the hierarchy and their credentials, in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.constants import CustomerType, UserType
from service.domain.principal import Principal, Scope
from service.domain.records import Credential, User
from service.store.errors import is_unique_violation
from service.store.repositories.scope import visible
from service.store.schema import user_allowed_ips, users

_PARENT = users.alias("parent")
_USER = select(users, _PARENT.c.username.label("parent_name")).outerjoin(
    _PARENT, _PARENT.c.id == users.c.parent_id
)
# Read on every authentication that the credential cache does not answer: built once.
_CREDENTIAL = select(
    users.c.id,
    users.c.uuid,
    users.c.username,
    users.c.user_type,
    users.c.unlimited,
    users.c.duplicate_check,
    users.c.active,
    users.c.password_hash,
).where(users.c.username == bindparam("name"))
_ALLOWED_IPS = (
    select(user_allowed_ips.c.network)
    .where(user_allowed_ips.c.user_id == bindparam("uid"))
    .order_by(user_allowed_ips.c.network)
)


class SqlUsers:
    """The users table: the hierarchy, options and credentials."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def credential(self, username: str) -> Credential | None:
        """What authentication needs of a user, by name."""
        row = self.conn.execute(_CREDENTIAL, {"name": username}).first()
        if row is None:
            return None
        principal = Principal(
            row.id,
            row.uuid,
            row.username,
            UserType(row.user_type),
            bool(row.unlimited),
            bool(row.duplicate_check),
            tuple(self.conn.execute(_ALLOWED_IPS, {"uid": row.id}).scalars()),
        )
        return Credential(principal, bool(row.active), row.password_hash)

    def by_name(self, username: str) -> User | None:
        """A user by name."""
        row = self.conn.execute(_USER.where(users.c.username == username)).mappings().first()
        return None if row is None else _user(row)

    def by_id(self, user_id: int) -> User | None:
        """A user by id."""
        row = self.conn.execute(_USER.where(users.c.id == user_id)).mappings().first()
        return None if row is None else _user(row)

    def visible(self, scope: Scope, uuid: str) -> User | None:
        """A user by uuid, if the scope reaches it."""
        query = _USER.where(users.c.uuid == uuid, visible(users.c.id, scope))
        row = self.conn.execute(query).mappings().first()
        return None if row is None else _user(row)

    def listing(self, parent: str | None = None) -> list[User]:
        """Every user, or the direct children of the user named `parent`, by id."""
        query = _USER.order_by(users.c.id)
        if parent:
            query = query.where(_PARENT.c.username == parent)
        return [_user(r) for r in self.conn.execute(query).mappings()]

    def lock(self, user_ids: list[int]) -> None:
        """Lock these users' rows (their balances) in id order, until the transaction ends."""
        self.conn.execute(
            select(users.c.id)
            .where(users.c.id.in_(user_ids))
            .order_by(users.c.id)
            .with_for_update(key_share=True)
        ).all()

    def name_taken(self, username: str) -> bool:
        """Whether a user of that name exists."""
        return bool(
            self.conn.execute(select(exists().where(users.c.username == username))).scalar()
        )

    def add(
        self,
        uuid: str,
        username: str,
        password_hash: str,
        user_type: UserType,
        customer_type: CustomerType,
        parent_id: int | None,
        unlimited: bool,
        now: datetime,
    ) -> bool:
        """Insert a user; False when the name was taken meanwhile."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(users).values(
                        uuid=uuid,
                        username=username,
                        password_hash=password_hash,
                        user_type=int(user_type),
                        customer_type=int(customer_type),
                        parent_id=parent_id,
                        credit=0,
                        unlimited=unlimited,
                        active=True,
                        duplicate_check=True,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            if not is_unique_violation(exc):  # a NOT NULL or a foreign key: our fault
                raise
            return False
        return True

    def update(self, username: str, **values: Any) -> bool:
        """Set columns of a user by name (password_hash, unlimited, active,
        duplicate_check); False for an unknown user."""
        done = self.conn.execute(update(users).where(users.c.username == username).values(**values))
        return bool(done.rowcount)


def _user(row: Any) -> User:
    return User(
        id=row["id"],
        uuid=row["uuid"],
        username=row["username"],
        user_type=UserType(row["user_type"]),
        customer_type=CustomerType(row["customer_type"]),
        parent_id=row["parent_id"],
        parent_name=row["parent_name"],
        credit=int(row["credit"]),
        unlimited=bool(row["unlimited"]),
        active=bool(row["active"]),
        duplicate_check=bool(row["duplicate_check"]),
        created_at=row["created_at"],
    )
