"""Finding one of the caller's packages by id, uuid or customID."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from service.domain.errors import DomainError, Err
from service.domain.params import Params
from service.store.schema import packages


def package_ref(
    params: Params, *, id_key: str = "id", allow_custom_id: bool = True
) -> tuple[str, Any]:
    """Which package a request names: ("id"|"uuid"|"custom_id", value)."""
    for key in (id_key, "pkgID", "id"):
        value = params.int(key)
        if value is not None:
            return "id", value
    uuid = params.str("uuid")
    if uuid:
        return "uuid", uuid
    custom_id = params.str("customID") if allow_custom_id else None
    if custom_id:
        return "custom_id", custom_id
    names = f"{id_key}, uuid" + (", customID" if allow_custom_id else "")
    raise DomainError(Err.ERR_INVALID_PARAM, f"{names} alanlarından biri zorunlu.", field=id_key)


def find_package(conn: Connection, user_id: int, ref: tuple[str, Any]) -> Any:
    """The caller's package row; another user's package is simply not found."""
    column, value = ref
    row = (
        conn.execute(
            select(packages).where(packages.c.user_id == user_id, packages.c[column] == value)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise DomainError(Err.ERR_SMS_PKG_NOT_FOUND)
    return row
