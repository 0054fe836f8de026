"""Serving with gunicorn: one app per worker process, the dispatcher inside it if embedded.

The worker is gunicorn's gthread worker made fit to face clients directly (the embedded
default has no proxy in front): its own error pages are Node API envelopes, spare
threads read whole requests so that a slow client holds a reader and not the
application, and a worker whose master was killed frees the port at once.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import socket
import sys
import threading
import time
from http import HTTPStatus
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from service.config import Settings
from service.domain.errors import Err

# The status gunicorn chose for a request it could not parse, answered in the envelope
# under the closest domain error (the README lists them); the HTTP status stays.
_PARSE_ERRORS: dict[int, tuple[Err, str]] = {
    400: (Err.ERR_BAD_REQUEST, "Geçersiz HTTP isteği (istek satırı veya başlıklar)."),
    403: (Err.ERR_USER_NOT_AUTHORIZED, "Bu bağlantıdan gelen istek kabul edilmiyor."),
    408: (Err.ERR_BAD_REQUEST, "İstek gövdesi zamanında gelmedi."),
    413: (Err.ERR_REQUEST_TOO_LARGE, "İstek gövdesi çok büyük."),
    414: (Err.ERR_REQUEST_TOO_LARGE, "İstek satırı çok uzun."),
    417: (Err.ERR_BAD_REQUEST, "Expect başlığı desteklenmiyor."),
    431: (Err.ERR_REQUEST_TOO_LARGE, "İstek başlıkları çok büyük."),
    501: (Err.ERR_BAD_REQUEST, "Desteklenmeyen Transfer-Encoding."),
}

# How long an orphaned worker (its master killed) lets requests in flight finish.
ORPHAN_GRACE_SECONDS = 2  # an int: gunicorn's setting takes no float


def error_response(status: int) -> bytes:
    """A whole HTTP response carrying the Node API envelope for a protocol-level error."""
    fallback = (Err.ERR_INTERNAL_SERVER, Err.ERR_INTERNAL_SERVER.message)
    err, message = _PARSE_ERRORS.get(status, fallback)
    wire = {"status": status, "code": err.name, "message": message, "smsCode": err.sms_code}
    body = json.dumps({"err": {**wire, "field": None}, "data": None}, ensure_ascii=False)
    data = body.encode()
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode("latin-1") + data


class _PageCatcher:
    """The client socket, except that what gunicorn writes to it is kept, not sent."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.written = b""

    def sendall(self, data: bytes) -> None:
        """Keep gunicorn's HTML page instead of sending it."""
        self.written += data

    def gettimeout(self) -> float:
        """Non-blocking, so gunicorn writes without toggling the real socket."""
        return 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class FinsmsWorker(ThreadWorker):
    """gthread with envelope error pages, whole requests read before the app, fast orphans."""

    _orphaned = False

    def init_process(self) -> None:
        """Set up the application slots before gunicorn's loop starts."""
        settings: Settings = self.app.settings
        # The pool has threads + read_threads threads; only `threads` run the app at once,
        # which keeps the measured one-thread-per-worker behaviour of the app itself.
        self._app_slots = threading.BoundedSemaphore(settings.threads)
        # Large requests queue among themselves for a slot of their own: small ones (an
        # OTP, a report) never wait behind a second of parsing a huge package.
        self._large_slots = threading.BoundedSemaphore(1)
        self._large_bytes = settings.large_request_bytes
        self._buffering = settings.read_threads > 0
        self._client_timeout = settings.client_timeout
        self._max_body = settings.max_body_bytes
        super().init_process()

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Read the whole body first (in this reader thread), then run the app in a slot."""
        if self._buffering:
            failed = self._buffer_body(req, conn.sock)
            if failed:
                _send(conn.sock, error_response(failed))
                return False
        with self.slots_for(req):
            return super().handle_request(req, conn)

    def slots_for(self, req: Any) -> threading.BoundedSemaphore:
        """The application slots a request takes turns in: large requests have their own."""
        size = _body_size(req)
        if self._large_bytes and size is not None and size > self._large_bytes:
            return self._large_slots
        return self._app_slots

    def _buffer_body(self, req: Any, sock: socket.socket) -> int | None:
        """Replace req.body by its bytes in memory; the status to answer when it cannot be."""
        length = _content_length(req)
        if length is not None and length > self._max_body:
            return None  # the app answers 413 without reading it
        chunks: list[bytes] = []
        size = 0
        # Like nginx's client_body_timeout: the longest silence between two reads.
        sock.settimeout(self._client_timeout)
        try:
            while data := req.body.read(65536):
                size += len(data)
                if size > self._max_body:
                    return 413  # chunked, no length announced: too large as it arrives
                chunks.append(data)
        except TimeoutError:
            return 408
        finally:
            sock.settimeout(None)
        req.body = io.BytesIO(b"".join(chunks))
        req.finsms_body_size = size
        return None

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's classification and log line, answered in the envelope instead of HTML."""
        catcher = _PageCatcher(client)
        super().handle_error(req, catcher, addr, exc)
        try:
            status = int(catcher.written.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 500
        _send(client, error_response(status))

    def is_parent_alive(self) -> bool:
        """False once the master is gone; then the port is released at once."""
        if super().is_parent_alive():
            return True
        # Nothing will stop this worker now, and a replacement server is waiting for the
        # port: stop listening before finishing what is in flight, and do that briefly.
        self._orphaned = True
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()
        self.cfg.set("graceful_timeout", ORPHAN_GRACE_SECONDS)
        return False

    def run(self) -> None:
        """gunicorn's loop; an orphan then exits without waiting for threads stuck on clients."""
        try:
            super().run()
        finally:
            if self._orphaned:
                # Threads still blocked on slow clients would keep the process alive
                # at interpreter exit (the pool's threads are joined): leave now.
                self.log.info("Master gone: worker %s exits", self.pid)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)


