"""Carrier links and the dispatchers' heartbeats, in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.domain.links import Link, dump_options, load_options
from service.store.errors import is_unique_violation
from service.store.schema import carrier_links, workers


def _link(row: Any) -> Link:
    return Link(
        id=int(row["id"]),
        name=row["name"],
        kind=row["kind"],
        options=load_options(row["options"]),
        operators=tuple(filter(None, row["operators"].split(","))),
        priority=int(row["priority"]),
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Record fields as columns: options as JSON text, operators comma-separated."""
    out = dict(values)
    if "options" in out:
        out["options"] = dump_options(out["options"])
    if "operators" in out:
        out["operators"] = ",".join(out["operators"])
    return out


class SqlLinks:
    """The carrier_links table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def listing(self) -> list[Link]:
        """Every link, by priority then name."""
        query = select(carrier_links).order_by(carrier_links.c.priority, carrier_links.c.name)
        return [_link(r) for r in self.conn.execute(query).mappings()]

    def get(self, name: str) -> Link | None:
        """A link by name."""
        query = select(carrier_links).where(carrier_links.c.name == name)
        row = self.conn.execute(query).mappings().first()
        return None if row is None else _link(row)

    def add(self, link: Link) -> bool:
        """Insert a link; False when its name is taken."""
        values = _columns(
            {k: getattr(link, k) for k in ("name", "kind", "options", "operators", "priority")}
        )
        values.update(enabled=link.enabled, created_at=link.created_at, updated_at=link.updated_at)
        try:
            with self.conn.begin_nested():
                self.conn.execute(insert(carrier_links).values(**values))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return False
        return True

    def update(self, name: str, now: datetime, **values: Any) -> Link | None:
        """Set fields of a link by name; the link, or None when there is none."""
        row = (
            self.conn.execute(
                update(carrier_links)
                .where(carrier_links.c.name == name)
                .values(**_columns(values), updated_at=now)
                .returning(*carrier_links.c)
            )
            .mappings()
            .first()
        )
        return None if row is None else _link(row)

    def remove(self, name: str) -> bool:
        """Delete a link; False when there was none."""
        result = self.conn.execute(delete(carrier_links).where(carrier_links.c.name == name))
        return bool(result.rowcount)


class SqlWorkers:
    """The workers table: one heartbeat row per dispatcher process."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def beat(self, worker_id: str, host: str, pid: int, now: datetime) -> None:
        """Record that a worker is alive now (its row made on the first beat)."""
        seen = update(workers).where(workers.c.id == worker_id).values(last_seen=now)
        if self.conn.execute(seen).rowcount:
            return
        row = dict(id=worker_id, host=host, pid=pid, started_at=now, last_seen=now)
        self.conn.execute(insert(workers).values(**row))

    def live(self, since: datetime) -> int:
        """How many workers were seen since then."""
        query = select(func.count()).select_from(workers).where(workers.c.last_seen >= since)
        return int(self.conn.execute(query).scalar_one())

    def leave(self, worker_id: str) -> None:
        """Forget a worker that stops."""
        self.conn.execute(delete(workers).where(workers.c.id == worker_id))

    def forget_before(self, before: datetime) -> int:
        """Delete the rows of workers not seen since then; how many."""
        return int(self.conn.execute(delete(workers).where(workers.c.last_seen < before)).rowcount)
