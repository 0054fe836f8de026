"""MO messages: storing what subscribers write to users' short numbers, opt-outs by
keyword, listing them, and the short numbers and keywords themselves.

`receive` is what a carrier link's inbound events end in (the dispatcher's LinkEvents,
the HTTP push endpoint): it returns only once the messages are committed, so a link
acknowledges an MO to its operator only after that, and an operator that redelivers
(its acknowledgement was lost) finds it stored once: (link, carrier_ref) is unique.

An MO is its destination's user's: the short number (or sender title) written to, looked
up in the users' short numbers. One no user has is stored all the same, with no user and
state FAILED, and counted and logged: an operator routing us numbers we do not serve is
worth knowing about. A message whose first word is one of the user's opt-out keywords
(service.domain.mo.fold: "İPTAL" = "iptal" = "IPTAL") is an opt-out: its row says so
(state COMPLETED, exit type MO, the keyword) and the OptOutSink records it in the same
transaction; any other is NO_MATCH.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from service.domain import mo as rules
from service.domain.carrier import InboundMessage
from service.domain.constants import ExitType, IysSource, MoState
from service.domain.errors import DomainError, Err
from service.domain.iys import ConsentStatus
from service.domain.mo import MoFilter, MoMessage, MoNumber, NewMoMessage, OptOut
from service.domain.phone import normalize
from service.domain.principal import Principal, visible_to
from service.domain.queries import PageRequest
from service.domain.records import Page, User
from service.domain.text import storable
from service.services import contacts, iys
from service.services.clock import Clock
from service.services.ports import Tx, UnitOfWork
from service.services.reports import descendant_scope

log = logging.getLogger("finsms.mo")


class Host(Protocol):
    """What the MO service needs of the platform: a clock and a unit of work."""

    @property
    def clock(self) -> Clock: ...

    @property
    def uow(self) -> UnitOfWork: ...


class OptOutSink(Protocol):
    """Where an opt-out by SMS goes, inside the transaction that stores its MO."""

    def opt_out(self, tx: Tx, user_id: int, number: str, at: datetime) -> None:
        """Record that `number` wants no more messages from the user (exit type MO)."""
        ...


class BlacklistingOptOuts:
    """An opt-out blacklists the number for the user with exit type MO (a contact is made
    if it was none, as the spec says), refuses it to İYS (RET, source HS_MESAJ), and is
    kept as a row of its own (mo_optouts), the history `optouts` lists."""

    def opt_out(self, tx: Tx, user_id: int, number: str, at: datetime) -> None:
        """Blacklist the number, record the opt-out and the İYS refusal, in the MO's
        transaction."""
        tx.mo.add_optout(user_id, number, int(ExitType.MO), at)
        contacts.blacklist_numbers(tx, user_id, [number], ExitType.MO, at)
        refuse_in_iys(tx, user_id, number, at)


def refuse_in_iys(tx: Tx, user_id: int, number: str, at: datetime) -> None:
    """An opt-out by SMS is a refusal of commercial messages: İYS is told (RET)."""
    if normalize(number) is None:
        return  # not a Turkish mobile: İYS keeps no consent for it
    refusal = iys.consent(
        user_id, number, ConsentStatus.RET, IysSource.HS_MESAJ, at, exit_type=int(ExitType.MO)
    )
    iys.record_consent(tx, refusal, at)


DEFAULT_SINK: OptOutSink = BlacklistingOptOuts()


@dataclass(frozen=True)
class Received:
    """What came of a batch of MO messages."""

    stored: int  # new rows, those of unknown destinations included
    duplicates: int  # redeliveries of messages stored before: nothing changed
    unrouted: int  # stored with no user: no one has the destination
    opted_out: int  # stored and matched one of its user's opt-out keywords


def receive(
    host: Host, messages: Sequence[InboundMessage], sink: OptOutSink | None = None
) -> Received:
    """Store MO messages durably, once each, in one committed transaction; record the
    opt-outs among them through `sink`. Raises when they are not stored."""
    sink = sink or DEFAULT_SINK
    now = host.clock.now()
    stored = duplicates = unrouted = opted = 0
    with host.uow.write() as tx:
        owners = tx.mo.owners([rules.short_number(m.destination) for m in messages])
        keywords = tx.mo.keywords(sorted(set(owners.values())))
        for message in messages:
            row = _row(message, owners, keywords, now)
            if tx.mo.add_message(row) is None:
                duplicates += 1
                continue
            stored += 1
            unrouted += row.user_id is None
            if row.user_id is not None and row.keyword is not None:
                sink.opt_out(tx, row.user_id, row.source, row.received_at)
                opted += 1
    if unrouted:
        log.warning("%d MO messages to destinations no user has were stored unrouted", unrouted)
    return Received(stored, duplicates, unrouted, opted)


def _row(
    message: InboundMessage, owners: dict[str, int], keywords: dict[int, set[str]], now: datetime
) -> NewMoMessage:
    """The row of one MO: its user, and whether its first word is an opt-out keyword."""
    destination = rules.short_number(message.destination)[: rules.SHORT_NUMBER_MAX]
    user_id = owners.get(rules.short_number(message.destination))
    word = rules.first_word(message.text)
    keyword = word if user_id is not None and word in keywords.get(user_id, set()) else None
    if user_id is None:
        state = MoState.FAILED
    else:
        state = MoState.COMPLETED if keyword else MoState.NO_MATCH
    return NewMoMessage(
        uuid=str(uuidlib.uuid4()),
        user_id=user_id,
        link=message.link[:32],
        carrier_ref=rules.stable_ref(message.carrier_ref),
        source=_source(storable(message.source)),
        destination=destination,
        text=storable(message.text)[: rules.TEXT_MAX],  # an SMSC's NUL padding, say
        keyword=keyword,
        state=int(state),
        exit_type=int(ExitType.MO) if keyword else None,
        received_at=message.received_at,
        created_at=now,
    )


def _source(source: str) -> str:
    """A Turkish mobile as 905xxxxxxxxx (as the blacklist keeps numbers); another as sent."""
    return normalize(source) or source.strip()[: rules.SOURCE_MAX]


# --- listing ----------------------------------------------------------------------------


def list_requests(
    host: Host,
    principal: Principal,
    filters: MoFilter,
    page: PageRequest,
    *,
    user_uuid: str | None = None,
) -> Page[MoMessage]:
    """The MO messages written to the caller's short numbers, newest first; a reseller may
    name one of its descendants by `user_uuid` to see that user's instead."""
    with host.uow.read() as tx:
        scope = visible_to(principal)
        if user_uuid is not None:
            scope = descendant_scope(tx, principal, user_uuid)
        return tx.mo.listing(scope, filters, page)


