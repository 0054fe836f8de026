"""İYS: users' İYS settings, consents to commercial messages, their synchronisation with
İYS, and the rule that a commercial package goes only to approved recipients.

Consents come from contacts, KVKK page answers and MO opt-outs (`record_consent`, inside
the caller's transaction); each waits (İYS state WAITING_SYNC) until the sync pass, run by
the dispatcher's housekeeping, sends it to İYS through an `IysClient` and records the
answer: ACCEPTED, REJECTED, or a failure retried with backoff. A worker claims consents
with a conditional update (SKIP LOCKED on PostgreSQL) before calling İYS, and records the
outcome only while it still holds the claim: several workers never send one consent
twice, and a consent changed meanwhile is sent again with its new status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from service.domain import iys as rules
from service.domain.constants import IysRecipientType, IysSource, IysState
from service.domain.errors import DomainError, Err, invalid
from service.domain.iys import Brand, Consent, ConsentStatus, IysSettings, NewConsent, SyncResult
from service.domain.phone import normalize
from service.domain.records import User
from service.domain.sending import Recipient
from service.services.clock import Clock
from service.services.ports import Tx, UnitOfWork

log = logging.getLogger("finsms.iys")
SYNC_BATCH = 100
SYNC_BUDGET_SECONDS = 5.0


class Host(Protocol):
    """What the İYS service needs of the platform: a clock and a unit of work."""

    @property
    def clock(self) -> Clock: ...

    @property
    def uow(self) -> UnitOfWork: ...


class IysClient(Protocol):
    """İYS's consent API, as the sync pass uses it (a simulator and an HTTP client)."""

    name: str

    def add_consents(self, brand: Brand, consents: Sequence[Consent]) -> list[SyncResult]:
        """Register consents with İYS; one result per consent, by recipient. Raises when
        the call as a whole failed (nothing known: all are tried again later)."""
        ...

    def consent_status(self, brand: Brand, recipient: str, type_: str) -> str | None:
        """The status (ONAY/RET) İYS holds for a recipient, None when it holds none."""
        ...


# --- settings ---------------------------------------------------------------------------


def save_settings(
    host: Host, username: str, *, iys_code: str | None = None, brand_code: str | None = None
) -> IysSettings:
    """Set a user's İYS code and/or brand code ("" clears one); the settings now."""
    now = host.clock.now()
    with host.uow.write() as tx:
        user = _user(tx, username)
        old = tx.iys.settings([user.id]).get(user.id)
        code = _code(iys_code, old.iys_code if old else None, "iysCode")
        brand = _code(brand_code, old.brand_code if old else None, "brandCode")
        tx.iys.save_settings(user.id, code, brand, now)
    return IysSettings(user.id, code, brand, now)


def show_settings(host: Host, username: str) -> IysSettings | None:
    """A user's İYS settings; None when it has none."""
    with host.uow.read() as tx:
        user = _user(tx, username)
        return tx.iys.settings([user.id]).get(user.id)


def require_brand(tx: Tx, user_id: int) -> Brand:
    """The user's İYS brand, or ERR_USER_IYS_SETTINGS_NOT_FOUND /
    ERR_USER_BRAND_CODE_NOT_FOUND."""
    return rules.brand_of(tx.iys.settings([user_id]).get(user_id))


def _code(given: str | None, old: str | None, field: str) -> str | None:
    if given is None:
        return old
    return rules.check_code(given, field) if given.strip() else None


# --- consents ---------------------------------------------------------------------------


def record_consent(tx: Tx, new: NewConsent, now: datetime) -> bool:
    """Record a consent (or a refusal) in the caller's transaction; it waits to be sent to
    İYS. Unchanged status and origin change nothing: False. HS_KARAR may not be a
    recipient's first consent (İYS refuses it)."""
    old = tx.iys.consent(new.user_id, new.recipient)
    if old is None:
        if not rules.first_source_allowed(new.source):
            raise invalid("src", "HS_KARAR ilk izin kaydında kullanılamaz")
        if tx.iys.add_consent(new, now):
            return True
        old = tx.iys.consent(new.user_id, new.recipient)  # inserted concurrently
        assert old is not None
    if (old.status, old.source, old.recipient_type) == (
        new.status.value,
        int(new.source),
        int(new.recipient_type),
    ):
        return False
    tx.iys.change_consent(new, now)
    return True


def consent(
    user_id: int,
    number: str,
    status: ConsentStatus,
    source: IysSource,
    at: datetime,
    *,
    recipient_type: IysRecipientType = IysRecipientType.INDIVIDUAL,
    exit_type: int | None = None,
) -> NewConsent:
    """A consent to record, its number checked and normalised (905…)."""
    recipient = normalize(number)
    if recipient is None:
        raise invalid("gsm", f"geçersiz numara {number!r}")
    return NewConsent(user_id, recipient, status, source, recipient_type, at, exit_type)


def add_consent(
    host: Host,
    username: str,
    number: str,
    status: ConsentStatus,
    source: IysSource,
    recipient_type: IysRecipientType = IysRecipientType.INDIVIDUAL,
) -> Consent:
    """Record a consent for a user by name (the operator's tool); the consent now."""
    now = host.clock.now()
    with host.uow.write() as tx:
        user = _user(tx, username)
        new = consent(user.id, number, status, source, now, recipient_type=recipient_type)
        record_consent(tx, new, now)
        found = tx.iys.consent(user.id, new.recipient)
    assert found is not None
    return found


