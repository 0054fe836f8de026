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

# One client per platform (its token and connections reused), gone with the platform: an
# id() could be reused by a later platform with other settings.
_clients: weakref.WeakKeyDictionary[Platform, IysClient] = weakref.WeakKeyDictionary()
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
        client = _clients.get(platform)
        if client is None:
            client = _clients[platform] = client_for(platform.settings)
    return iys.sync_consents(platform, client, f"{_OWNER}:{id(platform):x}"[:64])
