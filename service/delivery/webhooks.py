"""The webhook sender: posts delivery reports from the outbox to customers' push URLs.

An adapter, beside the dispatcher: the service (service.services.webhooks) decides what is
due and what an outcome means; this moves bytes. Deliveries run on a bounded pool, at
most `webhook_per_endpoint` at a time to one host:port, so one slow or dead endpoint holds
a couple of threads, never the others' reports; a busy endpoint's rows go back to the
table (deferred a second), and a failed one's wait out its backoff there.

Every request is signed (Standard Webhooks: webhook-id, webhook-timestamp,
webhook-signature). The host is resolved once per attempt and every address checked (see
service.domain.webhooks.address_allowed); the connection goes to the checked address
(PinnedTransport) while Host and TLS SNI/certificate checks keep the name, so a DNS
answer cannot change between the check and the connect. Redirects are not followed;
answers are read up to MAX_RESPONSE_BYTES.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from service.domain import webhooks as hooks
from service.domain.errors import DomainError
from service.domain.webhooks import Delivery, IpAddress, IpNetwork
from service.services import webhooks as service
from service.services.platform import Platform

log = logging.getLogger("finsms.webhooks")
MAX_RESPONSE_BYTES = 64 * 1024
# Seconds a busy endpoint's claimed rows wait before they are claimed again.
BUSY_DEFER = 1.0
Resolver = Callable[[str, int], Sequence[str]]


class Refused(httpx.TransportError):
    """The URL's host resolves to an address webhooks may not reach."""


def resolve(host: str, port: int) -> list[str]:
    """Every address of a host name (one lookup)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport that resolves the host, refuses it unless every address is
    allowed, and connects to the first address checked, keeping Host and SNI."""

    def __init__(
        self,
        allowed: Sequence[IpNetwork],
        resolver: Resolver = resolve,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self.resolver = resolver
        # No keep-alive: connections are pooled by address, and two names on one address
        # must not share a TLS session made for the other's name.
        self.inner = inner or httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check, pin, send."""
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = self.checked_address(host, port)
        request.url = request.url.copy_with(host=str(address))
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self.inner.handle_request(request)

    def checked_address(self, host: str, port: int) -> IpAddress:
        """The address to connect to; Refused if any address of the host is not allowed
        (a name with one private answer among public ones is refused as a whole)."""
        literal = hooks.literal_address(host)
        try:
            found = [str(literal)] if literal else list(self.resolver(host, port))
        except OSError as error:
            raise httpx.ConnectError(f"cannot resolve {host}: {error}") from None
        addresses = [hooks.literal_address(a.split("%")[0]) for a in found]
        if not addresses or any(a is None for a in addresses):
            raise Refused(f"{host} has no usable address")
        checked = [a for a in addresses if a is not None]
        for address in checked:
            if not hooks.address_allowed(address, self.allowed):
                raise Refused(f"{host} resolves to {address}, not allowed")
        return checked[0]

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


def make_client(platform: Platform, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client of the sender: bounded timeouts, no redirects, pinned addresses."""
    settings = platform.settings
    allowed = hooks.parse_networks(settings.webhook_allow_networks)
    timeout = httpx.Timeout(
        connect=settings.webhook_connect_timeout,
        read=settings.webhook_read_timeout,
        write=settings.webhook_read_timeout,
        pool=settings.webhook_connect_timeout,
    )
    return httpx.Client(
        transport=transport or PinnedTransport(allowed),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": "FinSMS-Webhooks/1"},
    )


def post(client: httpx.Client, delivery: Delivery, timestamp: int) -> service.Outcome:
    """One signed attempt; delivered on a 2xx answer, else the reason."""
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": hooks.sign(delivery.secret, delivery.msg_id, timestamp, delivery.body),
    }
    try:
        hooks.target_of(delivery.url)  # a URL stored before creation checked it
        with client.stream("POST", delivery.url, content=delivery.body, headers=headers) as answer:
            _drain(answer)
            status = answer.status_code
    except Refused as error:
        return service.Outcome(delivery.id, False, f"refused: {error}")
    except httpx.TimeoutException as error:
        return service.Outcome(delivery.id, False, f"timeout: {type(error).__name__}")
    except httpx.HTTPError as error:
        return service.Outcome(delivery.id, False, f"{type(error).__name__}: {error}")
    except DomainError as error:
        return service.Outcome(delivery.id, False, f"bad URL: {error.detail}")
    if 200 <= status < 300:
        return service.Outcome(delivery.id, True)
    if 300 <= status < 400:
        return service.Outcome(delivery.id, False, f"HTTP {status} (redirects are not followed)")
    return service.Outcome(delivery.id, False, f"HTTP {status}")


def _drain(answer: httpx.Response) -> None:
    """Read at most MAX_RESPONSE_BYTES of an answer, so a receiver cannot feed us
    forever; the status is what counts."""
    read = 0
    for chunk in answer.iter_raw():
        read += len(chunk)
        if read >= MAX_RESPONSE_BYTES:
            break


class WebhookSender:
    """Claims due webhooks and posts them on a bounded pool of threads."""

    def __init__(
        self,
        platform: Platform,
        *,
        client: httpx.Client | None = None,
        owner: str | None = None,
        jitter: Callable[[], float] = random.random,
        poll_interval: float = 0.5,
        timestamp: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        settings = platform.settings
        self.platform = platform
        self.client = client or make_client(platform)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:hooks-{uuid.uuid4().hex[:6]}"
        self.jitter = jitter
        self.poll_interval = poll_interval
        self.timestamp = timestamp
        self.capacity = settings.webhook_concurrency
        self.per_endpoint = settings.webhook_per_endpoint
        self._pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="finsms-webhook")
        self._busy: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Claim what the pool has room for and start sending it; how many started."""
        with self._lock:
            free = self.capacity - sum(self._busy.values())
        claimed = service.claim(self.platform, self.owner, free)
        started, busy = [], []
        for delivery in claimed:
            with self._lock:
                if self._busy[delivery.endpoint] >= self.per_endpoint:
                    busy.append(delivery.id)
                    continue
                self._busy[delivery.endpoint] += 1
            started.append(self._pool.submit(self._attempt, delivery))
        if busy:
            service.release(self.platform, self.owner, busy, BUSY_DEFER)
        return len(started)

    def drain(self, max_passes: int = 1000) -> None:
        """Send until nothing is due now and nothing is in flight (tests, one-shot runs)."""
        for _ in range(max_passes):
            started = self.run_once()
            with self._lock:
                in_flight = sum(self._busy.values())
            if not started and not in_flight:
                return
            self._wake.wait(0.05)
            self._wake.clear()

    def _attempt(self, delivery: Delivery) -> None:
        try:
            outcome = post(self.client, delivery, self.timestamp())
            if not outcome.delivered:
                log.info("webhook %s failed: %s", delivery.msg_id, outcome.error)
            service.finish(self.platform, self.owner, [outcome], self.jitter)
        except Exception:  # the lease brings the row back; keep the thread alive
            log.exception("webhook %s: recording the attempt failed", delivery.msg_id)
        finally:
            with self._lock:
                self._busy[delivery.endpoint] -= 1
                if not self._busy[delivery.endpoint]:
                    del self._busy[delivery.endpoint]
            self._wake.set()

    def start(self) -> None:
        """Run in a background thread until stop()."""
        self._thread = threading.Thread(target=self._loop, name="finsms-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, wait a little for attempts in flight, close the client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                started = self.run_once()
            except Exception:
                log.exception("webhook pass failed")
                started = 0
            if not started:
                self._wake.wait(self.poll_interval)
            self._wake.clear()
