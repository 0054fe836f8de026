"""Text the platform stores: what any front door must check before it reaches a database."""

from __future__ import annotations

from service.domain.errors import invalid


def check_text(text: str, field: str) -> str:
    """Text a database can store: no NUL characters and no unpaired UTF-16 surrogates."""
    if "\x00" in text:
        raise invalid(field, "NUL karakteri içeremez")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, "geçersiz Unicode karakteri içeriyor") from None
    return text
