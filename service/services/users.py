"""Users: the four types under their parents, passwords, settings."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from service.domain.constants import CustomerType, UserType
from service.domain.errors import DomainError, Err, invalid
from service.domain.records import User
from service.services.platform import Platform
from service.services.ports import Tx

# Which parent types each user type may hang under (None: top level, the operator's).
ALLOWED_PARENTS: dict[UserType, frozenset[UserType | None]] = {
    UserType.RESELLER: frozenset({None}),
    UserType.SUB_RESELLER: frozenset({UserType.RESELLER, UserType.SUB_RESELLER}),
    UserType.STANDARD: frozenset({None, UserType.RESELLER, UserType.SUB_RESELLER}),
    UserType.SUB_USER: frozenset({UserType.STANDARD}),
}
USERNAME_MAX = 64
OPTIONS = frozenset({"duplicate_check", "active", "unlimited"})


def create_user(
    platform: Platform,
    username: str,
    password: str,
    user_type: int,
    parent: str | None = None,
    customer_type: int = 0,
    unlimited: bool = False,
) -> User:
    """Create a user of a type under a parent the type allows."""
    utype = _enum(UserType, user_type, "type")
    ctype = _enum(CustomerType, customer_type, "customerType")
    _check_username(username)
    _check_password(password)
    password_hash = platform.auth.hash_password(password)
    with platform.uow.write() as tx:
        parent_user = _parent(tx, parent)
        parent_type = parent_user.user_type if parent_user else None
        if parent_type not in ALLOWED_PARENTS[utype]:
            raise DomainError(Err.ERR_USER_NOT_AUTHORIZED, _parents_allowed(utype))
        if tx.users.name_taken(username) or not tx.users.add(
            str(uuidlib.uuid4()),
            username,
            password_hash,
            utype,
            ctype,
            parent_user.id if parent_user else None,
            unlimited,
            platform.clock.now(),
        ):
            raise DomainError(Err.ERR_USER_ALREADY_EXISTS)
    return get_user(platform, username)


def set_password(platform: Platform, username: str, password: str) -> None:
    """Change a password; cached credentials of the old one stop working at once."""
    _check_password(password)
    password_hash = platform.auth.hash_password(password)
    with platform.uow.write() as tx:
        if not tx.users.update(username, password_hash=password_hash):
            raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    platform.auth.forget(username)


def set_options(platform: Platform, username: str, **options: bool | None) -> User:
    """Switch per-user options: duplicate_check, active, unlimited."""
    values = {k: v for k, v in options.items() if k in OPTIONS and v is not None}
    if values:
        with platform.uow.write() as tx:
            if not tx.users.update(username, **values):
                raise DomainError(Err.ERR_USER_NOT_FOUND, username)
        platform.auth.forget(username)
    return get_user(platform, username)


def get_user(platform: Platform, username: str) -> User:
    """A user by name."""
    with platform.uow.read() as tx:
        user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user


def list_users(platform: Platform, parent: str | None = None) -> list[User]:
    """Every user, or the direct children of `parent`."""
    with platform.uow.read() as tx:
        return tx.users.listing(parent)


def _parents_allowed(utype: UserType) -> str:
    names = sorted(
        ("üst kullanıcı olmadan" if t is None else f"{t.name} ({int(t)})")
        for t in ALLOWED_PARENTS[utype]
    )
    return f"{utype.name} ({int(utype)}) yalnızca şunların altında açılabilir: {', '.join(names)}."


def _parent(tx: Tx, parent: str | None) -> User | None:
    if parent is None:
        return None
    user = tx.users.by_name(parent)
    if user is None:
        raise DomainError(Err.ERR_PARENT_USER_NOT_FOUND, parent)
    return user


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
