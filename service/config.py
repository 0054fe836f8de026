"""One Settings object, read from FINSMS_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

import limits

from service.domain.webhooks import parse_networks


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FINSMS_{name}", default)


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """A setting with a value FinSMS cannot run with; names the environment variable."""


# Lower bounds of numeric settings: a zero batch made the dispatcher spin on the database,
# a zero poll interval too; these fail at start, naming the variable, instead.
_AT_LEAST: dict[str, float] = {
    "webhook_keep_days": 1,
    "port": 1,
    "workers": 1,
    "threads": 1,
    "read_threads": 0,
    "large_request_bytes": 0,
    "client_timeout": 0.1,
    "bind_wait": 0,
    "claim_batch": 1,
    "bulk_senders": 0,
    "lease_seconds": 1,
    "max_message_parts": 1,
    "max_body_bytes": 1,
    "auth_fail_limit": 1,
    "auth_fail_window": 1,
    "auth_account_fail_limit": 0,
    "auth_known_address_days": 1,
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "trusted_proxies": 0,
    "auth_cache_seconds": 0,
    "auth_revalidate_seconds": 0,
    "batch_wait": 0,
    "simulator_report_delay": 0,
    "poll_interval": 0.001,
    "link_reload_seconds": 0.01,
    "webhook_concurrency": 1,
    "webhook_per_endpoint": 1,
    "webhook_connect_timeout": 0.1,
    "webhook_read_timeout": 0.1,
    "webhook_retry_hours": 0,
    "webhook_lease_seconds": 1,
    "kvkk_link_days": 1,
    "iys_timeout": 0.1,
    "apikey_grace_hours": 0,
}


# What an OTP's trustDate does on a link without a SIM-change check (see README).
TRUST_DATE_UNCHECKED = ("refuse", "send")
IYS_CLIENTS = ("simulator", "http")


@dataclass(frozen=True)
class Settings:
    """Every setting of a FinSMS process; `from_env` reads FINSMS_<NAME>."""

    database_url: str = "sqlite:///finsms.db"
    host: str = "0.0.0.0"
    port: int = 9587
    # The externally visible base URL (WSDL soap:address, webhooks); derived from port if empty.
    public_url: str = ""
    soap_namespace: str | None = None
    timezone: str = "Europe/Istanbul"
    max_body_bytes: int = 16 * 1024 * 1024
    trusted_proxies: int = 0
    # Run the dispatcher inside the serving process (the embedded default).
    embedded_worker: bool = True
    # Seconds a verified credential stays cached in process.
    auth_cache_seconds: int = 300
    # Seconds a cached credential is trusted without re-reading the user row.
    auth_revalidate_seconds: float = 1.0
    # Failed logins allowed per account and per address within auth_fail_window seconds.
    auth_fail_limit: int = 10
    auth_fail_window: int = 300
    # Failed logins allowed per account from all addresses together within the window;
    # 0: five times auth_fail_limit. Addresses the account signed in from within the last
    # auth_known_address_days days are not held back by it.
    auth_account_fail_limit: int = 0
    auth_known_address_days: int = 30
    # Redis for the login throttle's counts (redis://host:6379/0); empty: the database.
    redis_url: str = ""
    # Prefix of the throttle's Redis keys, so deployments can share one Redis.
    redis_prefix: str = "finsms"
    # Secret for keyed hashes (credential cache keys, webhook signatures); random if empty.
    secret_key: str = ""
    # Dispatcher: items per claim, lease seconds, idle poll seconds.
    claim_batch: int = 500
    lease_seconds: int = 60
    poll_interval: float = 0.2
    # Bulk lane threads per dispatcher, each claiming, submitting and recording on its own
    # (claims never overlap), so the database works while a batch is on the wire; 0: by
    # database (PostgreSQL BULK_SENDERS_POSTGRES, SQLite 1: one writer at a time).
    bulk_senders: int = 0
    # After a pass that found less than a full batch, wait this long before the next, so
    # items arriving one by one are claimed, reported and settled together: each pass
    # costs a dozen statements however few items it moves. An OTP may wait this much more.
    batch_wait: float = 0.05
    # Carrier links, `KIND` or `LINK=KIND` comma-separated, and the link per operator
    # (`0=sim-a,1=sim-b,*=simulator`; empty: every message on the first link). See README.
    carriers: str = "simulator"
    routes: str = ""
    # Seconds between a dispatcher's heartbeats, at which it also takes up links added,
    # changed or removed with `finsms link` (and its share of their TPS and binds).
    link_reload_seconds: float = 10.0
    # How a number's operator is found: `prefix` (the numbering plan's prefixes); a
    # number-portability lookup registers another name (service.services.operators).
    operator_lookup: str = "prefix"
    # Simulator carrier: seconds until a delivery report, and outcome rules (see README).
    simulator_report_delay: float = 1.0
    simulator_rules: str = ""
    # An OTP with a trustDate routed to a link that cannot check SIM changes (or whose
    # check could not answer): `refuse` it (rejected, refunded) or `send` it unchecked.
    trust_date_unchecked: str = "refuse"
    # Tokens of the links that push MO messages over HTTP (/mo/push/<link>):
    # `LINK=TOKEN,...`, each token 16+ characters; empty: the endpoint refuses every call.
    mo_push_tokens: str = ""
    # A file where the simulator appends each submission before answering (tests).
    simulator_journal: str = ""
    # İYS: the client of its consent API (`simulator` or `http`), the HTTP client's base
    # URL, credentials and timeout, and the simulator's outcomes (`99=rejected,98=error`).
    iys_client: str = "simulator"
    iys_url: str = "https://api.iys.org.tr"
    iys_username: str = ""
    iys_password: str = ""
    iys_timeout: float = 10.0
    iys_simulator_rules: str = ""
    # Most parts a single message may have.
    max_message_parts: int = 10
    # Argon2id cost; tests lower it.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    workers: int = 2
    # Per worker process (gunicorn gthread). One: measured with scripts/bench_api.py, more
    # threads only added GIL and lock hand-offs. SQLite serialises writers (2 workers x 1
    # thread sent 1765 OTPs/s, 2x2 1494/s, 4x1 1161/s); on PostgreSQL one customer's
    # creates queue on its balance row (2x1 591/s, 2x4 467/s, 2x8 355/s).
    threads: int = 1
    # More threads per worker that only read requests: a slow client holds one of these
    # while it sends, and the `threads` above run the app on whole requests (0: off).
    read_threads: int = 16
    # Request bodies of more bytes than this run in an application slot of their own (one
    # per worker): a customer looping 100,000-recipient packages (or hostile padding up to
    # an operation's limit), a second of parsing each, never holds the slot small requests
    # use. 0: one slot for all.
    large_request_bytes: int = 1024 * 1024
    # Seconds a client may stay silent while sending a request body (nginx's
    # client_body_timeout): then 408, and its reader thread is free again.
    client_timeout: float = 10.0
    # Seconds `finsms serve` waits for its port while an earlier server still holds it.
    bind_wait: float = 60.0
    # Delivery-report webhooks: networks a push URL may reach although private, loopback
    # or otherwise not public ("127.0.0.0/8,10.0.0.0/8"; empty: public addresses only).
    webhook_allow_networks: str = ""
    # Webhooks in flight per worker process, and per endpoint (host:port) among them.
    webhook_concurrency: int = 8
    webhook_per_endpoint: int = 2
    # Seconds to connect, and to wait for each read of the answer.
    webhook_connect_timeout: float = 5.0
    webhook_read_timeout: float = 10.0
    # Hours a webhook is retried before it is marked failed.
    webhook_retry_hours: float = 24.0
    # Seconds a claimed webhook stays with its worker; then another worker may send it
    # (the first one died). Longer than an attempt can take.
    webhook_lease_seconds: int = 120
    # Days delivered and failed webhooks stay in the outbox (`finsms webhook list` shows
    # them); then the dispatcher's housekeeping deletes them.
    webhook_keep_days: int = 14
    # KVKK consent links (/sms/create-kvkk, the page at /k/<token>): days a link stays
    # answerable, and the consent text the page shows (empty: a generic text).
    kvkk_link_days: int = 30
    kvkk_text: str = ""
    # FinSMS v1 facade: requests per API key (a `limits` string, e.g. "20/second"),
    # counted where the login throttle counts (Redis or the database), so for all workers.
    facade_rate_limit: str = "20/second"
    # Hours the previous secret of a rotated API key keeps working.
    apikey_grace_hours: float = 24.0

    def __post_init__(self) -> None:
        for name, least in _AT_LEAST.items():
            if getattr(self, name) < least:
                raise SettingsError(
                    f"FINSMS_{name.upper()}={getattr(self, name)!r}: must be at least {least:g}"
                )
        if self.trust_date_unchecked not in TRUST_DATE_UNCHECKED:
            raise SettingsError(
                f"FINSMS_TRUST_DATE_UNCHECKED={self.trust_date_unchecked!r}: "
                f"one of {', '.join(TRUST_DATE_UNCHECKED)}"
            )
        if self.iys_client not in IYS_CLIENTS:
            raise SettingsError(
                f"FINSMS_IYS_CLIENT={self.iys_client!r}: one of {', '.join(IYS_CLIENTS)}"
            )
        if self.port > 65535:
            raise SettingsError(f"FINSMS_PORT={self.port}: not a TCP port")
        try:
            limits.parse(self.facade_rate_limit)
        except ValueError:
            raise SettingsError(
                f"FINSMS_FACADE_RATE_LIMIT={self.facade_rate_limit!r}: not a rate such as 20/second"
            ) from None
        try:
            parse_networks(self.webhook_allow_networks)
        except ValueError as error:
            raise SettingsError(
                f"FINSMS_WEBHOOK_ALLOW_NETWORKS={self.webhook_allow_networks!r}: {error}"
            ) from None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from the environment, with keyword overrides on top."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f"FINSMS_{f.name.upper()}")
            if raw is None:
                continue
            try:
                values[f.name] = _convert(f.type, raw)
            except ValueError:
                raise SettingsError(f"FINSMS_{f.name.upper()}={raw!r}: not a {f.type}") from None
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)

    @property
    def base_url(self) -> str:
        """The public base URL, without a trailing slash."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")


def _convert(type_name: Any, raw: str) -> Any:
    text = str(type_name)
    if text == "bool":
        return _flag(raw)
    if text == "int":
        return int(raw)
    if text == "float":
        return float(raw)
    if text.startswith("str | None"):
        return raw or None
    return raw
