"""Keep Spyne's logging quiet about clients and silent about credentials.

Spyne logs a full traceback at ERROR for every client fault, writes whole request
documents at DEBUG and logs HTTP headers (Basic credentials included). A filter on every
`spyne.*` logger masks passwords and Authorization values and turns client faults into
one INFO line without a traceback. Filters on a logger do not apply to its children's
records, hence one filter per logger, installed again whenever an app is built (Spyne
creates loggers lazily, on import of its modules).
"""

from __future__ import annotations

import logging
import re

_SECRETS = (
    # <password>..</password>, <wsse:Password Type="…">..</wsse:Password>, any case
    (re.compile(r"(<(?:[\w.-]+:)?password\b[^>]*>)(.*?)(</)", re.I | re.S), r"\1***\3"),
    (re.compile(r"(\bBasic\s+)[A-Za-z0-9+/=._-]+", re.I), r"\1***"),
    (re.compile(r"(['\"]?password['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+", re.I), r"\1***"),
)
# Spyne loggers that exist before any request; others are picked up by name prefix.
_KNOWN = (
    "spyne",
    "spyne.application",
    "spyne.application.client",
    "spyne.application.server",
    "spyne.server._base",
    "spyne.server.wsgi",
    "spyne.server.http",
    "spyne.protocol._base",
    "spyne.protocol._inbase",
    "spyne.protocol.xml",
    "spyne.protocol.xml.invalid",
    "spyne.protocol.soap.soap11",
    "spyne.protocol.soap.soap11.invalid",
)


def redact(text: str) -> str:
    """The text with passwords and Basic credentials replaced by ***."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class SpyneLogFilter(logging.Filter):
    """Masks secrets in Spyne's records and demotes client faults to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if _is_client_fault(record):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep it as it is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _is_client_fault(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    for candidate in (exc, record.msg):
        code = getattr(candidate, "faultcode", None)
        if isinstance(code, str) and code.split(":")[-1].startswith("Client"):
            return True
    return False


_FILTER = SpyneLogFilter()


def install() -> None:
    """Put the filter on every Spyne logger (idempotent)."""
    names = set(_KNOWN)
    names.update(n for n in list(logging.Logger.manager.loggerDict) if n.startswith("spyne"))
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
