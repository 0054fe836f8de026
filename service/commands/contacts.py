"""`finsms contact import / imports`: import a CSV file into a user's contacts, at once,
with a progress bar; list a user's imports (API ones included) and how they went."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click

from service.api.node.contacts import import_view
from service.cli import _JSON, _common, _Group, _output, _platform, _table
from service.domain.errors import DomainError, Err
from service.domain.imports import ImportOptions, ImportState, check_columns, records
from service.services import imports


@click.group("contact", cls=_Group)
@_common
def contact_group() -> None:
    """Users' contact books: CSV imports."""


def _columns(path: Path, given: str | None) -> tuple[str, ...]:
    """--columns, or else the file's first record (its header row)."""
    if given is not None:
        return check_columns(given.split(","))
    with path.open(encoding="utf-8-sig", newline="") as lines:
        first = next(records(lines), None)
    if first is None or not isinstance(first[1], list):
        raise click.UsageError("the file has no header row: give --columns")
    return check_columns(first[1])


def _bar(path: Path) -> AbstractContextManager[Any]:
    """A progress bar on stderr when it is a terminal (and the output not --json)."""
    if click.get_current_context().meta.get(_JSON) or not sys.stderr.isatty():
        return nullcontext()
    length = max(_line_count(path), 1)
    return click.progressbar(length=length, label="importing", file=sys.stderr)


def _line_count(path: Path) -> int:
    with path.open("rb") as raw:
        return sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b""))


@contact_group.command("import")
@click.argument("username")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--columns", help="Column names in file order, comma-separated (GSM, "
              "FIRST_NAME, LAST_NAME, BIRTH_DATE, GSM_2, GSM_3, GROUP_NAME, or a custom "
              "field); default: the file's header row.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace existing contacts' data.")
@click.option("--blacklist", is_flag=True, help="Blacklist every imported number.")
@click.option("--group", "groups", multiple=True, metavar="UUID",
              help="Also link every contact to this group (repeatable).")  # fmt: skip
@_common
def import_command(
    username: str,
    file: Path,
    columns: str | None,
    overwrite: bool,
    blacklist: bool,
    groups: tuple[str, ...],
) -> None:
    """Import FILE (CSV, values in single quotes) into USERNAME's contacts now, with the
    rules of /contact/import; exit 1 (SMS13) while another import of the user is open."""
    platform = _platform()
    principal = platform.auth.principal_of(username)
    options = ImportOptions(_columns(file, columns), overwrite, blacklist, tuple(groups))
    with _bar(file) as bar, file.open(encoding="utf-8-sig", newline="") as lines:
        done = [0]

        def progress(records_read: int) -> None:
            if bar is not None:
                bar.update(records_read - done[0])
            done[0] = records_read

        job = imports.import_lines(platform, principal, lines, options, progress)
    _output(import_view(platform, job), _status_text)
    if job.state == ImportState.FAILED:
        raise DomainError(Err.ERR_CONTACT_IMPORT_FAILED, job.error)


@contact_group.command("imports")
@click.argument("username")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many imports to list.")  # fmt: skip
@_common
def imports_command(username: str, limit: int) -> None:
    """List USERNAME's latest imports, newest first, with their counts."""
    platform = _platform()
    principal = platform.auth.principal_of(username)
    rows = [import_view(platform, j) for j in imports.list_imports(platform, principal, limit)]
    _output(rows, _imports_text)


def _status_text(view: dict[str, Any]) -> str:
    stats = view["stats"]
    lines = [
        f"import {view['uuid']}: {view['state']}",
        "  " + ", ".join(f"{k} {v}" for k, v in stats.items()),
    ]
    if view["error"]:
        lines.append(f"  error: {view['error']}")
    lines += [f"  line {r['line']}: {r['reason']}" for r in view["invalidRows"]]
    return "\n".join(lines)


def _imports_text(rows: list[dict[str, Any]]) -> str:
    flat = [{**r, **r["stats"]} for r in rows]
    columns = [("uuid", "uuid"), ("state", "state"), ("total", "total"),
               ("created", "created"), ("updated", "updated"), ("unchanged", "unchanged"),
               ("invalid", "invalid"), ("created at", "createDate"),
               ("finished at", "finishDate")]  # fmt: skip
    return _table(flat, columns, "no imports")
