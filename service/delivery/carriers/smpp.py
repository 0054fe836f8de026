"""An SMPP 3.4 link to an operator's SMSC, on smpplib: binds (transceiver or transmitter +
receiver pairs), a window of submit_sm per bind, TPS pacing, enquire_link, reconnection
with backoff; receipts and MO messages handed to LinkEvents before they are acknowledged.

Threads: one per session (connect, bind, then read PDUs until the socket dies), one that
hands received deliver_sm to the LinkEvents and answers them; submit() runs in the caller's
thread and writes submit_sm on the sessions' sockets (each under its own send lock)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from service.delivery.carriers import smpp_pdus as pdus
from service.delivery.carriers.base import LinkEvents
from service.delivery.carriers.smpp_options import SmppOptions
from service.domain.carrier import DeliveryReceipt, InboundMessage, Submission, SubmitResult
from service.services.clock import Clock

log = logging.getLogger("finsms.smpp")


# Outcomes of one part's submit_sm.
UNSENT = "unsent"  # never reached the wire: no session bound, or the window never opened
PENDING = "pending"
OK = "ok"
FAILED = "failed"  # an error status
LOST = "lost"  # sent, no answer: timed out or the session died


@dataclass
class _Slot:
    """One submit_sm of a submission, and what became of it."""

    fields: dict[str, object]
    outcome: str = UNSENT
    status: int = 0
    message_id: str = ""
    sent_at: float = 0.0
    session: _Session | None = None
    sequence: int = 0


@dataclass
class _Job:
    """A submission and its parts."""

    sub: Submission
    slots: list[_Slot] = field(default_factory=list)


class _Tls:
    """What smpplib's Client takes as its ssl_context: it wraps the socket without the
    server's name, which a context that checks names (ours) needs."""

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        self.context, self.host = context, host

    def wrap_socket(self, sock: socket.socket) -> ssl.SSLSocket:
        """The socket in TLS, the SMSC's certificate checked for `host`."""
        return self.context.wrap_socket(sock, server_hostname=self.host)


