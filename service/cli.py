"""`finsms`: serve, run the worker, migrate, and administer users, credit and senders.

An adapter: each command turns its arguments into one service call and renders the
result, as aligned text or, with --json, one JSON document. It never prompts when its
arguments are given. Exit status: 0 success, 1 a domain error (its code on stderr, and
the `{"err": ...}` document on stdout with --json), 2 a usage or configuration error.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from service.config import Settings, SettingsError
from service.domain.constants import CustomerType, SenderState, UserType
from service.domain.errors import DomainError
from service.domain.records import LedgerEntry, Sender, User
from service.services import credit, senders, users
from service.services.platform import Platform, SchemaNotCurrent, UnusableDatabase

DEMO_USER, DEMO_PASSWORD, DEMO_SENDER, DEMO_CREDIT = "demo", "demo1234", "FINSMS", 1000

# Where --json and --database land, whichever command word they follow (ctx.meta is
# shared by the contexts of `finsms`, `finsms user` and `finsms user list`).
_JSON, _DATABASE = "finsms.json", "finsms.database"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `finsms` command; returns its exit status."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="finsms",
            standalone_mode=False,
        )
    except click.exceptions.Abort:  # Ctrl-C or end of input at a password prompt
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as error:  # usage and configuration errors: 2
        error.show()
        return error.exit_code
    return code if isinstance(code, int) else 0


class ConfigError(click.ClickException):
    """A setting or database FinSMS cannot run with: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Print `error: <reason>`, without click's usage banner."""
        click.echo(f"error: {self.format_message()}", err=True)


# --- options every command takes ------------------------------------------------------


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value:  # not given here: keep what an outer command word was given
            ctx.meta[key] = value

    return store


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """--json and --database, accepted after any command word."""
    f = click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_remember(_JSON),
        help="Print one JSON document instead of text (errors: {'err': ...}).",
    )(f)
    return click.option(
        "--database",
        metavar="URL",
        expose_value=False,
        callback=_remember(_DATABASE),
        help="Database URL: sqlite:///PATH or postgresql://USER@HOST/DB "
        "[default: $FINSMS_DATABASE_URL, else sqlite:///finsms.db].",
    )(f)


class _Group(click.Group):
    """A command word: alone, it shows its help and exits 2 (the same on every click 8)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Show help and exit 2 when no word or option follows."""
        if not args:
            click.echo(ctx.get_help(), err=True)
            ctx.exit(2)
        return super().parse_args(ctx, args)


class _Root(_Group):
    """`finsms`: turns domain and configuration errors into their exit statuses."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a domain error exits 1, an unusable setting or database 2."""
        try:
            return super().invoke(ctx)
        except DomainError as error:
            _emit_error(ctx, error)
            raise click.exceptions.Exit(1) from None
        except SettingsError as error:
            raise ConfigError(str(error)) from None
        except UnusableDatabase as error:
            raise ConfigError(f"{_database_origin(ctx)}: {error}") from None
        except SchemaNotCurrent as error:
            todo = "run 'finsms migrate' first" if error.upgradable else "upgrade FinSMS"
            raise ConfigError(f"{error} ({_database_origin(ctx)}): {todo}") from None


def _database_origin(ctx: click.Context) -> str:
    """Which option or variable named the database, its password hidden."""
    if ctx.meta.get(_DATABASE):
        return f"--database {_hide_password(ctx.meta[_DATABASE])}"
    if "FINSMS_DATABASE_URL" in os.environ:
        return f"FINSMS_DATABASE_URL={_hide_password(os.environ['FINSMS_DATABASE_URL'])}"
    return f"FINSMS_DATABASE_URL not set, default {Settings.database_url}"


def _hide_password(url: str) -> str:
    # Textually: the URL may be one SQLAlchemy cannot parse.
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def _version() -> str:
    try:
        return version("finsms")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"finsms {_version()}")
        ctx.exit(0)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the installed FinSMS version and exit.",
)
@_common
def cli() -> None:
    """FinSMS SMS platform server: serve the Node API (JSON and SOAP), run the
    dispatcher, and administer users, credit and senders."""


