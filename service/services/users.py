"""Users: the four types under their parents, passwords, settings."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.constants import CustomerType, UserType
from service.domain.errors import DomainError, Err, invalid
from service.services.platform import Platform
from service.store.errors import is_unique_violation
from service.store.schema import users

# Which parent types each user type may hang under (None: top level, the operator's).
ALLOWED_PARENTS: dict[UserType, frozenset[UserType | None]] = {
    UserType.RESELLER: frozenset({None}),
    UserType.SUB_RESELLER: frozenset({UserType.RESELLER, UserType.SUB_RESELLER}),
    UserType.STANDARD: frozenset({None, UserType.RESELLER, UserType.SUB_RESELLER}),
    UserType.SUB_USER: frozenset({UserType.STANDARD}),
}
USERNAME_MAX = 64


def create_user(
    platform: Platform,
    username: str,
    password: str,
    user_type: int,
    parent: str | None = None,
    customer_type: int = 0,
    unlimited: bool = False,
) -> dict[str, Any]:
    """Create a user of a type under a parent the type allows."""
    utype = _enum(UserType, user_type, "type")
    ctype = _enum(CustomerType, customer_type, "customerType")
    _check_username(username)
    _check_password(password)
    password_hash = platform.auth.hash_password(password)
    with platform.store.write() as conn:
        parent_id, parent_type = _parent(conn, parent)
        if parent_type not in ALLOWED_PARENTS[utype]:
            raise DomainError(
                Err.ERR_USER_NOT_AUTHORIZED, f"{utype.name} bu üst kullanıcı altında açılamaz."
            )
        if conn.execute(select(exists().where(users.c.username == username))).scalar():
            raise DomainError(Err.ERR_USER_ALREADY_EXISTS)
        try:
            conn.execute(
                insert(users).values(
                    uuid=str(uuidlib.uuid4()),
                    username=username,
                    password_hash=password_hash,
                    user_type=int(utype),
                    customer_type=int(ctype),
                    parent_id=parent_id,
                    credit=0,
                    unlimited=unlimited,
                    active=True,
                    duplicate_check=True,
                    created_at=platform.clock.now(),
                )
            )
        except IntegrityError as exc:
            if not is_unique_violation(exc):  # a NOT NULL or a foreign key: our fault
                raise
            raise DomainError(Err.ERR_USER_ALREADY_EXISTS) from None
    return get_user(platform, username)


def set_password(platform: Platform, username: str, password: str) -> None:
    """Change a password; cached credentials of the old one stop working at once."""
    _check_password(password)
    password_hash = platform.auth.hash_password(password)
    with platform.store.write() as conn:
        done = conn.execute(
            update(users).where(users.c.username == username).values(password_hash=password_hash)
        ).rowcount
    if not done:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    platform.auth.forget(username)


def set_options(platform: Platform, username: str, **options: bool) -> dict[str, Any]:
    """Switch per-user options: duplicate_check, active, unlimited."""
    allowed = {"duplicate_check", "active", "unlimited"}
    values = {k: v for k, v in options.items() if k in allowed and v is not None}
    if values:
        with platform.store.write() as conn:
            if not conn.execute(
                update(users).where(users.c.username == username).values(**values)
            ).rowcount:
                raise DomainError(Err.ERR_USER_NOT_FOUND, username)
        platform.auth.forget(username)
    return get_user(platform, username)


def get_user(platform: Platform, username: str) -> dict[str, Any]:
    """A user's public record."""
    parent = users.alias("parent")
    with platform.store.read() as conn:
        row = (
            conn.execute(
                select(users, parent.c.username.label("parent_name"))
                .outerjoin(parent, parent.c.id == users.c.parent_id)
                .where(users.c.username == username)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return _public(row)


def list_users(platform: Platform, parent: str | None = None) -> list[dict[str, Any]]:
    """Every user, or the direct children of `parent`."""
    parent_t = users.alias("parent")
    query = (
        select(users, parent_t.c.username.label("parent_name"))
        .outerjoin(parent_t, parent_t.c.id == users.c.parent_id)
        .order_by(users.c.id)
    )
    if parent:
        query = query.where(parent_t.c.username == parent)
    with platform.store.read() as conn:
        return [_public(r) for r in conn.execute(query).mappings()]


def _public(row: Any) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "username": row["username"],
        "type": row["user_type"],
        "customerType": row["customer_type"],
        "parent": row["parent_name"],
        "credit": int(row["credit"]),
        "unlimited": bool(row["unlimited"]),
        "active": bool(row["active"]),
        "duplicateCheck": bool(row["duplicate_check"]),
    }


def _parent(conn: Any, parent: str | None) -> tuple[int | None, UserType | None]:
    if parent is None:
        return None, None
    row = conn.execute(
        select(users.c.id, users.c.user_type).where(users.c.username == parent)
    ).first()
    if row is None:
        raise DomainError(Err.ERR_PARENT_USER_NOT_FOUND, parent)
    return row.id, UserType(row.user_type)


def _enum(kind: Any, value: int, field: str) -> Any:
    try:
        return kind(int(value))
    except (TypeError, ValueError):
        raise invalid(field, f"geçersiz değer {value!r}") from None


def _check_username(username: str) -> None:
    if (
        not username
        or len(username) > USERNAME_MAX
        or not username.isprintable()
        or ":" in username
        or username != username.strip()
    ):
        raise invalid("username", "1-64 yazdırılabilir karakter, ':' içermez")


def _check_password(password: str) -> None:
    if len(password) < 6:
        raise invalid("password", "en az 6 karakter olmalı")