class _Pacer:
    """Spaces submit_sm 1/tps apart over all binds of a link (tps 0: no spacing); a
    throttled answer pushes the next slot back."""

    def __init__(self, tps: float) -> None:
        self._interval = 1.0 / tps if tps else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        """How many submit_sm may go now, of `wanted`, blocking until they may: all of
        them when unpaced (once a throttle pause is over), else one, at its slot."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            if self._interval:
                self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)
        return wanted if not self._interval else 1

    def pause(self, seconds: float) -> None:
        """No send for `seconds` from now."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class _Session:
    """One SMPP session (trx, tx or rx) that binds, reads and rebinds until closed."""

    def __init__(self, link: SmppCarrier, role: str, index: int) -> None:
        self.link = link
        self.role = role
        self.client: smpplib.client.Client | None = None
        self.bound = False
        self.generation = 0  # bumped at each bind: answers never cross connections
        self.outstanding = 0  # submit_sm awaiting a resp (guarded by link.cond)
        self.pending: dict[int, _Slot] = {}  # by sequence number (guarded by link.cond)
        self.send_lock = threading.Lock()
        self.thread = threading.Thread(
            target=self._run, name=f"smpp-{link.name}-{role}{index}", daemon=True
        )

    @property
    def transmits(self) -> bool:
        """Whether submit_sm may go on this session."""
        return self.role in ("trx", "tx")

    def _run(self) -> None:
        """Bind, read until the session dies, wait (backing off), bind again."""
        backoff = 0.5
        while not self.link.stopping.is_set():
            try:
                self._bind()
            except Exception as e:  # any failure to bind is retried the same way
                # smpplib reports every failed connect as "Connection refused": the cause
                # (a TLS certificate refused, a timeout) is the error it replaced.
                cause = f" ({e.__context__})" if e.__context__ is not None else ""
                log.warning("smpp %s: %s bind failed: %s%s", self.link.name, self.role, e, cause)
                self._disconnect()
                self.link.stopping.wait(backoff)
                backoff = min(backoff * 2, self.link.options.reconnect_max_seconds)
                continue
            backoff = 0.5
            log.info("smpp %s: %s bound", self.link.name, self.role)
            try:
                self._read_loop()
            finally:
                self._drop()

    def _bind(self) -> None:
        """Connect and bind; the socket then times out after enquire_link_seconds."""
        opts = self.link.options
        tls = _Tls(opts.ssl_context(), opts.host) if opts.tls == "on" else None
        client = smpplib.client.Client(
            opts.host, opts.port, timeout=opts.connect_timeout_seconds, ssl_context=tls,
            allow_unknown_opt_params=True, logger_name=f"smpplib.{self.link.name}",
        )  # fmt: skip
        self.client = client
        client.connect()
        bind = {
            "trx": client.bind_transceiver,
            "tx": client.bind_transmitter,
            "rx": client.bind_receiver,
        }[self.role]
        bind(system_id=opts.system_id, password=opts.password, system_type=opts.system_type)
        client._socket.settimeout(opts.enquire_link_seconds)
        with self.link.cond:
            self.generation += 1
            self.bound = True
            self.link.cond.notify_all()

    def _read_loop(self) -> None:
        """Handle PDUs until the socket dies, the SMSC unbinds or an enquire_link goes
        unanswered for a whole period."""
        assert self.client is not None
        asked = False
        while not self.link.stopping.is_set():
            try:
                pdu = self.client.read_pdu()
            except TimeoutError:
                if asked:
                    log.warning("smpp %s: %s: no answer to enquire_link", self.link.name, self.role)
                    return
                try:
                    self.send(smpplib.smpp.make_pdu("enquire_link", client=self.client))
                except Exception:  # the socket died while idle
                    return
                asked = True
                continue
            except Exception as e:  # a closed or broken socket, or an unreadable PDU
                if not self.link.stopping.is_set():
                    log.warning("smpp %s: %s read failed: %r", self.link.name, self.role, e)
                return
            asked = False
            try:
                if not self._handle(pdu):
                    return
            except Exception:  # a PDU we cannot make sense of must not stop the session
                log.exception("smpp %s: %s: could not handle %s", self.link.name, self.role, pdu)

    def _handle(self, pdu: Any) -> bool:
        """Act on one PDU; False when the session is over (the SMSC unbound)."""
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            self.link.on_submit_resp(self, pdu.sequence, pdu.status, _text(pdu, "message_id"))
        elif command == "deliver_sm":
            self.link.inbox.put(((self, self.generation, pdu.sequence), _deliver_sm(pdu)))
        elif command == "enquire_link":
            self.answer("enquire_link_resp", pdu.sequence, pdus.ESME_ROK, self.generation)
        elif command == "unbind":
            self.answer("unbind_resp", pdu.sequence, pdus.ESME_ROK, self.generation)
            return False
        return True

    def send(self, pdu: Any) -> None:
        """Write one PDU (ConnectionError if the session is down)."""
        with self.send_lock:
            if self.client is None or not self.bound:
                raise smpplib.exceptions.ConnectionError("not bound")
            self.client.send_pdu(pdu)

    def answer(self, command: str, sequence: int, status: int, generation: int) -> None:
        """Answer a PDU the SMSC sent on connection `generation`; nothing if that
        connection died meanwhile (the SMSC sends the PDU again)."""
        try:
            with self.send_lock:
                if self.client is None or not self.bound or generation != self.generation:
                    return
                resp = smpplib.smpp.make_pdu(command, client=self.client, status=status)
                resp.sequence = sequence
                self.client.send_pdu(resp)
        except Exception as e:  # the socket died: the read loop notices and reconnects
            log.warning("smpp %s: could not send %s: %r", self.link.name, command, e)

    def submit(self, slots: Sequence[_Slot]) -> None:
        """Send parts in one write (their outcome becomes PENDING, or LOST if the write
        failed). One write for what the window has room for: a write per submit_sm, each
        a system call and a switch to the SMSC's side of the loopback, held the link to
        a quarter of what a plain smpplib loop sends."""
        with self.send_lock:
            client = self.client
            if client is None or not self.bound:
                raise smpplib.exceptions.ConnectionError("not bound")
            made = [smpplib.smpp.make_pdu("submit_sm", client=client, **s.fields) for s in slots]
            data = b"".join(pdu.generate() for pdu in made)  # before any is awaited
            with self.link.cond:
                now = time.monotonic()
                for slot, pdu in zip(slots, made, strict=True):
                    slot.outcome, slot.session, slot.sequence = PENDING, self, pdu.sequence
                    slot.sent_at = now
                    self.pending[pdu.sequence] = slot
            try:
                # smpplib's send_pdu writes one PDU; its socket takes them all at once.
                client._socket.sendall(data)
            except Exception:  # some octets may have left: never send them again
                for pdu in made:
                    self.link.resolve(self, pdu.sequence, LOST)
                # A PDU cut short leaves the stream out of step: end the session (the
                # reader sees it and binds again).
                with contextlib.suppress(OSError):
                    client._socket.shutdown(socket.SHUT_RDWR)

    def _drop(self) -> None:
        """The session is gone: parts awaiting an answer on it are lost."""
        with self.link.cond:
            self.bound = False
            for slot in self.pending.values():
                slot.outcome = LOST
            self.pending.clear()
            self.outstanding = 0
            self.link.cond.notify_all()
        self._disconnect()

    def _disconnect(self) -> None:
        """Close the socket, if any."""
        with self.send_lock:
            client, self.client = self.client, None
        if client is not None and client._socket is not None:
            try:
                client._socket.close()
            finally:
                client._socket = None
                client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED

    def stop(self) -> None:
        """Unbind politely and shut the socket so the reader returns."""
        client = self.client
        if client is not None and self.bound:
            self.answer_unbind()
        if client is not None and client._socket is not None:
            with contextlib.suppress(OSError):
                client._socket.shutdown(socket.SHUT_RDWR)

    def answer_unbind(self) -> None:
        """Send unbind without waiting for its resp."""
        with contextlib.suppress(Exception):  # closing anyway
            self.send(smpplib.smpp.make_pdu("unbind", client=self.client))


