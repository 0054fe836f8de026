"""The webhook outbox and signing secrets in SQL.

Settlement writes a package's newly final items to the outbox in its own transaction
(`settled_items` marks them `pushed` and returns them in one statement, so two settlers
never report an item twice); the sender claims due rows with SKIP LOCKED on PostgreSQL,
so several workers share the outbox, and writes each attempt's outcome fenced by its
claim. The in-memory twin is service.store.memory.webhooks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from service.domain.packages import FINAL_ITEM_STATES
from service.domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Claimed,
    NewReport,
    OutboxRow,
    PushPackage,
    SettledItem,
)
from service.store.schema import items, packages, users, webhook_outbox, webhook_secrets

_IN_CHUNK = 1000
_ids: Any = bindparam("b_ids", expanding=True)
_OUT = webhook_outbox.c

_PUSHABLE = (
    select(
        packages.c.id,
        packages.c.uuid,
        packages.c.user_id,
        users.c.uuid.label("user_uuid"),
        packages.c.custom_id,
        packages.c.title,
        packages.c.state,
        packages.c.push_url,
        packages.c.parts,
        packages.c.credit,
        packages.c.recipients,
        packages.c.invalid_count,
    )
    .join(users, users.c.id == packages.c.user_id)
    .where(packages.c.id.in_(_ids), packages.c.push_url.isnot(None))
)
_TAKE_SETTLED = (
    update(items)
    .where(
        items.c.package_id.in_(_ids),
        items.c.pushed.is_(False),
        items.c.state.in_(sorted(int(s) for s in FINAL_ITEM_STATES)),
    )
    .values(pushed=True)
    .returning(
        items.c.id,
        items.c.package_id,
        items.c.xid,
        items.c.target,
        items.c.state,
        items.c.credit,
        items.c.operator,
        items.c.sending_date,
        items.c.due_at,
        items.c.delivery_date,
        items.c.error,
    )
)
_CLAIMED = (
    _OUT.id,
    _OUT.user_id,
    _OUT.url,
    _OUT.endpoint,
    _OUT.document,
    _OUT.attempts,
    _OUT.created_at,
)
_DUE = _OUT.state == PENDING
_ANY_DUE = select(_OUT.id).where(_DUE, _OUT.next_at <= bindparam("b_now")).limit(1)
_CHOSEN = (
    select(_OUT.id)
    .where(_DUE, _OUT.next_at <= bindparam("b_now"))
    .order_by(_OUT.next_at, _OUT.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
    .cte("due_hooks")
    .prefix_with("MATERIALIZED", dialect="postgresql")
)
# The lease: a claimed row is due again only if its worker died before recording it.
_CLAIM = (
    update(webhook_outbox)
    .where(_OUT.id.in_(select(_CHOSEN.c.id)), _DUE)
    .values(claim_owner=bindparam("b_owner"), next_at=bindparam("b_lease"))
    .returning(*_CLAIMED)
)
_FENCE = (_OUT.id == bindparam("b_id")) & (_OUT.claim_owner == bindparam("b_owner")) & _DUE
_FINISH = (
    update(webhook_outbox)
    .where(_FENCE)
    .values(
        state=bindparam("b_state"),
        attempts=_OUT.attempts + bindparam("b_tried"),
        next_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        sent_at=bindparam("b_sent"),
        claim_owner=None,
    )
)


# Finished webhooks of one state created before b_before, oldest first (ids grow with
# time: the index's order finds them without reading the newer ones).
_FORGET_FINISHED = delete(webhook_outbox).where(
    _OUT.id.in_(
        select(_OUT.id)
        .where(_OUT.state == bindparam("b_state"), _OUT.created_at < bindparam("b_before"))
        .order_by(_OUT.id)
        .limit(bindparam("b_limit"))
        .scalar_subquery()
    )
)


class SqlWebhooks:
    """The webhook outbox and the users' signing secrets, inside one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- written by settlement ---------------------------------------------------------

    def pushable(self, package_ids: Sequence[int]) -> dict[int, PushPackage]:
        """The packages among these that carry a push URL, as their reports show them."""
        return {r.id: PushPackage(*r) for r in self._each(_PUSHABLE, package_ids)}

    def settled_items(self, package_ids: Sequence[int]) -> list[SettledItem]:
        """Mark the final, unreported items of these packages reported; them, by id."""
        found = [SettledItem(*r) for r in self._each(_TAKE_SETTLED, package_ids)]
        return sorted(found, key=lambda i: i.id)

    def enqueue(self, reports: Sequence[NewReport], now: datetime) -> None:
        """Write webhooks to the outbox, due now."""
        if reports:
            self.conn.execute(
                insert(webhook_outbox),
                [
                    {
                        "user_id": r.user_id,
                        "package_id": r.package_id,
                        "url": r.url,
                        "endpoint": r.endpoint,
                        "document": r.document,
                        "state": PENDING,
                        "attempts": 0,
                        "next_at": now,
                        "created_at": now,
                    }
                    for r in reports
                ],
            )

    # --- the sender --------------------------------------------------------------------

    def any_due(self, now: datetime) -> bool:
        """Whether any webhook is due (a read, for idle senders)."""
        return self.conn.execute(_ANY_DUE, {"b_now": now}).first() is not None

    def claim(self, owner: str, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        """Take up to `limit` due webhooks, oldest due first, skipping rows another
        worker holds; they are due again at `lease_until` unless finished before."""
        params = {"b_now": now, "b_limit": limit, "b_owner": owner, "b_lease": lease_until}
        return sorted((Claimed(*r) for r in self.conn.execute(_CLAIM, params)), key=lambda c: c.id)

    def claimed(self, outbox_ids: Sequence[int]) -> list[Claimed]:
        """These outbox rows (as claim returned them), those that exist."""
        query = select(*_CLAIMED).where(_OUT.id.in_(_ids))
        return [Claimed(*r) for r in self._each(query, outbox_ids)]

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
        """Record an attempt's outcome on a row `owner` still holds; False if it doesn't."""
        params = {
            "b_id": outbox_id,
            "b_owner": owner,
            "b_state": state,
            "b_tried": tried,
            "b_next": next_at,
            "b_error": error[:300] if error else None,
            "b_sent": sent_at,
        }
        return bool(self.conn.execute(_FINISH, params).rowcount)

    def defer_endpoint(self, endpoint: str, until: datetime) -> int:
        """Postpone every pending webhook to an endpoint due before `until` (it is down or
        busy): its backlog then waits in the table, not in front of other customers'."""
        statement = (
            update(webhook_outbox)
            .where(_OUT.endpoint == endpoint, _DUE, _OUT.next_at < until)
            .where(_OUT.claim_owner.is_(None))
            .values(next_at=until)
        )
        return int(self.conn.execute(statement).rowcount)

    # --- secrets and listings --------------------------------------------------------------

    def secrets(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The signing secret of each of these users that has one."""
        query = select(webhook_secrets.c.user_id, webhook_secrets.c.secret).where(
            webhook_secrets.c.user_id.in_(_ids)
        )
        return {r.user_id: r.secret for r in self._each(query, user_ids)}

    def set_secret(self, user_id: int, secret: str, now: datetime, *, replace: bool) -> str:
        """Give a user a secret (replacing its old one only if `replace`); the secret the
        user has now."""
        current = self.secrets([user_id]).get(user_id)
        if current is None:
            values = {"user_id": user_id, "secret": secret, "created_at": now}
            self.conn.execute(insert(webhook_secrets), values)
            return secret
        if replace:
            self.conn.execute(
                update(webhook_secrets)
                .where(webhook_secrets.c.user_id == user_id)
                .values(secret=secret, created_at=now)
            )
            return secret
        return current

    def listing(self, states: Sequence[int], user_id: int | None, limit: int) -> list[OutboxRow]:
        """The newest outbox rows in these states (of one user if given)."""
        query: Any = (
            select(
                _OUT.id,
                _OUT.user_id,
                _OUT.package_id,
                _OUT.url,
                _OUT.state,
                _OUT.attempts,
                _OUT.next_at,
                _OUT.last_error,
                _OUT.created_at,
                _OUT.sent_at,
            )
            .where(_OUT.state.in_(list(states)))
            .order_by(_OUT.id.desc())
            .limit(limit)
        )
        if user_id is not None:
            query = query.where(_OUT.user_id == user_id)
        return [OutboxRow(*r) for r in self.conn.execute(query)]

    def forget_finished(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` delivered or failed webhooks created before `before`;
        how many (oldest first: by id, through ix_webhook_outbox_state_id)."""
        forgotten = 0
        for state in (DELIVERED, FAILED):
            params = {"b_state": state, "b_before": before, "b_limit": limit - forgotten}
            forgotten += int(self.conn.execute(_FORGET_FINISHED, params).rowcount)
            if forgotten >= limit:
                break
        return forgotten

    def _each(self, statement: Any, values: Sequence[int]) -> Iterator[Any]:
        """The rows of a statement over a list (`b_ids`) of any length, a chunk at a time."""
        for offset in range(0, len(values), _IN_CHUNK):
            chunk = list(values[offset : offset + _IN_CHUNK])
            yield from self.conn.execute(statement, {"b_ids": chunk})
