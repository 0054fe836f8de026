"""Serving with gunicorn: one app per worker process, the dispatcher inside it if embedded."""

from __future__ import annotations

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
        if self.settings.embedded_worker:
            self.cfg.set("post_worker_init", _start_dispatcher)

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