def consents(host: Host, username: str, limit: int = 100) -> list[Consent]:
    """A user's newest consents."""
    with host.uow.read() as tx:
        return tx.iys.listing(_user(tx, username).id, limit)


def consent_states(tx: Tx, user_id: int, numbers: Sequence[str]) -> dict[str, int]:
    """{number: İYS state} of the user's consents among these numbers (905…), in one
    query; numbers without a consent are absent."""
    return tx.iys.states(user_id, numbers)


def approved_numbers(tx: Tx, user_id: int, numbers: Sequence[str]) -> set[str]:
    """The numbers among these (905…) a commercial message of the user may go to: ONAY
    and accepted by İYS. One query, whatever their number."""
    return tx.iys.approved(user_id, numbers)


# --- the commercial rule ----------------------------------------------------------------


class Consented(NamedTuple):
    """The recipients a commercial package may go to, and how many were left out."""

    recipients: list[Recipient]
    skipped: int


def consented_in(tx: Tx, user_id: int, recipients: Sequence[Recipient]) -> Consented:
    """Keep the recipients with an approved consent; a user without İYS settings (or
    brand code) may not send commercial messages at all."""
    require_brand(tx, user_id)
    approved = approved_numbers(tx, user_id, [r.target for r in recipients])
    kept = [r for r in recipients if r.target in approved]
    return Consented(kept, len(recipients) - len(kept))


# --- synchronisation with İYS -----------------------------------------------------------


@dataclass(frozen=True)
class Synced:
    """What a sync pass did."""

    claimed: int
    accepted: int
    rejected: int
    retried: int  # failed (İYS unreachable, settings missing…): waiting again, backed off


def sync_consents(
    host: Host,
    client: IysClient,
    owner: str,
    *,
    batch: int = SYNC_BATCH,
    budget: float = SYNC_BUDGET_SECONDS,
) -> Synced:
    """Send waiting consents to İYS and record the answers, a batch at a time, until none
    is due; no batch is started after `budget` seconds: the dispatcher's housekeeping
    must not stall on a backlog (the next pass, a minute later, goes on)."""
    total = Synced(0, 0, 0, 0)
    deadline = time.monotonic() + budget
    while True:
        done = _sync_batch(host, client, owner, batch)
        total = Synced(*(a + b for a, b in zip(_fields(total), _fields(done), strict=True)))
        if done.claimed < batch or done.retried or time.monotonic() >= deadline:
            return total


def _fields(s: Synced) -> tuple[int, int, int, int]:
    return (s.claimed, s.accepted, s.rejected, s.retried)


def _sync_batch(host: Host, client: IysClient, owner: str, batch: int) -> Synced:
    now = host.clock.now()
    with host.uow.write() as tx:
        claimed = tx.iys.claim_pending(owner, now, now + rules.SYNC_LEASE, batch)
        settings = tx.iys.settings(sorted({c.user_id for c in claimed}))
    outcomes: list[tuple[Consent, SyncResult]] = []
    for user_id, group in _by_user(claimed).items():
        outcomes.extend(_ask(client, settings.get(user_id), group))
    done = host.clock.now()
    with host.uow.write() as tx:
        for consent_row, result in outcomes:
            _finish(tx, owner, consent_row, result, done)
    states = [r.state for _, r in outcomes]
    return Synced(
        len(claimed),
        states.count(IysState.ACCEPTED),
        states.count(IysState.REJECTED),
        states.count(IysState.WAITING_SYNC),
    )


def _by_user(claimed: Sequence[Consent]) -> dict[int, list[Consent]]:
    groups: dict[int, list[Consent]] = {}
    for c in claimed:
        groups.setdefault(c.user_id, []).append(c)
    return groups


def _ask(
    client: IysClient, settings: IysSettings | None, group: list[Consent]
) -> list[tuple[Consent, SyncResult]]:
    """İYS's answer for each consent of one user; a failure is a retry for all."""
    try:
        brand = rules.brand_of(settings)
    except DomainError as error:
        return [(c, _retry(c, error.err.name)) for c in group]
    try:
        answers = {r.recipient: r for r in client.add_consents(brand, group)}
    except Exception as error:  # the call failed as a whole: nothing is known
        log.warning("İYS (%s) failed a batch of %d consents: %s", client.name, len(group), error)
        return [(c, _retry(c, f"{type(error).__name__}: {error}")) for c in group]
    return [(c, answers.get(c.recipient) or _retry(c, "İYS bu alıcıyı yanıtlamadı")) for c in group]


def _retry(c: Consent, error: str) -> SyncResult:
    return SyncResult(c.recipient, IysState.WAITING_SYNC, error)


def _finish(tx: Tx, owner: str, c: Consent, result: SyncResult, now: datetime) -> None:
    error = rules.clip_error(result.error) if result.error else None
    if result.state == IysState.WAITING_SYNC:
        attempts = c.attempts + 1
        later = now + rules.retry_after(attempts)
        kept = tx.iys.finish_sync(owner, c.id, int(result.state), error, attempts, later, now)
    else:
        kept = tx.iys.finish_sync(owner, c.id, int(result.state), error, c.attempts, None, now)
    if not kept:
        log.info("consent %d changed while it was synchronised: sent again later", c.id)


def _user(tx: Tx, username: str) -> User:
    user = tx.users.by_name(username)
    if user is None:
        raise DomainError(Err.ERR_USER_NOT_FOUND, username)
    return user
