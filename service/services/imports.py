"""Contact imports (/contact/import, `finsms contact import`): CSV rows into the book.

Rules kept here, once:
- one open (pending or running) import per user: a second is SMS13 (a partial unique
  index decides, so two concurrent requests cannot both pass);
- an API import is stored pending and processed in the background by any dispatcher
  (`run_next`), a CLI import runs at once in the CLI's process; both go through `_process`;
- rows are read in chunks of CHUNK_ROWS, each written in one transaction together with
  the import's progress, so a worker killed mid-import loses at most one chunk: another
  takes the import again when its lease expires and starts after the last chunk written;
- an invalid row (bad number, bad date, wrong number of values…) is counted and its line
  and reason kept (the first ERRORS_KEPT), never fatal; an import fails (SMS15) only when
  it cannot go on: its groupUUIDs deleted meanwhile, its file gone, an unexpected error.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from service.domain.errors import DomainError, Err, invalid
from service.domain.imports import (
    CHUNK_ROWS,
    GROUP_UUIDS_MAX,
    ContactImport,
    ImportCounts,
    ImportOptions,
    ImportRow,
    ImportState,
    RowError,
    is_header,
    parse_row,
    records,
)
from service.domain.principal import Principal, Scope
from service.services.contacts import find_group
from service.services.platform import Platform

T = TypeVar("T")
log = logging.getLogger("finsms.imports")
# A worker that has written no chunk for this long is taken for dead: its import is
# claimed again. A chunk takes well under a second; the margin covers a slow database.
IMPORT_LEASE = timedelta(minutes=2)
# Chunks after which the planner's statistics are refreshed: early and geometrically (the
# book's size changes most, relatively, at the start), then every 20 chunks.
_ANALYZE_AFTER = frozenset({1, 2, 4, 8})
STATUS_LIMIT = 10  # imports /contact/import-status lists
Progress = Callable[[int], None]  # called with the records read so far


class LostImport(Exception):
    """Another worker took the import over (this one's lease had expired)."""


def submit(
    platform: Platform, principal: Principal, csv_data: str, options: ImportOptions
) -> ContactImport:
    """/contact/import: store the import, pending, for a worker; SMS13 if one is open."""
    if not csv_data.strip():
        raise invalid("csvData", "zorunlu")
    _check_groups(platform, principal, options)
    now = _now(platform)
    with platform.uow.write() as tx:
        tx.imports.fail_abandoned(principal.user_id, _reason(Err.ERR_FILE_NOT_FOUND, None), now)
        found = tx.imports.add(principal.user_id, options, csv_data, None, None, now)
    if found is None:
        raise DomainError(Err.ERR_CONTACT_IMPORT_EXISTS)
    return found


def import_lines(
    platform: Platform,
    principal: Principal,
    lines: Iterable[str],
    options: ImportOptions,
    progress: Progress | None = None,
) -> ContactImport:
    """Import now, in this process (the CLI): the same rules, the import listed like an
    API one; its final state."""
    _check_groups(platform, principal, options)
    owner = f"cli:{uuidlib.uuid4()}"
    now = _now(platform)
    with platform.uow.write() as tx:
        tx.imports.fail_abandoned(principal.user_id, _reason(Err.ERR_FILE_NOT_FOUND, None), now)
        job = tx.imports.add(principal.user_id, options, None, owner, now + IMPORT_LEASE, now)
    if job is None:
        raise DomainError(Err.ERR_CONTACT_IMPORT_EXISTS)
    return _process(platform, job, owner, lines, progress)


def run_next(platform: Platform, owner: str) -> ContactImport | None:
    """Claim the oldest claimable import and process it; None when there was none."""
    now = _now(platform)
    with platform.uow.read() as tx:
        import_id = tx.imports.next_claimable(now)
    if import_id is None:
        return None
    with platform.uow.write() as tx:
        if not tx.imports.claim(import_id, owner, now, now + IMPORT_LEASE):
            return None  # another worker took it first
        job = tx.imports.get(import_id)
        source = tx.imports.source(import_id)
    assert job is not None
    if source is None:  # a CLI import whose process died: its file is not ours to read
        return _fail(platform, job, owner, job.counts, Err.ERR_FILE_NOT_FOUND, None)
    return _process(platform, job, owner, io.StringIO(source, newline=""), None)


def list_imports(
    platform: Platform, principal: Principal, limit: int = STATUS_LIMIT
) -> list[ContactImport]:
    """The caller's latest imports, newest first."""
    with platform.uow.read() as tx:
        return tx.imports.listing(principal.user_id, limit)


# --- processing ----------------------------------------------------------------------
def _process(
    platform: Platform,
    job: ContactImport,
    owner: str,
    lines: Iterable[str],
    progress: Progress | None,
) -> ContactImport:
    counts = job.counts
    try:
        group_ids = _group_ids(platform, job)
        done = job.records_done
        for number, (chunk, read) in enumerate(_prefetched(_chunks(job, lines))):
            if number in _ANALYZE_AFTER or number % 20 == 19:
                with platform.uow.write() as tx:
                    tx.imports.refresh_statistics()
            _write(platform, job, owner, chunk, group_ids, counts, done + read)
            done += read
            if progress is not None:
                progress(done)
    except LostImport:
        log.warning("contact import %s was taken over by another worker", job.uuid)
        return _current(platform, job)
    except DomainError as error:
        return _fail(platform, job, owner, counts, Err.ERR_CONTACT_IMPORT_FAILED, error.message)
    except Exception:
        log.exception("contact import %s failed", job.uuid)
        return _fail(platform, job, owner, counts, Err.ERR_CONTACT_IMPORT_FAILED, None)
    with platform.uow.write() as tx:
        tx.imports.finish(job.id, owner, ImportState.DONE, counts, None, _now(platform))
    return _current(platform, job)


def _chunks(
    job: ContactImport, lines: Iterable[str]
) -> Iterator[tuple[list[ImportRow | RowError], int]]:
    """(parsed rows, records read) per chunk, after the records already written."""
    columns = job.options.columns
    chunk: list[ImportRow | RowError] = []
    read = 0
    for index, (line, values) in enumerate(records(lines)):
        if index < job.records_done:
            continue
        read += 1
        if index == 0 and is_header(columns, values):
            continue
        chunk.append(parse_row(columns, line, values))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk, read
            chunk, read = [], 0
    if chunk or read:
        yield chunk, read


def _prefetched(chunks: Iterator[T]) -> Iterator[T]:
    """The chunks, the next one parsed in a thread while the current one is written: the
    database driver releases the GIL, so parsing and writing overlap. One chunk ahead at
    most (bounded memory); the parser's error is raised here, in order."""
    ahead: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer is gone

    def parse() -> None:
        try:
            for chunk in chunks:
                if not hand((True, chunk)):
                    return
            hand((False, None))
        except BaseException as error:  # handed to the consumer, raised there
            hand((False, error))

    thread = threading.Thread(target=parse, name="finsms-import-parse", daemon=True)
    thread.start()
    try:
        while True:
            more, value = ahead.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        thread.join()


def _write(
    platform: Platform,
    job: ContactImport,
    owner: str,
    chunk: Sequence[ImportRow | RowError],
    group_ids: Sequence[int],
    counts: ImportCounts,
    records_done: int,
) -> None:
    """One chunk and the progress that includes it, in one transaction."""
    rows = [r for r in chunk if isinstance(r, ImportRow)]
    errors = [r for r in chunk if isinstance(r, RowError)]
    now = _now(platform)
    with platform.uow.write() as tx:
        created, updated = tx.imports.write_chunk(job.user_id, rows, job.options, group_ids, now)
        after = ImportCounts(
            counts.total + len(chunk),
            counts.created + created,
            counts.updated + updated,
            counts.unchanged + len(rows) - created - updated,
            counts.invalid,
            list(counts.errors),
        )
        after.add_errors(errors)
        if not tx.imports.save_progress(job.id, owner, after, records_done, now + IMPORT_LEASE):
            raise LostImport  # undoes the chunk: the new owner writes it
    counts.__dict__.update(after.__dict__)


def _group_ids(platform: Platform, job: ContactImport) -> list[int]:
    """The groupUUIDs' ids, found again when processing starts (SMS15 if one is gone)."""
    ids = []
    with platform.uow.read() as tx:
        for group_uuid in job.options.group_uuids:
            group = tx.groups.find(Scope(job.user_id), group_uuid)  # the owner's own groups
            if group is None:
                raise DomainError(Err.ERR_PARENT_CONTACT_GROUP_NOT_FOUND, group_uuid)
            ids.append(group.id)
    return ids


def _check_groups(platform: Platform, principal: Principal, options: ImportOptions) -> None:
    if len(options.group_uuids) > GROUP_UUIDS_MAX:
        raise DomainError(Err.ERR_REQUEST_PARAM_LIMIT, f"groupUUIDs: en fazla {GROUP_UUIDS_MAX}")
    with platform.uow.read() as tx:
        for group_uuid in options.group_uuids:
            find_group(tx, principal, group_uuid)


def _fail(
    platform: Platform,
    job: ContactImport,
    owner: str,
    counts: ImportCounts,
    err: Err,
    detail: str | None,
) -> ContactImport:
    message = _reason(err, detail)
    with platform.uow.write() as tx:
        tx.imports.finish(job.id, owner, ImportState.FAILED, counts, message, _now(platform))
    return _current(platform, job)


def _reason(err: Err, detail: str | None) -> str:
    """A failed import's `error`: the name, code and message of the domain error."""
    wire = DomainError(err, detail).as_wire()
    return f"{wire['code']} ({wire['smsCode']}): {wire['message']}"


def _current(platform: Platform, job: ContactImport) -> ContactImport:
    with platform.uow.read() as tx:
        found = tx.imports.get(job.id)
    assert found is not None
    return found


def _now(platform: Platform) -> datetime:
    return platform.clock.now()
