"""HTTP Basic credentials, read the same way by every adapter."""

from __future__ import annotations

import base64
import binascii


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(username, password) from an HTTP Basic Authorization header, Nones if absent."""
    if not header or header[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else (None, None)
