"""İYS settings and consents, in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.domain import iys as rules
from service.domain.constants import IysState
from service.domain.iys import CONSENT_TYPE, Consent, ConsentStatus, IysSettings, NewConsent
from service.store.schema import iys_consents, iys_settings

_DIALECTS: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}
_CONSENT = [c for c in iys_consents.c if c.name not in ("claimed_by", "claimed_until")]
_PENDING = (int(IysState.WAITING_SYNC), int(IysState.PROCESSING))


class SqlIys:
    """The iys_* tables."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- settings ---------------------------------------------------------------------

    def settings(self, user_ids: Sequence[int]) -> dict[int, IysSettings]:
        """The İYS settings of each of these users that has any."""
        if not user_ids:
            return {}
        rows = self.conn.execute(
            select(
                iys_settings.c.user_id,
                iys_settings.c.iys_code,
                iys_settings.c.brand_code,
                iys_settings.c.updated_at,
            ).where(iys_settings.c.user_id.in_(sorted(set(user_ids))))
        ).mappings()
        return {int(r["user_id"]): IysSettings(**r) for r in rows}

    def save_settings(
        self, user_id: int, iys_code: str | None, brand_code: str | None, now: datetime
    ) -> None:
        """Set a user's İYS and brand codes (inserting its row the first time)."""
        values = {"iys_code": iys_code, "brand_code": brand_code, "updated_at": now}
        stmt = self._insert(iys_settings).values(user_id=user_id, created_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[iys_settings.c.user_id], set_=values)
        self.conn.execute(stmt)

    # --- consents ---------------------------------------------------------------------

    def consent(self, user_id: int, recipient: str) -> Consent | None:
        """A user's consent for a recipient (type MESAJ)."""
        row = (
            self.conn.execute(select(*_CONSENT).where(*_key(user_id, recipient))).mappings().first()
        )
        return None if row is None else Consent(**row)

    def add_consent(self, new: NewConsent, now: datetime) -> bool:
        """Insert a consent waiting to be synchronised; False when the user has one for the
        recipient already (a concurrent insert too)."""
        values = {
            **rules.recorded_fields(new, now),
            "user_id": new.user_id,
            "recipient": new.recipient,
        }
        stmt = self._insert(iys_consents).values(type=CONSENT_TYPE, created_at=now, **values)
        stmt = stmt.on_conflict_do_nothing().returning(iys_consents.c.id)
        return self.conn.execute(stmt).scalar() is not None

    def change_consent(self, new: NewConsent, now: datetime) -> None:
        """Replace a consent's status and origin; it waits to be synchronised again, and a
        synchronisation of its former status in flight is fenced out."""
        self.conn.execute(
            update(iys_consents)
            .where(*_key(new.user_id, new.recipient))
            .values(claimed_by=None, claimed_until=None, **rules.recorded_fields(new, now))
        )

    def states(self, user_id: int, numbers: Sequence[str]) -> dict[str, int]:
        """{recipient: İYS state} of the user's consents among these numbers."""
        if not numbers:
            return {}
        query = select(iys_consents.c.recipient, iys_consents.c.iys_state).where(
            iys_consents.c.user_id == user_id,
            iys_consents.c.type == CONSENT_TYPE,
            self._among(iys_consents.c.recipient, numbers),
        )
        return {r: int(s) for r, s in self.conn.execute(query, {"numbers": self._list(numbers)})}

    def approved(self, user_id: int, numbers: Sequence[str]) -> set[str]:
        """The numbers among these with an approved consent of the user (ONAY, accepted)."""
        if not numbers:
            return set()
        query = select(iys_consents.c.recipient).where(
            iys_consents.c.user_id == user_id,
            iys_consents.c.type == CONSENT_TYPE,
            iys_consents.c.status == ConsentStatus.ONAY.value,
            iys_consents.c.iys_state == int(IysState.ACCEPTED),
            self._among(iys_consents.c.recipient, numbers),
        )
        return set(self.conn.execute(query, {"numbers": self._list(numbers)}).scalars())

    def listing(self, user_id: int, limit: int) -> list[Consent]:
        """A user's newest consents, newest first."""
        rows = self.conn.execute(
            select(*_CONSENT)
            .where(iys_consents.c.user_id == user_id)
            .order_by(iys_consents.c.updated_at.desc(), iys_consents.c.id.desc())
            .limit(limit)
        ).mappings()
        return [Consent(**r) for r in rows]

    # --- synchronisation --------------------------------------------------------------

    def claim_pending(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Consent]:
        """Mark up to `limit` consents due for synchronisation PROCESSING for `owner`:
        waiting ones whose time has come, and processing ones whose claim expired. Rows
        another transaction holds are skipped (PostgreSQL), never waited for."""
        due = or_(
            and_(
                iys_consents.c.iys_state == int(IysState.WAITING_SYNC),
                iys_consents.c.next_sync_at <= now,
            ),
            and_(
                iys_consents.c.iys_state == int(IysState.PROCESSING),
                iys_consents.c.claimed_until < now,
            ),
        )
        chosen = (
            select(iys_consents.c.id)
            .where(iys_consents.c.iys_state.in_(_PENDING), due)
            .order_by(iys_consents.c.next_sync_at, iys_consents.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        rows = self.conn.execute(
            update(iys_consents)
            .where(iys_consents.c.id.in_(select(chosen.c.id)), due)
            .values(
                iys_state=int(IysState.PROCESSING),
                claimed_by=owner,
                claimed_until=lease_until,
                updated_at=now,
            )
            .returning(*_CONSENT)
        ).mappings()
        return sorted((Consent(**r) for r in rows), key=lambda c: c.id)

    def finish_sync(
        self,
        owner: str,
        consent_id: int,
        state: int,
        error: str | None,
        attempts: int,
        next_sync_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record the outcome of a synchronisation `owner` claimed; False when the claim
        was lost (the consent changed meanwhile, or another worker took it over)."""
        result = self.conn.execute(
            update(iys_consents)
            .where(
                iys_consents.c.id == consent_id,
                iys_consents.c.claimed_by == owner,
                iys_consents.c.iys_state == int(IysState.PROCESSING),
            )
            .values(
                iys_state=state,
                last_error=error,
                attempts=attempts,
                next_sync_at=next_sync_at,
                last_sync_at=now,
                claimed_by=None,
                claimed_until=None,
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    def _insert(self, table: Any) -> Any:
        return _DIALECTS[self.conn.dialect.name].insert(table)

    def _among(self, column: Any, numbers: Sequence[str]) -> Any:
        # One parameter however many numbers: 100,000 bound values would exceed both
        # databases' limits (SQLite 32,766, PostgreSQL 65,535) and cost more to bind.
        if self.conn.dialect.name == "postgresql":
            return column == any_(bindparam("numbers", type_=postgresql.ARRAY(String)))
        values = func.json_each(bindparam("numbers", type_=String)).table_valued("value")
        return column.in_(select(values.c.value))

    def _list(self, numbers: Sequence[str]) -> Any:
        unique = list(dict.fromkeys(numbers))
        return unique if self.conn.dialect.name == "postgresql" else json.dumps(unique)


def _key(user_id: int, recipient: str) -> tuple[Any, ...]:
    return (
        iys_consents.c.user_id == user_id,
        iys_consents.c.recipient == recipient,
        iys_consents.c.type == CONSENT_TYPE,
    )