_Ack = tuple[_Session, int, int]  # session, its connection generation, sequence number


def _answer(ack: _Ack, status: int) -> None:
    """deliver_sm_resp with `status` to the deliver_sm `ack` names."""
    session, generation, sequence = ack
    session.answer("deliver_sm_resp", sequence, status, generation)


def _text(pdu: Any, name: str) -> str:
    """A C-string field of a parsed PDU as str ('' when absent)."""
    value = getattr(pdu, name, None)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value or ""


def _deliver_sm(pdu: Any) -> pdus.DeliverSm:
    """The fields of a smpplib deliver_sm that matter here."""
    short = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    return pdus.DeliverSm(
        esm_class=pdu.esm_class or 0,
        data_coding=pdu.data_coding or 0,
        short_message=short if isinstance(short, bytes) else str(short).encode("latin-1"),
        source_addr=_text(pdu, "source_addr"),
        destination_addr=_text(pdu, "destination_addr"),
        receipted_message_id=_text(pdu, "receipted_message_id") or None,
        message_state=getattr(pdu, "message_state", None),
        user_message_reference=getattr(pdu, "user_message_reference", None),
    )


@dataclass
class _MoParts:
    """Parts of a long MO message seen so far, and the deliver_sm to answer for them."""

    first_seen: float
    parts: dict[int, str] = field(default_factory=dict)
    octets: dict[int, bytes] = field(default_factory=dict)  # what identifies each part
    smsc_id: str | None = None  # the SMSC's own id of the message, when it gives one
    acks: list[_Ack] = field(default_factory=list)


