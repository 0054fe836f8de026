"""`finsms`: serve, run the worker, migrate, and administer users, credit and senders.

Every command takes its input from arguments (no prompt when they are given) and prints
either a short human line or, with --json, one JSON document. Exit status: 0 success,
1 a domain error (its code on stderr or in the JSON), 2 a usage error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
from typing import Any

from service.config import Settings, SettingsError
from service.domain.constants import SenderState, UserType
from service.domain.errors import DomainError
from service.domain.records import LedgerEntry, Sender, User
from service.services import credit, senders, users
from service.services.platform import Platform

DEMO_USER, DEMO_PASSWORD, DEMO_SENDER, DEMO_CREDIT = "demo", "demo1234", "FINSMS", 1000


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `finsms` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        result = args.run(args)
    except DomainError as error:
        _emit_error(args, error)
        return 1
    except SettingsError as error:  # a usage error, like a bad argument
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result is not None:
        _emit(args, result)
    return 0


def _platform(args: argparse.Namespace) -> Platform:
    overrides = {"database_url": args.database} if getattr(args, "database", None) else {}
    return Platform(Settings.from_env(**overrides))


def _emit(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    elif isinstance(result, list):
        for row in result:
            print(" ".join(f"{k}={v}" for k, v in row.items()))
    elif isinstance(result, dict):
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    else:
        print(result)


def _emit_error(args: argparse.Namespace, error: DomainError) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"err": error.as_wire()}, ensure_ascii=False))
    print(f"error: {error.err.name} ({error.err.sms_code}): {error.message}", file=sys.stderr)


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    raise SystemExit("error: give --password or --password-stdin")


# --- commands -------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> dict[str, str]:
    """Bring the database schema up to date."""
    platform = _platform(args)
    platform.migrate()
    return {"status": "migrated", "database": platform.store.engine.url.render_as_string()}


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the JSON and SOAP APIs with gunicorn (and the embedded dispatcher)."""
    from service.server import serve

    settings = Settings.from_env(**({"database_url": args.database} if args.database else {}))
    settings = settings.with_(
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
    )
    platform = Platform(settings)
    platform.migrate()
    if args.demo:
        seed_demo(platform)
    platform.store.dispose()
    serve(settings)


def cmd_worker(args: argparse.Namespace) -> None:
    """Run the dispatcher alone until interrupted."""
    from service.delivery.factory import make_dispatcher

    platform = _platform(args)
    platform.migrate()
    dispatcher = make_dispatcher(platform)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher.start()
    print(f"finsms worker {dispatcher.owner} running", file=sys.stderr)
    stop.wait()
    dispatcher.stop()


def seed_demo(platform: Platform) -> dict[str, Any]:
    """A demo user with credit and an approved sender, created once."""
    try:
        users.create_user(platform, DEMO_USER, DEMO_PASSWORD, UserType.STANDARD)
        credit.mint(platform, DEMO_USER, DEMO_CREDIT, "demo")
        senders.add_sender(platform, DEMO_USER, DEMO_SENDER, SenderState.APPROVED)
    except DomainError:
        pass  # already seeded
    return user_view(users.get_user(platform, DEMO_USER))


def cmd_user_create(args: argparse.Namespace) -> dict[str, Any]:
    """Create a user under a parent."""
    return user_view(
        users.create_user(
            _platform(args),
            args.username,
            _password(args),
            args.type,
            args.parent,
            args.customer_type,
            args.unlimited,
        )
    )


def cmd_user_passwd(args: argparse.Namespace) -> dict[str, str]:
    """Set a user's password."""
    users.set_password(_platform(args), args.username, _password(args))
    return {"status": "password changed", "username": args.username}


def cmd_user_show(args: argparse.Namespace) -> dict[str, Any]:
    """Show one user."""
    return user_view(users.get_user(_platform(args), args.username))


def cmd_user_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    """List users, or the children of --parent."""
    return [user_view(u) for u in users.list_users(_platform(args), args.parent)]


def cmd_user_set(args: argparse.Namespace) -> dict[str, Any]:
    """Change a user's options."""
    return user_view(
        users.set_options(
            _platform(args),
            args.username,
            duplicate_check=args.duplicate_check,
            active=args.active,
            unlimited=args.unlimited,
        )
    )


def cmd_credit_add(args: argparse.Namespace) -> dict[str, Any]:
    """Top up a user's credit (new credit into the platform)."""
    balance = credit.mint(_platform(args), args.username, args.amount, args.note)
    return {"username": args.username, "credit": balance}


def cmd_credit_transfer(args: argparse.Namespace) -> dict[str, int]:
    """Move credit from a parent to its child (negative: back to the parent)."""
    moved = credit.transfer(_platform(args), args.parent, args.child, args.amount)
    return {moved.parent: moved.parent_credit, moved.child: moved.child_credit}


def cmd_credit_show(args: argparse.Namespace) -> dict[str, Any]:
    """A user's balance and newest ledger entries."""
    platform = _platform(args)
    user, entries = credit.ledger(platform, args.username, args.limit)
    return {
        "username": args.username,
        "credit": user.credit,
        "ledger": [ledger_view(platform, e) for e in entries],
    }