# --- short numbers, keywords, opt-outs (operators' tools) ------------------------------


def add_number(host: Host, username: str, number: str) -> MoNumber:
    """Give a user a short number to receive MO on; ERR_MO_ALREADY_EXISTS if taken."""
    value = rules.check_short_number(number)
    now = host.clock.now()
    with host.uow.write() as tx:
        user = _user(tx, username)
        if not tx.mo.add_number(user.id, value, now):
            raise DomainError(Err.ERR_MO_ALREADY_EXISTS, value, field="number")
    return MoNumber(value, user.id, now)


def remove_number(host: Host, username: str, number: str) -> None:
    """Take a short number from a user; ERR_MO_NOT_FOUND unless the user has it."""
    value = rules.short_number(number)
    with host.uow.write() as tx:
        if not tx.mo.remove_number(_user(tx, username).id, value):
            raise DomainError(Err.ERR_MO_NOT_FOUND, value, field="number")


def numbers(host: Host, username: str) -> list[MoNumber]:
    """A user's short numbers."""
    with host.uow.read() as tx:
        return tx.mo.numbers(_user(tx, username).id)


def add_keyword(host: Host, username: str, keyword: str) -> str:
    """Add an opt-out keyword (stored folded); ERR_MO_KEYWORD_ALREADY_EXISTS if there."""
    value = rules.check_keyword(keyword)
    with host.uow.write() as tx:
        if not tx.mo.add_keyword(_user(tx, username).id, value, host.clock.now()):
            raise DomainError(Err.ERR_MO_KEYWORD_ALREADY_EXISTS, value, field="keyword")
    return value


def remove_keyword(host: Host, username: str, keyword: str) -> None:
    """Remove an opt-out keyword, in any spelling that folds to it; ERR_MO_NOT_FOUND
    unless the user has it."""
    value = rules.fold(keyword.strip())
    with host.uow.write() as tx:
        if not tx.mo.remove_keyword(_user(tx, username).id, value):
            raise DomainError(Err.ERR_MO_NOT_FOUND, value, field="keyword")


def keywords(host: Host, username: str) -> list[str]:
    """A user's opt-out keywords, folded, in order."""
    with host.uow.read() as tx:
        user = _user(tx, username)
        return sorted(tx.mo.keywords([user.id]).get(user.id, set()))


def optouts(host: Host, username: str) -> list[OptOut]:
    """The numbers that opted out of a user's messages by SMS."""
    with host.uow.read() as tx:
        return tx.mo.optouts(_user(tx, username).id)


def _user(tx: Tx, username: str) -> User:
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user