# --- rendering ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Service results, dicts or dataclasses (or lists of them), as plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _output(result: Any, human: Callable[[Any], str]) -> None:
    """Print a service result: JSON with --json, else human(result as plain data)."""
    data = _plain(result)
    if click.get_current_context().meta.get(_JSON):
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        click.echo(human(data))


def _emit_error(ctx: click.Context, error: DomainError) -> None:
    if ctx.meta.get(_JSON):
        click.echo(json.dumps({"err": error.as_wire()}, ensure_ascii=False))
    click.echo(f"error: {error.err.name} ({error.err.sms_code}): {error.message}", err=True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _label(key: str) -> str:
    """`duplicateCheck` and `duplicate_check` alike as `duplicate check`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key).replace("_", " ").lower()


def _pairs(record: dict[str, Any]) -> str:
    """Aligned `key  value` lines."""
    width = max((len(_label(k)) for k in record), default=0)
    return "\n".join(f"{_label(k):<{width}}  {_text(v)}" for k, v in record.items())


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], empty: str) -> str:
    """Rows under headers; columns of numbers aligned right. columns: (header, key)."""
    if not rows:
        return empty
    cells = [[_text(row.get(key)) for _, key in columns] for row in rows]
    numeric = [
        all(re.fullmatch(r"-?\d+", c[i]) or not c[i] for c in cells) for i in range(len(columns))
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _) in enumerate(columns)]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line([h for h, _ in columns]), *(line(c) for c in cells)])


def _named(kind: Any, value: Any) -> str:
    """`3 standard` for UserType 3: the code scripts use, the name people read."""
    try:
        return f"{int(value)} {kind(int(value)).name.lower().replace('_', '-')}"
    except (TypeError, ValueError):
        return _text(value)


def _user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {
        **user,
        "type": _named(UserType, user.get("type")),
        "customerType": _named(CustomerType, user.get("customerType")),
    }


def _user_text(user: dict[str, Any]) -> str:
    return _pairs(_user_view(user))


_USER_COLUMNS = [
    ("username", "username"),
    ("type", "type"),
    ("parent", "parent"),
    ("credit", "credit"),
    ("unlimited", "unlimited"),
    ("active", "active"),
    ("duplicate check", "duplicateCheck"),
]


def _users_text(rows: list[dict[str, Any]]) -> str:
    return _table([_user_view(u) for u in rows], _USER_COLUMNS, "no users")


def _sender_text(sender: dict[str, Any]) -> str:
    return _pairs({**sender, "status": _named(SenderState, sender.get("status"))})


def _senders_text(rows: list[dict[str, Any]]) -> str:
    shown = [{**s, "status": _named(SenderState, s.get("status"))} for s in rows]
    return _table(shown, [("title", "title"), ("status", "status"), ("uuid", "uuid")], "no senders")


_LEDGER_COLUMNS = [
    ("date", "date"),
    ("amount", "amount"),
    ("balance after", "balanceAfter"),
    ("reason", "reason"),
    ("package", "pkgID"),
    ("note", "note"),
]


def _credit_text(shown: dict[str, Any]) -> str:
    entries = [{**e, "date": str(e.get("date", "")).replace("T", " ")} for e in shown["ledger"]]
    ledger = _table(entries, _LEDGER_COLUMNS, "no ledger entries")
    return f"{shown['username']}: balance {shown['credit']}\n{ledger}"


def _balances_text(balances: dict[str, Any]) -> str:
    return "\n".join(f"{name}: balance {amount}" for name, amount in balances.items())


# --- the platform ---------------------------------------------------------------------


def _settings(**changes: Any) -> Settings:
    database = click.get_current_context().meta.get(_DATABASE)
    settings = Settings.from_env(**({"database_url": database} if database else {}))
    return settings.with_(**changes) if changes else settings


def _platform(*, schema_required: bool = True) -> Platform:
    """The platform on the chosen database; refused unless its schema is current
    (so that a command run in the wrong folder creates no empty finsms.db there)."""
    platform = Platform(_settings())
    click.get_current_context().call_on_close(platform.close)
    platform.check_database(schema=schema_required)
    return platform


def _password(password: str | None, from_stdin: bool) -> str:
    if password is not None:
        return password
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    raise click.UsageError("give --password or --password-stdin (no terminal to ask on)")


def _password_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--password-stdin",
        is_flag=True,
        help="Read the password from the first line of standard input.",
    )(f)
    return click.option(
        "--password",
        metavar="P",
        help="The password (at least 6 characters); asked for on a terminal if not given.",
    )(f)


# --- serve, worker, migrate -----------------------------------------------------------


@cli.command("serve")
@click.option("--host", metavar="H", help="Address to bind [default: $FINSMS_HOST, else 0.0.0.0].")
@click.option("--port", type=int, metavar="P", help="Port [default: $FINSMS_PORT, else 9587].")
@click.option(
    "--workers",
    type=int,
    metavar="N",
    help="gunicorn worker processes [default: $FINSMS_WORKERS, else 2].",
)
@click.option(
    "--demo",
    is_flag=True,
    help=f"Create user {DEMO_USER}/{DEMO_PASSWORD} with {DEMO_CREDIT} credits and the "
    f"approved sender {DEMO_SENDER} (once).",
)
@_common
def serve_command(host: str | None, port: int | None, workers: int | None, demo: bool) -> None:
    """Serve the JSON and SOAP APIs with gunicorn.

    Migrates the database first, and runs the dispatcher inside each worker unless
    FINSMS_EMBEDDED_WORKER=0."""
    from service.server import PortBusy, serve

    settings = _settings()
    settings = settings.with_(
        host=host or settings.host, port=port or settings.port, workers=workers or settings.workers
    )
    platform = Platform(settings)
    platform.check_database(schema=False)
    platform.migrate()
    if demo:
        seed_demo(platform)
    platform.close()
    try:
        serve(settings)
    except PortBusy as busy:
        raise click.ClickException(str(busy)) from None


@cli.command("worker")
@_common
def worker_command() -> None:
    """Run the dispatcher alone until interrupted.

    Run any number, on any hosts, against PostgreSQL; the database must be migrated."""
    from service.delivery.carriers.registry import make_dispatcher
    from service.delivery.webhooks import WebhookSender

    platform = _platform()
    dispatcher = make_dispatcher(platform)
    hooks = WebhookSender(platform)  # delivery reports to push URLs, beside the dispatcher
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher.start()
    hooks.start()
    click.echo(f"finsms worker {dispatcher.owner} running", err=True)
    stop.wait()
    dispatcher.stop()
    hooks.stop()


@cli.command("migrate")
@_common
def migrate_command() -> None:
    """Bring the database schema up to date.

    Creates the SQLite file if it is missing; the only command besides serve that
    accepts a database without the current schema."""
    platform = _platform(schema_required=False)
    platform.migrate()
    url = platform.database_name()
    _output({"status": "migrated", "database": url}, lambda r: f"{r['database']}: migrated")


def seed_demo(platform: Platform) -> dict[str, Any]:
    """A demo user with credit and an approved sender, created once."""
    try:
        users.create_user(platform, DEMO_USER, DEMO_PASSWORD, UserType.STANDARD)
        credit.mint(platform, DEMO_USER, DEMO_CREDIT, "demo")
        senders.add_sender(platform, DEMO_USER, DEMO_SENDER, SenderState.APPROVED)
    except DomainError:
        pass  # already seeded
    return user_record(users.get_user(platform, DEMO_USER))


# --- users ----------------------------------------------------------------------------


@cli.group("user", cls=_Group)
@_common
def user_group() -> None:
    """Create, inspect and change users."""


@user_group.command("create")
@click.argument("username")
@_password_options
@click.option(
    "--type",
    "user_type",
    type=int,
    default=int(UserType.STANDARD),
    show_default=True,
    help="1 reseller, 2 sub-reseller, 3 standard, 4 sub-user (see README for which "
    "type may sit under which).",
)
@click.option("--parent", metavar="NAME", help="The parent user (none: top level).")
@click.option(
    "--customer-type", type=int, default=0, show_default=True, help="0 corporate, 1 individual."
)
@click.option("--unlimited", is_flag=True, help="Sends without spending credit.")
@_common
def user_create(
    username: str,
    password: str | None,
    password_stdin: bool,
    user_type: int,
    parent: str | None,
    customer_type: int,
    unlimited: bool,
) -> None:
    """Create a user under a parent its type allows."""
    platform = _platform()
    secret = _password(password, password_stdin)
    user = users.create_user(
        platform, username, secret, user_type, parent, customer_type, unlimited
    )
    _output(user_record(user), _user_text)


@user_group.command("passwd")
@click.argument("username")
@_password_options
@_common
def user_passwd(username: str, password: str | None, password_stdin: bool) -> None:
    """Set a user's password (its cached logins stop working at once)."""
    platform = _platform()
    users.set_password(platform, username, _password(password, password_stdin))
    _output(
        {"status": "password changed", "username": username},
        lambda r: f"{r['username']}: password changed",
    )


@user_group.command("show")
@click.argument("username")
@_common
def user_show(username: str) -> None:
    """Show one user."""
    _output(user_record(users.get_user(_platform(), username)), _user_text)


@user_group.command("list")
@click.option("--parent", metavar="NAME", help="Only the direct children of this user.")
@_common
def user_list(parent: str | None) -> None:
    """List users, or the children of --parent."""
    _output([user_record(u) for u in users.list_users(_platform(), parent)], _users_text)


_ON_OFF = click.BOOL


@user_group.command("set")
@click.argument("username")
@click.option(
    "--duplicate-check",
    type=_ON_OFF,
    metavar="on|off",
    help="Refuse a package equal to one of the last 30 minutes.",
)
@click.option("--active", type=_ON_OFF, metavar="on|off", help="Whether the user may log in.")
@click.option(
    "--unlimited", type=_ON_OFF, metavar="on|off", help="Whether sending spends no credit."
)
@_common
def user_set(
    username: str, duplicate_check: bool | None, active: bool | None, unlimited: bool | None
) -> None:
    """Change a user's options; those not given stay as they are."""
    given = {"duplicate_check": duplicate_check, "active": active, "unlimited": unlimited}
    options = {name: value for name, value in given.items() if value is not None}
    _output(user_record(users.set_options(_platform(), username, **options)), _user_text)


# --- credit ---------------------------------------------------------------------------


@cli.group("credit", cls=_Group)
@_common
def credit_group() -> None:
    """Top up, move and inspect credit."""


@credit_group.command("add")
@click.argument("username")
@click.argument("amount", type=int)
@click.option("--note", help="Kept in the ledger entry.")
@_common
def credit_add(username: str, amount: int, note: str | None) -> None:
    """Top up a user's credit: the only way new credit enters the platform."""
    balance = credit.mint(_platform(), username, amount, note)
    _output(
        {"username": username, "credit": balance}, lambda r: _balances_text({username: balance})
    )


# A negative AMOUNT (take credit back) looks like an option to click: let it through.
@credit_group.command("transfer", context_settings={"ignore_unknown_options": True})
@click.option("--from", "parent", required=True, metavar="PARENT", help="The parent giving credit.")
@click.option(
    "--to", "child", required=True, metavar="CHILD", help="Its direct child receiving it."
)
@click.argument("amount", type=int)
@_common
def credit_transfer(parent: str, child: str, amount: int) -> None:
    """Move AMOUNT from a parent to its child; a negative AMOUNT takes it back."""
    _output(credit.transfer(_platform(), parent, child, amount).balances(), _balances_text)


@credit_group.command("show")
@click.argument("username")
@click.option(
    "--limit", type=int, default=20, show_default=True, help="Ledger entries shown, newest first."
)
@_common
def credit_show(username: str, limit: int) -> None:
    """A user's balance and newest ledger entries."""
    platform = _platform()
    user, entries = credit.ledger(platform, username, limit)
    ledger = [ledger_record(platform, e) for e in entries]
    _output({"username": username, "credit": user.credit, "ledger": ledger}, _credit_text)


# --- senders --------------------------------------------------------------------------


@cli.group("sender", cls=_Group)
@_common
def sender_group() -> None:
    """Register alphanumeric senders and decide on them."""


@sender_group.command("add")
@click.argument("username")
@click.argument("title")
@click.option("--approve", is_flag=True, help="Approve at once instead of leaving it waiting.")
@_common
def sender_add(username: str, title: str, approve: bool) -> None:
    """Register a sender TITLE (2-11 characters) for a user."""
    state = SenderState.APPROVED if approve else SenderState.WAITING
    sender = senders.add_sender(_platform(), username, title, state)
    _output(sender_record(sender, username), _sender_text)


def _sender_state_command(name: str, state: SenderState, summary: str) -> None:
    @sender_group.command(name, help=summary)
    @click.argument("username")
    @click.argument("title")
    @_common
    def set_state(username: str, title: str) -> None:
        sender = senders.set_sender_status(_platform(), username, title, state)
        _output(sender_record(sender, username), _sender_text)


_sender_state_command("approve", SenderState.APPROVED, "Approve a user's sender TITLE.")
_sender_state_command("reject", SenderState.REJECTED, "Reject a user's sender TITLE.")
_sender_state_command("ban", SenderState.BANNED, "Ban a user's sender TITLE.")
_sender_state_command("wait", SenderState.WAITING, "Put a user's sender TITLE back to waiting.")


@sender_group.command("list")
@click.argument("username")
@_common
def sender_list(username: str) -> None:
    """List a user's senders."""
    found = senders.senders_of(_platform(), username)
    _output([sender_record(s, username) for s in found], _senders_text)


# --- the CLI's views of the services' records ---------------------------------------


def user_record(user: User) -> dict[str, Any]:
    """A user as the CLI prints it (and its --json carries)."""
    return {
        "uuid": user.uuid,
        "username": user.username,
        "type": int(user.user_type),
        "customerType": int(user.customer_type),
        "parent": user.parent_name,
        "credit": user.credit,
        "unlimited": user.unlimited,
        "active": user.active,
        "duplicateCheck": user.duplicate_check,
    }


def sender_record(sender: Sender, username: str) -> dict[str, Any]:
    """A sender as the CLI prints it."""
    return {"uuid": sender.uuid, "title": sender.title, "status": sender.status, "user": username}


def ledger_record(platform: Platform, entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry as the CLI prints it."""
    return {
        "id": entry.id,
        "amount": entry.amount,
        "balanceAfter": entry.balance_after,
        "reason": entry.reason,
        "pkgID": entry.package_id,
        "counterpartID": entry.counterpart_id,
        "note": entry.note,
        "date": platform.local.format(entry.created_at),
    }


def _add_groups() -> None:
    """Command groups of their own modules (they import this one's helpers: added last)."""
    import service.commands.allowlist  # noqa: F401 (adds its commands to `user`)
    from service.commands.apikeys import apikey_group
    from service.commands.contacts import contact_group
    from service.commands.iys import iys_group
    from service.commands.links import link_group
    from service.commands.mo import mo_group
    from service.commands.webhooks import webhook_group

    cli.add_command(contact_group)
    cli.add_command(link_group)
    cli.add_command(mo_group)
    cli.add_command(webhook_group)
    cli.add_command(iys_group)
    cli.add_command(apikey_group)


_add_groups()


if __name__ == "__main__":
    sys.exit(main())
