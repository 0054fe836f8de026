"""A user's IP allow-list: addresses and CIDR networks its API requests may come from."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from service.domain.errors import DomainError, Err

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> str:
    """The canonical form of an address or a CIDR network ("10.0.0.0/24"); host bits set
    in a CIDR are an error, not silently cleared (10.0.0.1/24 is a typing mistake)."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError as exc:
        raise DomainError(Err.ERR_INVALID_PARAM, f"{text!r}: {exc}", field="address") from None


@lru_cache(maxsize=4096)
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    # Parsed once per distinct allow-list: this runs on every request of such users.
    return tuple(ipaddress.ip_network(n) for n in allowed)


def address_allowed(address: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a request from `address` passes the allow-list; an empty list allows all,
    an unknown or unparsable address passes none."""
    if not allowed:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 from a dual-stack socket is 10.0.0.1
    return any(ip in net for net in _networks(allowed) if net.version == ip.version)
