"""The webhook outbox and signing secrets in memory: the twin of SqlWebhooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.packages import FINAL_ITEM_STATES
from service.domain.webhooks import (
    PENDING,
    Claimed,
    NewReport,
    OutboxRow,
    PushPackage,
    SettledItem,
)

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryWebhooks:
    """Outbox rows and secrets kept in MemoryDatabase.extra."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.pushed: set[int] = db.extra.setdefault("pushed_items", set())
        self.outbox: dict[int, OutboxRow] = db.extra.setdefault("webhook_outbox", {})
        self.extra: dict[int, dict[str, Any]] = db.extra.setdefault("webhook_outbox_extra", {})
        self.keys: dict[int, str] = db.extra.setdefault("webhook_secrets", {})

    def pushable(self, package_ids: Sequence[int]) -> dict[int, PushPackage]:
        """The packages among these that carry a push URL."""
        found = {}
        for package_id in package_ids:
            p = self.db.packages.get(package_id)
            if p is None or p.push_url is None:
                continue
            user = self.db.users[p.user_id]
            found[p.id] = PushPackage(
                p.id, p.uuid, p.user_id, user.uuid, p.custom_id, p.title, p.state,
                p.push_url, p.parts, p.credit, p.recipients, p.invalid_count,
            )  # fmt: skip
        return found

    def settled_items(self, package_ids: Sequence[int]) -> list[SettledItem]:
        """Mark the final, unreported items of these packages reported; them, by id."""
        wanted = set(package_ids)
        found = []
        for i in sorted(self.db.items.values(), key=lambda i: i.id):
            if i.package_id in wanted and i.id not in self.pushed and i.state in FINAL_ITEM_STATES:
                self.pushed.add(i.id)
                fields = (i.id, i.package_id, i.xid, i.target, i.state, i.credit, i.operator)
                dates = (i.sending_date, i.due_at, i.delivery_date)
                found.append(SettledItem(*fields, *dates, i.error))
        return found

    def enqueue(self, reports: Sequence[NewReport], now: datetime) -> None:
        """Write webhooks to the outbox, due now."""
        for r in reports:
            row_id = self.db.next_id("webhook_outbox")
            self.outbox[row_id] = OutboxRow(
                row_id, r.user_id, r.package_id, r.url, PENDING, 0, now, None, now, None
            )
            self.extra[row_id] = {"endpoint": r.endpoint, "document": r.document, "owner": None}

    def any_due(self, now: datetime) -> bool:
        """Whether any webhook is due."""
        return any(r.state == PENDING and r.next_at <= now for r in self.outbox.values())

    def claim(self, owner: str, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        """Take up to `limit` due webhooks, oldest due first."""
        due = [r for r in self.outbox.values() if r.state == PENDING and r.next_at <= now]
        chosen = sorted(due, key=lambda r: (r.next_at, r.id))[:limit]
        for r in chosen:
            self.outbox[r.id] = dataclasses.replace(r, next_at=lease_until)
            self.extra[r.id]["owner"] = owner
        return [self._claimed(self.outbox[r.id]) for r in sorted(chosen, key=lambda r: r.id)]

    def claimed(self, outbox_ids: Sequence[int]) -> list[Claimed]:
        """These outbox rows (as claim returned them), those that exist."""
        return [self._claimed(self.outbox[i]) for i in outbox_ids if i in self.outbox]

    def _claimed(self, r: OutboxRow) -> Claimed:
        extra = self.extra[r.id]
        return Claimed(
            r.id, r.user_id, r.url, extra["endpoint"], extra["document"], r.attempts, r.created_at
        )

    def finish(
        self,
        owner: str,
        outbox_id: int,
        *,
        state: int,
        tried: int,
        next_at: datetime,
        error: str | None,
        sent_at: datetime | None,
    ) -> bool:
        """Record an attempt's outcome on a row `owner` still holds."""
        row = self.outbox.get(outbox_id)
        if row is None or row.state != PENDING or self.extra[outbox_id]["owner"] != owner:
            return False
        self.outbox[outbox_id] = dataclasses.replace(
            row,
            state=state,
            attempts=row.attempts + tried,
            next_at=next_at,
            last_error=error[:300] if error else None,
            sent_at=sent_at,
        )
        self.extra[outbox_id]["owner"] = None
        return True

    def defer_endpoint(self, endpoint: str, until: datetime) -> int:
        """Postpone the unclaimed pending webhooks to an endpoint due before `until`."""
        moved = 0
        for row_id, row in list(self.outbox.items()):
            extra = self.extra[row_id]
            if (
                extra["endpoint"] == endpoint
                and row.state == PENDING
                and row.next_at < until
                and extra["owner"] is None
            ):
                self.outbox[row_id] = dataclasses.replace(row, next_at=until)
                moved += 1
        return moved

    def secrets(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The signing secret of each of these users that has one."""
        return {u: self.keys[u] for u in user_ids if u in self.keys}

    def set_secret(self, user_id: int, secret: str, now: datetime, *, replace: bool) -> str:
        """Give a user a secret (replacing an old one only if `replace`)."""
        if user_id not in self.keys or replace:
            self.keys[user_id] = secret
        return self.keys[user_id]

    def listing(self, states: Sequence[int], user_id: int | None, limit: int) -> list[OutboxRow]:
        """The newest outbox rows in these states (of one user if given)."""
        rows = [
            r
            for r in self.outbox.values()
            if r.state in states and (user_id is None or r.user_id == user_id)
        ]
        return sorted(rows, key=lambda r: -r.id)[:limit]

    def forget_finished(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` delivered or failed webhooks created before `before`."""
        old = [
            row_id
            for row_id, row in sorted(self.outbox.items())
            if row.state != PENDING and row.created_at < before
        ][:limit]
        for row_id in old:
            del self.outbox[row_id]
            del self.extra[row_id]
        return len(old)
