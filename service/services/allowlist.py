"""Users' IP allow-lists: which addresses their API requests may come from."""

from __future__ import annotations

from service.domain.allowlist import parse_network
from service.domain.errors import DomainError, Err
from service.services.platform import Platform
from service.services.ports import Tx


def allowed_ips(platform: Platform, username: str) -> list[str]:
    """A user's allowed addresses and networks; empty: every address."""
    with platform.uow.read() as tx:
        return tx.allowlist.networks(_user_id(tx, username))


def allow_ip(platform: Platform, username: str, address: str) -> list[str]:
    """Allow an address or CIDR network for a user's API requests; the list after."""
    network = parse_network(address)
    with platform.uow.write() as tx:
        user_id = _user_id(tx, username)
        tx.allowlist.add(user_id, network, platform.clock.now())
        found = tx.allowlist.networks(user_id)
    platform.auth.forget(username)  # this process applies it at once, others within 1 s
    return found


def deny_ip(platform: Platform, username: str, address: str) -> list[str]:
    """Remove an address or network from a user's allow-list; the list after (empty:
    every address allowed again)."""
    network = parse_network(address)
    with platform.uow.write() as tx:
        user_id = _user_id(tx, username)
        if not tx.allowlist.remove(user_id, network):
            raise DomainError(Err.ERR_NOT_FOUND, f"{network} izin listesinde yok", field="address")
        found = tx.allowlist.networks(user_id)
    platform.auth.forget(username)
    return found


def _user_id(tx: Tx, username: str) -> int:
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user.id
