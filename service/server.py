"""Serving with gunicorn: one app per worker process, the dispatcher inside it if embedded."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from service.config import Settings


class FinsmsServer(BaseApplication):
    """gunicorn running create_app(settings) in every worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Bind, workers and hooks from our settings."""
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", self.settings.workers)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self.settings.threads)
        self.cfg.set("accesslog", None)
        self._control_socket()
        if self.settings.embedded_worker:
            self.cfg.set("post_worker_init", _start_dispatcher)

    def _control_socket(self) -> None:
        # gunicorn 25.1+ opens a control socket (for `gunicornc`) at one default path per
        # user, $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl: a second
        # instance on the host replaced the first one's, and stopping either deleted the
        # other's. One path per bind address keeps gunicornc usable: no two live servers
        # share an address, and a socket left by a crashed one is replaced at the next
        # start on that address. (Turning it off would have lost gunicornc altogether.)
        if "control_socket" not in self.cfg.settings:  # gunicorn before 25.1
            return
        folder = os.path.dirname(self.cfg.settings["control_socket"].default)
        name = f"finsms-{self.settings.host}-{self.settings.port}.ctl"
        self.cfg.set("control_socket", os.path.join(folder, name))

    def load(self) -> Any:
        """The WSGI app, built after the fork so no connection is shared between workers."""
        from service.app import create_app

        return create_app(self.settings)


def _start_dispatcher(worker: Any) -> None:
    from service.delivery.carriers.registry import make_dispatcher

    platform = worker.wsgi.platform
    dispatcher = make_dispatcher(platform)
    dispatcher.start()
    worker.wsgi.dispatcher = dispatcher


def serve(settings: Settings) -> None:
    """Run gunicorn in the foreground."""
    FinsmsServer(settings).run()