def cmd_sender_add(args: argparse.Namespace) -> dict[str, Any]:
    """Register a sender title for a user."""
    status = SenderState.APPROVED if args.approve else SenderState.WAITING
    return sender_view(
        senders.add_sender(_platform(args), args.username, args.title, status), args.username
    )


def cmd_sender_status(args: argparse.Namespace) -> dict[str, Any]:
    """Approve, reject or ban a sender."""
    status = {
        "approve": SenderState.APPROVED,
        "reject": SenderState.REJECTED,
        "ban": SenderState.BANNED,
        "wait": SenderState.WAITING,
    }[args.action]
    return sender_view(
        senders.set_sender_status(_platform(args), args.username, args.title, status), args.username
    )


def cmd_sender_list(args: argparse.Namespace) -> list[dict[str, Any]]:
    """List a user's senders."""
    found = senders.senders_of(_platform(args), args.username)
    return [{"uuid": s.uuid, "status": s.status, "title": s.title} for s in found]


def user_view(user: User) -> dict[str, Any]:
    """A user as the CLI prints it."""
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


def sender_view(sender: Sender, username: str) -> dict[str, Any]:
    """A sender as the CLI prints it."""
    return {"uuid": sender.uuid, "title": sender.title, "status": sender.status, "user": username}


def ledger_view(platform: Platform, entry: LedgerEntry) -> dict[str, Any]:
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


# --- argument parsing -----------------------------------------------------------------


def _onoff(text: str) -> bool:
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("on or off")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--database", help="database URL (default FINSMS_DATABASE_URL)")
    parser = argparse.ArgumentParser(prog="finsms", description="FinSMS SMS platform server")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", parents=[common], help="serve the APIs")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--demo",
        action="store_true",
        help=f"create user {DEMO_USER}/{DEMO_PASSWORD} with credit and sender",
    )
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("worker", parents=[common], help="run the dispatcher").set_defaults(
        run=cmd_worker
    )
    sub.add_parser("migrate", parents=[common], help="upgrade the schema").set_defaults(
        run=cmd_migrate
    )
    _user_commands(sub.add_parser("user", help="users").add_subparsers(dest="action"), common)
    _credit_commands(sub.add_parser("credit", help="credit").add_subparsers(dest="action"), common)
    _sender_commands(sub.add_parser("sender", help="senders").add_subparsers(dest="action"), common)
    return parser


def _with_password(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password")
    p.add_argument("--password-stdin", action="store_true")


def _user_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    create = sub.add_parser("create", parents=[common])
    create.add_argument("username")
    _with_password(create)
    create.add_argument(
        "--type",
        type=int,
        default=int(UserType.STANDARD),
        help="1 reseller, 2 sub-reseller, 3 standard, 4 sub-user",
    )
    create.add_argument("--parent")
    create.add_argument("--customer-type", type=int, default=0)
    create.add_argument("--unlimited", action="store_true")
    create.set_defaults(run=cmd_user_create)
    passwd = sub.add_parser("passwd", parents=[common])
    passwd.add_argument("username")
    _with_password(passwd)
    passwd.set_defaults(run=cmd_user_passwd)
    show = sub.add_parser("show", parents=[common])
    show.add_argument("username")
    show.set_defaults(run=cmd_user_show)
    listing = sub.add_parser("list", parents=[common])
    listing.add_argument("--parent")
    listing.set_defaults(run=cmd_user_list)
    setp = sub.add_parser("set", parents=[common])
    setp.add_argument("username")
    setp.add_argument("--duplicate-check", type=_onoff)
    setp.add_argument("--active", type=_onoff)
    setp.add_argument("--unlimited", type=_onoff)
    setp.set_defaults(run=cmd_user_set)


def _credit_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    add = sub.add_parser("add", parents=[common])
    add.add_argument("username")
    add.add_argument("amount", type=int)
    add.add_argument("--note")
    add.set_defaults(run=cmd_credit_add)
    transfer = sub.add_parser("transfer", parents=[common])
    transfer.add_argument("--from", dest="parent", required=True)
    transfer.add_argument("--to", dest="child", required=True)
    transfer.add_argument("amount", type=int)
    transfer.set_defaults(run=cmd_credit_transfer)
    show = sub.add_parser("show", parents=[common])
    show.add_argument("username")
    show.add_argument("--limit", type=int, default=20)
    show.set_defaults(run=cmd_credit_show)


def _sender_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    add = sub.add_parser("add", parents=[common])
    add.add_argument("username")
    add.add_argument("title")
    add.add_argument("--approve", action="store_true")
    add.set_defaults(run=cmd_sender_add)
    for action in ("approve", "reject", "ban", "wait"):
        p = sub.add_parser(action, parents=[common])
        p.add_argument("username")
        p.add_argument("title")
        p.set_defaults(run=cmd_sender_status, action=action)
    listing = sub.add_parser("list", parents=[common])
    listing.add_argument("username")
    listing.set_defaults(run=cmd_sender_list)


if __name__ == "__main__":
    sys.exit(main())