class SmppCarrier:
    """A Carrier over SMPP 3.4 (the contract of carriers/base.py)."""

    def __init__(self, name: str, options: SmppOptions, clock: Clock) -> None:
        self.name = name
        self.options = options
        self.clock = clock
        self.zone = ZoneInfo(options.smsc_timezone)
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.inbox: queue.Queue[tuple[_Ack, pdus.DeliverSm]] = queue.Queue()
        self._mo_seq = itertools.count()
        self._pacer = _Pacer(options.tps)
        self._refs: Iterator[int] = itertools.cycle(range(256))
        self._events: LinkEvents | None = None
        self._mo: dict[tuple[str, str, int, int], _MoParts] = {}
        roles = ["trx"] if options.bind_mode == "trx" else ["tx", "rx"]
        self.sessions = [_Session(self, role, i) for i in range(options.binds) for role in roles]
        self._pump = threading.Thread(target=self._pump_events, name=f"smpp-{name}-events")
        self._pump.daemon = True

    # -- the Carrier contract ------------------------------------------------------------

    def open(self, events: LinkEvents) -> None:
        """Start binding every session; receipts and MO go to `events` from now on."""
        self._events = events
        self._pump.start()
        for session in self.sessions:
            session.thread.start()

    def available(self) -> bool:
        """True while at least one session that may submit is bound."""
        return any(s.bound and s.transmits for s in self.sessions)

    def poll(self) -> None:
        """Nothing to do: the sessions' threads hand what arrives to the events."""

    def close(self) -> None:
        """Unbind, close the sockets and stop the threads."""
        self.stopping.set()
        for session in self.sessions:
            session.stop()
        for session in self.sessions:
            if session.thread.is_alive():
                session.thread.join(timeout=5)
        if self._pump.is_alive():
            self._pump.join(timeout=5)

    def submit(self, batch: Sequence[Submission]) -> list[SubmitResult]:
        """Send every part of every submission (paced, windowed over the binds); one
        result per submission that got an answer or was certainly not sent."""
        results: list[SubmitResult] = []
        jobs: list[_Job] = []
        for sub in batch:
            try:
                parts = pdus.encode_parts(sub.text, sub.encoding, next(self._refs))
            except ValueError as e:
                results.append(
                    SubmitResult(sub.item_id, False, error=f"SMPP_ENCODING: {e}", link=self.name)
                )
                continue
            if len(parts) != sub.parts:  # the same function priced it: a bug somewhere
                log.error(
                    "smpp %s: item %s priced %s parts, sent as %s",
                    self.name,
                    sub.item_id,
                    sub.parts,
                    len(parts),
                )
            slots = [_Slot(pdus.submit_fields(sub, part, self.options)) for part in parts]
            jobs.append(_Job(sub, slots))
        resend_until = time.monotonic() + 2 * self.options.submit_timeout_seconds
        todo = [slot for job in jobs for slot in job.slots]
        while todo:
            self._send_all(todo)
            if all(s.outcome == UNSENT for s in todo):
                break  # nothing is bound: no point in trying again now
            self._await(todo)
            todo = [
                s
                for job in jobs
                if self._must_resend(job)
                for s in job.slots
                if s.outcome in (UNSENT, FAILED)
            ]
            if time.monotonic() > resend_until:
                break
        results.extend(r for r in map(self._result, jobs) if r is not None)
        return results

    # -- submitting ----------------------------------------------------------------------

    def _send_all(self, slots: list[_Slot]) -> None:
        """Send the slots in order, as many at a time as a window has room for (and the
        pacing lets go); once no session is bound, the rest stay UNSENT."""
        sent = 0
        while sent < len(slots):
            # The pacing first: window places are taken only for what may go at once.
            taken = self._acquire(self._pacer.take(len(slots) - sent))
            if taken is None:
                return
            session, going = taken
            try:
                session.submit(slots[sent : sent + going])
            except smpplib.exceptions.ConnectionError:
                self._release(session, going)  # it died before the write: they are unsent
                continue  # on another session, if one is bound (this one no longer is)
            sent += going

    def _acquire(self, wanted: int) -> tuple[_Session, int] | None:
        """The bound session with the most room in its window, taking up to `wanted`
        places in it (at least one); waits for room up to submit_timeout_seconds; None
        when nothing is bound."""
        deadline = time.monotonic() + self.options.submit_timeout_seconds
        with self.cond:
            while True:
                bound = [s for s in self.sessions if s.bound and s.transmits]
                if not bound:
                    return None
                best = min(bound, key=lambda s: s.outstanding)
                room = self.options.window - best.outstanding
                if room > 0:
                    places = min(room, wanted)
                    best.outstanding += places
                    return best, places
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def _release(self, session: _Session, places: int) -> None:
        """Give back window places taken by _acquire."""
        with self.cond:
            session.outstanding = max(0, session.outstanding - places)
            self.cond.notify_all()

    def _await(self, slots: list[_Slot]) -> None:
        """Wait for the answers; those still missing submit_timeout_seconds after their
        send are LOST (and their window places freed: a late answer is ignored)."""
        timeout = self.options.submit_timeout_seconds
        with self.cond:
            while True:
                waiting = [s for s in slots if s.outcome == PENDING]
                if not waiting:
                    return
                now = time.monotonic()
                late = [s for s in waiting if now - s.sent_at >= timeout]
                for slot in late:
                    self._forget(slot)
                if len(late) == len(waiting):
                    return
                self.cond.wait(min(s.sent_at for s in waiting) + timeout - now)

    def _forget(self, slot: _Slot) -> None:
        """A part that timed out (caller holds cond)."""
        session = slot.session
        slot.outcome = LOST
        if session is not None and session.pending.pop(slot.sequence, None) is slot:
            session.outstanding = max(0, session.outstanding - 1)
            self.cond.notify_all()

    def on_submit_resp(
        self, session: _Session, sequence: int, status: int, message_id: str
    ) -> None:
        """A submit_sm_resp (or generic_nack) arrived on a session."""
        if status in pdus.RETRY_STATUSES:
            self._pacer.pause(self.options.throttle_pause_seconds)
        outcome = OK if status == pdus.ESME_ROK and message_id else FAILED
        self.resolve(session, sequence, outcome, status, message_id)

    def resolve(
        self, session: _Session, sequence: int, outcome: str, status: int = 0, message_id: str = ""
    ) -> None:
        """Settle the part sent with `sequence` on `session`, if still awaited."""
        with self.cond:
            slot = session.pending.pop(sequence, None)
            if slot is None:
                return
            slot.outcome, slot.status, slot.message_id = outcome, status, message_id
            session.outstanding = max(0, session.outstanding - 1)
            self.cond.notify_all()

    @staticmethod
    def _must_resend(job: _Job) -> bool:
        """A part was throttled (or not sent) while another of the same message went:
        only those parts go again, so that the message arrives whole."""
        outcomes = [s.outcome for s in job.slots]
        retry = [
            s
            for s in job.slots
            if s.outcome == UNSENT or (s.outcome == FAILED and s.status in pdus.RETRY_STATUSES)
        ]
        hard = [s for s in job.slots if s.outcome == FAILED and s.status not in pdus.RETRY_STATUSES]
        return bool(retry) and not hard and (OK in outcomes or LOST in outcomes)

    def _result(self, job: _Job) -> SubmitResult | None:
        """What to report for a submission; None: it may have gone, its receipt decides."""
        item, slots = job.sub.item_id, job.slots
        hard = [s for s in slots if s.outcome == FAILED and s.status not in pdus.RETRY_STATUSES]
        if hard:
            return SubmitResult(
                item, False, error=pdus.status_error(hard[0].status), link=self.name
            )
        if all(s.outcome == OK for s in slots):
            refs = tuple(s.message_id for s in slots)
            return SubmitResult(
                item, True, refs[0], link=self.name, part_refs=refs if len(refs) > 1 else ()
            )
        if any(s.outcome in (OK, LOST, PENDING) for s in slots):
            return None
        throttled = [s for s in slots if s.outcome == FAILED]
        error = pdus.status_error(throttled[0].status) if throttled else "SMPP_NOT_BOUND"
        return SubmitResult(item, False, error=error, link=self.name, retry=True)

    # -- receiving -----------------------------------------------------------------------

    def _pump_events(self) -> None:
        """Hand what the sessions received to the events, in batches, then answer it."""
        while not self.stopping.is_set():
            try:
                first = self.inbox.get(timeout=0.5)
            except queue.Empty:
                self._flush_mo(force_older_than=self.options.mo_reassembly_seconds)
                continue
            batch = [first]
            while len(batch) < 1000:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            self._handle_batch(batch)

    def _handle_batch(self, batch: list[tuple[_Ack, pdus.DeliverSm]]) -> None:
        """Record receipts, then MO messages; answer each deliver_sm after its record."""
        now = self.clock.now()
        receipts: list[DeliveryReceipt] = []
        acks: list[_Ack] = []
        for ack, pdu in batch:
            if pdus.is_receipt(pdu):
                receipt = pdus.parse_receipt(pdu, self.zone, now, self.name)
                if receipt is None:  # not final, or unusable: nothing to record
                    _answer(ack, pdus.ESME_ROK)
                    continue
                receipts.append(receipt)
                acks.append(ack)
            else:
                self._collect_mo(ack, pdu)
        if receipts:
            self._deliver(lambda: self._require_events().receipts(receipts), acks)
        self._flush_mo(force_older_than=self.options.mo_reassembly_seconds)

    def _deliver(self, record: Callable[[], None], acks: list[_Ack]) -> None:
        """Run `record`; answer ESME_ROK after it returned, a temporary error if it raised."""
        try:
            record()
            status = pdus.ESME_ROK
        except Exception:  # whatever failed, the SMSC must send it again
            log.exception("smpp %s: recording failed; the SMSC will redeliver", self.name)
            status = pdus.ESME_RX_T_APPN
        for ack in acks:
            _answer(ack, status)

    def _collect_mo(self, ack: _Ack, pdu: pdus.DeliverSm) -> None:
        """Keep an MO part until its message is whole (a short one is whole at once)."""
        part = pdus.decode_mo(pdu)
        if part.ref is None:  # a message of its own: a key no other part shares
            key = (pdu.source_addr, pdu.destination_addr, -1, next(self._mo_seq))
        else:
            key = (pdu.source_addr, pdu.destination_addr, part.ref, part.total)
        entry = self._mo.setdefault(key, _MoParts(time.monotonic()))
        entry.parts[part.number] = part.text  # a part sent again replaces the first copy
        entry.octets[part.number] = pdus.mo_identity(pdu)
        entry.smsc_id = entry.smsc_id or pdu.receipted_message_id
        entry.acks.append(ack)

    def _flush_mo(self, force_older_than: float) -> None:
        """Record the MO messages that are whole, and those that waited too long for a
        missing part (as far as they got), then answer their deliver_sm."""
        now = time.monotonic()
        ready = []
        for key, entry in list(self._mo.items()):
            total = key[3] if key[2] >= 0 else 1
            if len(entry.parts) >= total or now - entry.first_seen >= force_older_than:
                ready.append((key, entry))
                del self._mo[key]
        if not ready:
            return
        received = self.clock.now()
        messages = [
            InboundMessage(
                source=key[0],
                destination=key[1],
                text="".join(entry.parts[n] for n in sorted(entry.parts)),
                received_at=received,
                link=self.name,
                carrier_ref=self._mo_ref(key, entry, received),
            )
            for key, entry in ready
        ]
        acks = [ack for _, entry in ready for ack in entry.acks]
        self._deliver(lambda: self._require_events().inbound(messages), acks)

    def _mo_ref(self, key: tuple[str, str, int, int], entry: _MoParts, at: datetime) -> str:
        """The MO's reference: the same when the SMSC redelivers it (see pdus.mo_ref)."""
        octets = [entry.octets[n] for n in sorted(entry.octets)]
        window = self.options.mo_duplicate_window_seconds
        return pdus.mo_ref(key[0], key[1], octets, entry.smsc_id, at, window)

    def _require_events(self) -> LinkEvents:
        """The events given to open()."""
        if self._events is None:
            raise RuntimeError(f"SMPP link {self.name} was not opened")
        return self._events


def make_smpp_carrier(name: str, options: Mapping[str, object], clock: Clock) -> SmppCarrier:
    """An SMPP link from its stored options (ValueError naming what is wrong)."""
    return SmppCarrier(name, SmppOptions.from_mapping(options), clock)
