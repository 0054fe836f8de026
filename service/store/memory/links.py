"""Carrier links and the dispatchers' heartbeats, in memory."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from service.domain.links import Link

if TYPE_CHECKING:
    from service.store.memory import MemoryDatabase


class MemoryLinks:
    """The in-memory twin of SqlLinks."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.table: dict[str, Link] = db.extra.setdefault("carrier_links", {})
        self.db = db

    def listing(self) -> list[Link]:
        """Every link, by priority then name."""
        return sorted(self.table.values(), key=lambda k: (k.priority, k.name))

    def get(self, name: str) -> Link | None:
        """A link by name."""
        return self.table.get(name)

    def add(self, link: Link) -> bool:
        """Insert a link; False when its name is taken."""
        if link.name in self.table:
            return False
        self.table[link.name] = dataclasses.replace(link, id=self.db.next_id("carrier_links"))
        return True

    def update(self, name: str, now: datetime, **values: Any) -> Link | None:
        """Set fields of a link by name; the link, or None when there is none."""
        if name not in self.table:
            return None
        self.table[name] = dataclasses.replace(self.table[name], **values, updated_at=now)
        return self.table[name]

    def remove(self, name: str) -> bool:
        """Delete a link; False when there was none."""
        return self.table.pop(name, None) is not None


class MemoryWorkers:
    """The in-memory twin of SqlWorkers: {worker id: (started, last seen)}."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.table: dict[str, tuple[datetime, datetime]] = db.extra.setdefault("workers", {})

    def beat(self, worker_id: str, host: str, pid: int, now: datetime) -> None:
        """Record that a worker is alive now."""
        started = self.table.get(worker_id, (now, now))[0]
        self.table[worker_id] = (started, now)

    def live(self, since: datetime) -> int:
        """How many workers were seen since then."""
        return sum(1 for _, seen in self.table.values() if seen >= since)

    def leave(self, worker_id: str) -> None:
        """Forget a worker that stops."""
        self.table.pop(worker_id, None)

    def forget_before(self, before: datetime) -> int:
        """Delete the rows of workers not seen since then; how many."""
        gone = [w for w, (_, seen) in self.table.items() if seen < before]
        for worker_id in gone:
            del self.table[worker_id]
        return len(gone)
