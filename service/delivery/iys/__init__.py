"""İYS clients (the simulator and the HTTP client of İYS's consent API), chosen by
FINSMS_IYS_CLIENT, and the sync pass as the dispatcher's housekeeping runs it."""

from __future__ import annotations

import os
import socket
import threading
import weakref

from service.config import Settings
from service.delivery.iys.http import HttpIysClient
from service.delivery.iys.simulator import SimulatedIys
from service.services import iys
from service.services.iys import IysClient
from service.services.platform import Platform

# One client per platform (its token and connections reused), by id() with a weak
# reference that tells a live platform from a later one that got its id.
_clients: dict[int, tuple[weakref.ref[Platform], IysClient]] = {}
_lock = threading.Lock()
_OWNER = f"{socket.gethostname()}:{os.getpid()}"


def client_for(settings: Settings) -> IysClient:
    """A new İYS client of the kind FINSMS_IYS_CLIENT names."""
    if settings.iys_client == "http":
        return HttpIysClient(
            settings.iys_url,
            settings.iys_username,
            settings.iys_password,
            timezone=settings.timezone,
            timeout=settings.iys_timeout,
        )
    return SimulatedIys(settings.iys_simulator_rules)


def sync(platform: Platform) -> iys.Synced:
    """One sync pass with the platform's İYS client (made once per platform)."""
    with _lock:
        known = _clients.get(id(platform))
        if known is not None and known[0]() is platform:
            client = known[1]
        else:
            for gone in [k for k, (ref, _) in _clients.items() if ref() is None]:
                del _clients[gone]
            client = client_for(platform.settings)
            _clients[id(platform)] = (weakref.ref(platform), client)
    return iys.sync_consents(platform, client, f"{_OWNER}:{id(platform):x}"[:64])