def _body_size(req: Any) -> int | None:
    """The request body's size: as read by a reader thread, else as announced."""
    size: int | None = getattr(req, "finsms_body_size", None)
    return size if size is not None else _content_length(req)


def _content_length(req: Any) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            return int(value)  # gunicorn has already checked it is a number
    return None


def _send(client: Any, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the client is gone; nothing to tell it
        util.write_nonblock(client, data)


class FinsmsServer(BaseApplication):
    """gunicorn running create_app(settings) in every worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Bind, workers and hooks from our settings."""
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", self.settings.workers)
        self.cfg.set("worker_class", "service.server.FinsmsWorker")
        # The large-request lane's slot runs on a pool thread too.
        large = 1 if self.settings.large_request_bytes else 0
        self.cfg.set("threads", self.settings.threads + self.settings.read_threads + large)
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
    from service.delivery.webhooks import WebhookSender

    worker.wsgi.webhooks = WebhookSender(platform)  # delivery reports to push URLs
    worker.wsgi.webhooks.start()


class PortBusy(RuntimeError):
    """The port stayed in use for the whole of FINSMS_BIND_WAIT."""


def wait_for_port(host: str, port: int, seconds: float) -> None:
    """Return once host:port can be bound; retry with backoff for at most `seconds`.

    After the master of an earlier server is killed, its workers may hold the port a
    little longer; gunicorn alone gives up after five one-second tries."""
    deadline = time.monotonic() + seconds
    delay = 0.1
    while _in_use(host, port):
        left = deadline - time.monotonic()
        if left <= 0:
            raise PortBusy(f"{host}:{port} still in use after {seconds:g} s (FINSMS_BIND_WAIT)")
        print(
            f"finsms: {host}:{port} is in use (an earlier server still stopping?); "
            f"waiting up to {left:.1f} s more",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(min(delay, left))
        delay = min(delay * 2, 2.0)


def _in_use(host: str, port: int) -> bool:
    """Whether binding host:port as gunicorn does (SO_REUSEADDR) fails with EADDRINUSE."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            # Any other reason (no such address, no permission) is gunicorn's to report.
            return error.errno == errno.EADDRINUSE
    return False


def serve(settings: Settings) -> None:
    """Wait for the port, then run gunicorn in the foreground."""
    wait_for_port(settings.host, settings.port, settings.bind_wait)
    FinsmsServer(settings).run()
