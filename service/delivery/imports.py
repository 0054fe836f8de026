"""Contact imports in the background: a thread per process that takes pending imports,
started (at most every POKE_SECONDS) by the dispatcher's settle pass, so that both
`finsms worker` and the dispatcher embedded in `finsms serve` process them.

The import itself runs in its own thread so that a million-row import (a minute) never
holds up the dispatcher's sending or settling; claims are conditional updates, so any
number of processes may run this side by side.
"""

from __future__ import annotations

import logging
import threading
import time

from service.services import imports
from service.services.platform import Platform

log = logging.getLogger("finsms.imports")
POKE_SECONDS = 1.0

_lock = threading.Lock()
_running: dict[int, threading.Thread] = {}  # by id(platform)
_last_poke: dict[int, float] = {}


def poke(platform: Platform, owner: str, stop: threading.Event) -> None:
    """Start this process's import thread for `platform` unless it runs or was started
    within POKE_SECONDS; cheap enough to call on every dispatcher pass."""
    key = id(platform)
    now = time.monotonic()
    with _lock:
        thread = _running.get(key)
        if (thread is not None and thread.is_alive()) or now - _last_poke.get(
            key, 0.0
        ) < POKE_SECONDS:
            return
        _last_poke[key] = now
        thread = threading.Thread(
            target=_run, args=(platform, owner, stop), name="finsms-imports", daemon=True
        )
        _running[key] = thread
    thread.start()


def _run(platform: Platform, owner: str, stop: threading.Event) -> None:
    """Process imports until none is left to claim (or the dispatcher stops)."""
    try:
        while not stop.is_set() and imports.run_next(platform, owner) is not None:
            pass
    except Exception:  # a database hiccup: the next poke tries again
        log.exception("contact import pass failed")
