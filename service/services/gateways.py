"""Sending gateways: the platform's carrier links, with the senders a caller may use.

The links are the enabled links of the database (`finsms link`) in failover order, or,
when it holds none, those of FINSMS_CARRIERS, in its order; each has a uuid derived from
its name, so it stays the same across restarts and processes. Every link carries every
approved sender of the caller: senders are approved per user, not per link.
"""

from __future__ import annotations

from service.domain.carrier import Gateway, gateway_uuid, split_links
from service.domain.constants import SenderState
from service.domain.principal import Principal
from service.domain.queries import SenderFilter
from service.services.platform import Platform
from service.services.ports import Tx
from service.services.senders import every_sender


def list_gateways(platform: Platform, principal: Principal) -> list[Gateway]:
    """The platform's sending gateways, each with the caller's approved senders."""
    with platform.uow.read() as tx:
        titles = approved_titles(tx, principal)
        stored = tx.links.listing()
    if stored:
        names = dict.fromkeys(link.name for link in stored if link.enabled)
    else:
        names = dict.fromkeys(name for name, _ in split_links(platform.settings.carriers))
    return [Gateway(gateway_uuid(name), name, titles) for name in names]


def approved_titles(tx: Tx, principal: Principal) -> tuple[str, ...]:
    """Every approved sender title of the caller, by title."""
    approved = SenderFilter(status=int(SenderState.APPROVED))
    return tuple(sender.title for sender in every_sender(tx, principal, approved))
