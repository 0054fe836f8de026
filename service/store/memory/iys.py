"""İYS settings and consents, in memory (twin of SqlIys)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from service.domain import iys as rules
from service.domain.constants import IysState
from service.domain.iys import CONSENT_TYPE, Consent, ConsentStatus, IysSettings, NewConsent

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase

_PENDING = (int(IysState.WAITING_SYNC), int(IysState.PROCESSING))


class MemoryIys:
    """The in-memory twin of SqlIys; its tables live in MemoryDatabase.extra."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.settings_: dict[int, IysSettings] = db.extra.setdefault("iys_settings", {})
        self.consents: dict[tuple[int, str], Consent] = db.extra.setdefault("iys_consents", {})
        # consent id -> (owner, lease end) of its claim
        self.claims: dict[int, tuple[str, datetime]] = db.extra.setdefault("iys_claims", {})

    def settings(self, user_ids: Sequence[int]) -> dict[int, IysSettings]:
        """The İYS settings of each of these users that has any."""
        return {u: self.settings_[u] for u in user_ids if u in self.settings_}

    def save_settings(
        self, user_id: int, iys_code: str | None, brand_code: str | None, now: datetime
    ) -> None:
        """Set a user's İYS and brand codes."""
        self.settings_[user_id] = IysSettings(user_id, iys_code, brand_code, now)

    def consent(self, user_id: int, recipient: str) -> Consent | None:
        """A user's consent for a recipient (type MESAJ)."""
        return self.consents.get((user_id, recipient))

    def add_consent(self, new: NewConsent, now: datetime) -> bool:
        """Insert a consent waiting to be synchronised; False when there is one."""
        key = (new.user_id, new.recipient)
        if key in self.consents:
            return False
        self.consents[key] = Consent(
            id=self.db.next_id("iys_consents"),
            user_id=new.user_id,
            recipient=new.recipient,
            type=CONSENT_TYPE,
            last_sync_at=None,
            created_at=now,
            **rules.recorded_fields(new, now),
        )
        return True

    def change_consent(self, new: NewConsent, now: datetime) -> None:
        """Replace a consent's status and origin; it waits to be synchronised again."""
        key = (new.user_id, new.recipient)
        old = self.consents[key]
        self.claims.pop(old.id, None)
        self.consents[key] = dataclasses.replace(old, **rules.recorded_fields(new, now))

    def states(self, user_id: int, numbers: Sequence[str]) -> dict[str, int]:
        """{recipient: İYS state} of the user's consents among these numbers."""
        found = (self.consents.get((user_id, n)) for n in numbers)
        return {c.recipient: c.iys_state for c in found if c is not None}

    def approved(self, user_id: int, numbers: Sequence[str]) -> set[str]:
        """The numbers among these with an approved consent of the user (ONAY, accepted)."""
        found = (self.consents.get((user_id, n)) for n in numbers)
        return {c.recipient for c in found if c is not None and _approved(c)}

    def listing(self, user_id: int, limit: int) -> list[Consent]:
        """A user's newest consents, newest first."""
        rows = [c for c in self.consents.values() if c.user_id == user_id]
        rows.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        return rows[:limit]

    def claim_pending(
        self, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Consent]:
        """Mark up to `limit` consents due for synchronisation PROCESSING for `owner`."""
        due = sorted(
            (c for c in self.consents.values() if self._due(c, now)),
            key=lambda c: (c.next_sync_at or now, c.id),
        )[:limit]
        claimed = []
        for c in due:
            moved = dataclasses.replace(c, iys_state=int(IysState.PROCESSING), updated_at=now)
            self.consents[(c.user_id, c.recipient)] = moved
            self.claims[c.id] = (owner, lease_until)
            claimed.append(moved)
        return sorted(claimed, key=lambda c: c.id)

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
        """Record the outcome of a synchronisation `owner` claimed; False if it lost it."""
        claim = self.claims.get(consent_id)
        found = next((c for c in self.consents.values() if c.id == consent_id), None)
        if claim is None or claim[0] != owner or found is None:
            return False
        if found.iys_state != int(IysState.PROCESSING):
            return False
        del self.claims[consent_id]
        self.consents[(found.user_id, found.recipient)] = dataclasses.replace(
            found,
            iys_state=state,
            last_error=error,
            attempts=attempts,
            next_sync_at=next_sync_at,
            last_sync_at=now,
            updated_at=now,
        )
        return True

    def _due(self, c: Consent, now: datetime) -> bool:
        if c.iys_state not in _PENDING:
            return False
        if c.iys_state == int(IysState.WAITING_SYNC):
            return c.next_sync_at is not None and c.next_sync_at <= now
        claim = self.claims.get(c.id)
        return claim is None or claim[1] < now


def _approved(c: Consent) -> bool:
    return c.status == ConsentStatus.ONAY.value and c.iys_state == int(IysState.ACCEPTED)
