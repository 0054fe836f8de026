"""The `finsms` command as a new operator meets it: help, version, bad databases, output.

Most cases call service.cli.main in process (fast); what depends on a real process (a
traceback on stderr, the current folder, gunicorn) runs `python -m service`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from alembic import command
from sqlalchemy import text

from service import cli
from service.store.db import Store
from service.store.migrate import run as run_migration
from tests.conftest import PG_URL, REQUIRE_PG, finsms, postgres_reachable

FINSMS = [sys.executable, "-m", "service"]


pytestmark = pytest.mark.usefixtures("cheap_cli")


def _pg_schema_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each kind (a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'finsms.db'}"
        return
    if not postgres_reachable():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but {PG_URL} is unreachable")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = f"finsms_cli_{uuid.uuid4().hex[:10]}"
    admin = Store(PG_URL, pool_size=1)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield _pg_schema_url(schema)
    with admin.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def url(empty_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A migrated database of each kind."""
    assert finsms(capsys, "migrate", "--database", empty_url)[0] == 0
    return empty_url


# --- the command's surface ------------------------------------------------------------


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command_ in group.commands.items():
        yield (*path, name), command_
        if isinstance(command_, click.Group):
            yield from _commands(command_, (*path, name))


def test_every_command_and_option_has_help() -> None:
    undocumented = []
    for path, command_ in [((), cli.cli), *_commands(cli.cli)]:
        if not command_.help:
            undocumented.append(" ".join(path) or "finsms")
        for param in command_.params:
            if isinstance(param, click.Option) and not param.help:
                undocumented.append(f"{' '.join(path)} {param.opts[0]}")
    assert undocumented == []


def test_help_of_a_nested_command_shows_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = finsms(capsys, "credit", "transfer", "--help")
    assert code == 0
    assert "--from" in out and "--to" in out and "--database" in out and "--json" in out


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = finsms(capsys, "--version")
    assert code == 0 and out.strip() == f"finsms {version('finsms')}"


