"""The settings of one SMPP link (an operator's SMSC account), checked once at start."""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BindMode = Literal["trx", "pair"]


@dataclass(frozen=True)
class SmppOptions:
    """How to reach and use one SMSC account; see README "SMPP links"."""

    host: str
    system_id: str
    port: int = 2775
    password: str = ""
    system_type: str = ""
    bind_mode: BindMode = "trx"  # one transceiver per bind, or a transmitter + receiver pair
    tps: float = 0.0  # submit_sm per second over all binds of the link; 0: no limit
    window: int = 10  # submit_sm awaiting their resp, per bind
    binds: int = 1  # sessions (or pairs) opened at once, for throughput
    enquire_link_seconds: float = 30.0  # silence before an enquire_link; twice: link dead
    alnum_ton: int = 5
    alnum_npi: int = 0
    numeric_ton: int = 1
    numeric_npi: int = 1
    smsc_timezone: str = "UTC"  # the zone of the dates in delivery receipts
    submit_timeout_seconds: float = 10.0  # no submit_sm_resp by then: no result
    reconnect_max_seconds: float = 30.0  # the longest pause between bind attempts
    connect_timeout_seconds: float = 10.0
    throttle_pause_seconds: float = 1.0  # the whole link pauses after a throttled answer
    mo_reassembly_seconds: float = 30.0  # parts of a long MO wait this long for the others
    # The same words from the same number to the same short number within this window,
    # with nothing else to tell them apart, are one message the SMSC redelivered.
    mo_duplicate_window_seconds: float = 3600.0
    # SMPP over TLS: "on" verifies the SMSC's certificate and name against the system's
    # certificate authorities, or those of tls_ca_file (PEM) when given.
    tls: str = "off"
    tls_ca_file: str = ""

    @property
    def account(self) -> tuple[str, int, str]:
        """The SMSC account: one link per account (see service.services.links)."""
        return self.host.strip().lower(), self.port, self.system_id

    @classmethod
    def from_mapping(cls, options: Mapping[str, object]) -> SmppOptions:
        """The options of a mapping (strings accepted for numbers); ValueError naming
        every bad or unknown key."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown SMPP option(s): {', '.join(unknown)}")
        for required in ("host", "system_id"):
            if not isinstance(options.get(required), str) or not str(options[required]).strip():
                raise ValueError(f"SMPP option {required!r} is required (a non-empty string)")
        values: dict[str, object] = {}
        for name, value in options.items():
            default = known[name].default
            values[name] = _convert(name, value, str if default is MISSING else type(default))
        made = cls(**values)  # type: ignore[arg-type]
        made._check()
        return made

    def _check(self) -> None:
        """ValueError for values of the right type but out of range."""
        if not 0 < self.port < 65536:
            raise ValueError(f"SMPP option 'port' must be 1-65535, not {self.port}")
        if self.bind_mode not in ("trx", "pair"):
            raise ValueError(
                f"SMPP option 'bind_mode' must be 'trx' or 'pair', not {self.bind_mode!r}"
            )
        if self.tps < 0:
            raise ValueError("SMPP option 'tps' must be >= 0 (0: no limit)")
        for name in ("window", "binds"):
            if not 1 <= getattr(self, name) <= 1000:
                raise ValueError(f"SMPP option {name!r} must be 1-1000")
        for name in ("alnum_ton", "alnum_npi", "numeric_ton", "numeric_npi"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"SMPP option {name!r} must be 0-255")
        for f in fields(self):
            if f.name.endswith("_seconds") and not getattr(self, f.name) > 0:
                raise ValueError(f"SMPP option {f.name!r} must be > 0")
        if len(self.system_id) > 15 or len(self.password) > 8 or len(self.system_type) > 12:
            raise ValueError(
                "SMPP options 'system_id', 'password', 'system_type' are at most 15, 8, 12 chars"
            )
        self._check_tls()
        try:
            ZoneInfo(self.smsc_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"SMPP option 'smsc_timezone': unknown zone {self.smsc_timezone!r}"
            ) from None

    def _check_tls(self) -> None:
        """ValueError for a TLS setting that cannot work."""
        if self.tls not in ("off", "on"):
            raise ValueError(f"SMPP option 'tls' must be 'off' or 'on', not {self.tls!r}")
        if self.tls_ca_file and self.tls != "on":
            raise ValueError("SMPP option 'tls_ca_file' needs tls=on")
        if self.tls == "on":
            try:
                self.ssl_context()
            except (OSError, ssl.SSLError) as error:
                raise ValueError(
                    f"SMPP option 'tls_ca_file': cannot load {self.tls_ca_file!r} ({error})"
                ) from None

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS client context of the link: certificate and name checked."""
        return ssl.create_default_context(cafile=self.tls_ca_file or None)


def _convert(name: str, value: object, kind: type) -> object:
    """value as kind (int, float or str); a numeric string counts as a number."""
    if isinstance(value, bool):
        raise ValueError(f"SMPP option {name!r} must be a {kind.__name__}, not a boolean")
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"SMPP option {name!r} must be a string")
        return value
    try:
        if isinstance(value, int | float | str):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            if kind is int:
                if number != int(number):
                    raise ValueError
                return int(number)
            return number
    except ValueError:
        pass
    raise ValueError(f"SMPP option {name!r} must be a number, not {value!r}")
