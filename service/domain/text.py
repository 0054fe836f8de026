"""Text the platform stores: what any front door must check before it reaches a database."""

from __future__ import annotations

from service.domain.errors import invalid


def is_storable(text: str) -> bool:
    """Whether every database can store the text: no NUL (PostgreSQL refuses it in text
    columns) and no unpaired UTF-16 surrogate (UTF-8 cannot encode one)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(text: str, field: str) -> str:
    """Text a database can store: no NUL characters and no unpaired UTF-16 surrogates."""
    if "\x00" in text:
        raise invalid(field, "NUL karakteri içeremez")
    if not is_storable(text):
        raise invalid(field, "geçersiz Unicode karakteri içeriyor")
    return text


def storable(text: str) -> str:
    """The text with what no database can store taken out: NUL characters dropped,
    unpaired surrogates replaced (U+FFFD). For text an operator sends us, which we must
    keep rather than refuse (an MO refused is redelivered forever)."""
    text = text.replace("\x00", "")
    return text if is_storable(text) else text.encode("utf-8", "replace").decode("utf-8")