@pytest.mark.parametrize(
    "args",
    [
        ["user", "create"],  # missing NAME
        ["credit", "add", "bayi", "many"],  # not an integer
        ["user", "list", "--no-such-option"],
        ["no-such-command"],
        [],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = finsms(capsys, *args)
    assert code == 2, err


def test_json_and_database_go_before_or_after_the_command_words(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    assert finsms(capsys, "user", "create", "bayi", "--password", "bayi-pass", "--type", "1",
                  "--database", url)[0] == 0  # fmt: skip
    after = finsms(capsys, "user", "list", "--json", "--database", url)
    before = finsms(capsys, "--json", "--database", url, "user", "list")
    between = finsms(capsys, "user", "--json", "--database", url, "list")
    assert after[0] == before[0] == between[0] == 0
    assert [u["username"] for u in json.loads(after[1])] == ["bayi"]
    assert after[1] == before[1] == between[1]


# --- a database that cannot be used ---------------------------------------------------


def _bad_urls(tmp_path: Path) -> dict[str, str]:
    return {
        "unparseable": "postgres//admin:hunter2@db/finsms",
        "unknown driver": "nosuchdb://admin:hunter2@db/finsms",
        "driver not installed": "mysql+pymysql://admin:hunter2@db/finsms",
        "unreachable host": "postgresql://admin:hunter2@127.0.0.1:1/finsms",
        "unknown host": "postgresql://admin:hunter2@nohost.invalid/finsms",
        "sqlite in a missing folder": f"sqlite:///{tmp_path / 'no' / 'such' / 'finsms.db'}",
    }


COMMANDS = [
    ["migrate"],
    ["serve", "--port", "1"],  # would fail to bind, were the database good
    ["worker"],
    ["user", "list"],
    ["user", "create", "x", "--password", "secret-pass"],
    ["credit", "show", "x"],
    ["sender", "list", "x"],
]


@pytest.mark.parametrize("kind", list(_bad_urls(Path("/tmp"))))
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_a_bad_database_is_one_line_naming_the_option_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str, args: list[str]
) -> None:
    url = _bad_urls(tmp_path)[kind]
    code, out, err = finsms(capsys, *args, "--database", url)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "--database" in err and "hunter2" not in err and out == ""
    assert not (tmp_path / "no").exists()


def test_a_bad_database_url_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "postgresql://admin:hunter2@127.0.0.1:1/finsms"
    for args in (["migrate"], ["user", "list"]):
        done = subprocess.run(
            [*FINSMS, *args],
            env={**os.environ, "FINSMS_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: FINSMS_DATABASE_URL"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "cannot connect" in done.stderr and "hunter2" not in done.stderr


# --- a database without the current schema --------------------------------------------


def test_a_command_in_another_folder_creates_no_database_and_says_to_migrate(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [*FINSMS, "user", "list"],
        env={k: v for k, v in os.environ.items() if k != "FINSMS_DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "finsms migrate" in done.stderr and str(tmp_path / "finsms.db") in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_is_refused_until_migrated(
    capsys: pytest.CaptureFixture[str], empty_url: str
) -> None:
    if empty_url.startswith("sqlite"):
        sqlite3.connect(empty_url.removeprefix("sqlite:///")).close()  # an empty file
    code, _, err = finsms(capsys, "user", "list", "--database", empty_url)
    assert code == 2 and "finsms migrate" in err and "no FinSMS schema" in err, err
    assert finsms(capsys, "migrate", "--database", empty_url)[0] == 0
    assert finsms(capsys, "user", "list", "--database", empty_url)[0] == 0


def test_a_database_behind_the_code_is_refused_until_migrated(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    store = Store(url)
    run_migration(store, command.downgrade, "0001")
    store.dispose()
    code, _, err = finsms(capsys, "credit", "show", "x", "--database", url)
    assert code == 2 and "finsms migrate" in err and "0001" in err, err
    assert finsms(capsys, "migrate", "--database", url)[0] == 0
    assert finsms(capsys, "user", "list", "--database", url)[0] == 0


# --- human output ---------------------------------------------------------------------


def _setup_accounts(capsys: pytest.CaptureFixture[str], url: str) -> None:
    for args in (
        ["user", "create", "bayi", "--password", "bayi-pass", "--type", "1"],
        ["user", "create", "musteri", "--password", "musteri-pass", "--parent", "bayi"],
        ["credit", "add", "bayi", "500", "--note", "opening"],
        ["credit", "transfer", "--from", "bayi", "--to", "musteri", "200"],
    ):
        code, _, err = finsms(capsys, *args, "--database", url)
        assert code == 0, err


def _columns(line: str, header: str, names: list[str]) -> list[str]:
    """The cells of `line` under each named header (headers are two or more spaces apart;
    a column spans from where its header starts to where the next one does)."""
    starts = {m.group(): m.start() for m in re.finditer(r"\S+(?: \S+)*", header)}
    bounds = sorted(starts.values())
    cells = {}
    for name, start in starts.items():
        later = [b for b in bounds if b > start]
        cells[name] = line[start : later[0] if later else None].strip()
    return [cells[name] for name in names]


def test_credit_show_is_a_balance_line_and_an_aligned_ledger(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _setup_accounts(capsys, url)
    code, out, _ = finsms(capsys, "credit", "show", "bayi", "--database", url)
    assert code == 0
    lines = out.rstrip("\n").splitlines()
    assert re.fullmatch(r"bayi: balance 300", lines[0]), lines[0]
    names = ["date", "amount", "balance after", "reason", "package", "note"]
    header = lines[1]
    assert [h for h in names if h in header] == names, header
    rows = [_columns(line, header, names) for line in lines[2:]]
    assert [r[1:5] for r in rows] == [
        ["-200", "300", "transfer_out", ""],
        ["500", "500", "topup", ""],
    ]
    assert rows[1][5] == "opening" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0][0])
    assert "[" not in out and "{" not in out


def test_credit_show_json_keeps_the_machine_form(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _setup_accounts(capsys, url)
    code, out, _ = finsms(capsys, "credit", "show", "musteri", "--json", "--database", url)
    shown = json.loads(out)
    assert code == 0 and shown["credit"] == 200 and shown["ledger"][0]["reason"] == "transfer_in"


def test_user_list_is_a_table_and_user_show_aligned_pairs(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    _setup_accounts(capsys, url)
    code, out, _ = finsms(capsys, "user", "list", "--database", url)
    header, *rows = out.rstrip("\n").splitlines()
    names = ["username", "type", "parent", "credit"]
    assert code == 0 and [h for h in names if h in header] == names, header
    assert [_columns(r, header, names) for r in rows] == [
        ["bayi", "1 reseller", "", "300"],
        ["musteri", "3 standard", "bayi", "200"],
    ]
    code, out, _ = finsms(capsys, "user", "show", "musteri", "--database", url)
    pairs = [re.split(r"\s{2,}", line, maxsplit=1) for line in out.strip().splitlines()]
    assert code == 0 and ["parent", "bayi"] in pairs and ["credit", "200"] in pairs
    values_at = {
        line.index(value) for line, (_, value) in zip(out.splitlines(), pairs, strict=True)
    }
    assert len(values_at) == 1  # one column of values


def test_a_domain_error_prints_its_code_and_exits_1(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = finsms(capsys, "credit", "add", "nobody", "5", "--database", url)
    assert code == 1 and out == ""
    assert re.fullmatch(r"error: ERR_USER_NOT_FOUND \(SMS\d\d\): .*\n", err), err
    code, out, _ = finsms(capsys, "credit", "add", "nobody", "5", "--json", "--database", url)
    assert code == 1 and json.loads(out)["err"]["code"] == "ERR_USER_NOT_FOUND"


def test_a_negative_transfer_takes_credit_back(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    # AMOUNT -50 must reach the command as a number, not be read as an unknown option.
    _setup_accounts(capsys, url)
    code, out, err = finsms(
        capsys, "credit", "transfer", "--from", "bayi", "--to", "musteri", "-50", "--json",
        "--database", url,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"bayi": 350, "musteri": 150}
