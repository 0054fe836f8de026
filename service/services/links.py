"""Carrier links managed by operators: add, list, show, change and remove them.

What a link's options must hold depends on its kind (a simulator's outcome rules, an SMPP
link's host, port and credentials): each kind brings its own validator. Services do not
import the delivery layer that implements the kinds, so the caller hands the validators in
by kind name (`kinds`), as the carrier registry defines them (service.delivery.carriers.
registry.VALIDATORS). A validator raises ValueError with a message saying what is wrong.

A validator's result may name the account its link uses (an `account` attribute: an
SMPP link's host, port and system_id). Two links of one kind on one account are refused:
an SMSC hands a receipt to any bind of the account, and a link settles only receipts of
its own messages, so each would drop the other's (more binds of one link is the way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from service.domain.links import (
    Link,
    LinkError,
    check_name,
    check_priority,
    dump_options,
    parse_operators,
)
from service.services.platform import Platform

# kind name -> validator of a link's options (raises ValueError naming the problem)
LinkKinds = Mapping[str, Callable[[Mapping[str, Any]], object]]
DEFAULT_PRIORITY = 100


def add_link(
    platform: Platform,
    kinds: LinkKinds,
    name: str,
    kind: str,
    options: Mapping[str, Any],
    operators: Iterable[str],
    priority: int = DEFAULT_PRIORITY,
    enabled: bool = True,
) -> Link:
    """Store a new link after checking its name, kind, options and operators."""
    now = platform.clock.now()
    link = Link(
        0,
        check_name(name),
        kind,
        dict(options),
        parse_operators(operators),
        check_priority(priority),
        enabled,
        now,
        now,
    )
    account = _account(kinds, kind, link.options)
    with platform.uow.write() as tx:
        _refuse_shared_account(tx.links.listing(), kinds, link, account)
        if not tx.links.add(link):
            raise LinkError(f"a link named {name!r} exists already")
        stored = tx.links.get(name)
    assert stored is not None  # written in this very transaction
    return stored


def list_links(platform: Platform) -> list[Link]:
    """Every link, in failover order (priority, then name)."""
    with platform.uow.read() as tx:
        return tx.links.listing()


def get_link(platform: Platform, name: str) -> Link:
    """One link by name."""
    with platform.uow.read() as tx:
        link = tx.links.get(name)
    if link is None:
        raise LinkError(f"no link named {name!r}")
    return link


def set_link(
    platform: Platform,
    kinds: LinkKinds,
    name: str,
    *,
    options: Mapping[str, Any] | None = None,
    unset: Iterable[str] = (),
    operators: Iterable[str] | None = None,
    priority: int | None = None,
    enabled: bool | None = None,
) -> Link:
    """Change a link: `options` merged into its options, `unset` keys removed; what is not
    given stays as it is. The result is validated as a whole before anything is written."""
    changes: dict[str, Any] = {}
    if operators is not None:
        changes["operators"] = parse_operators(operators)
    if priority is not None:
        changes["priority"] = check_priority(priority)
    if enabled is not None:
        changes["enabled"] = enabled
    with platform.uow.write() as tx:
        link = tx.links.get(name)
        if link is None:
            raise LinkError(f"no link named {name!r}")
        if options or unset:
            changes["options"] = _merged(link.options, options or {}, unset)
            account = _account(kinds, link.kind, changes["options"])
            _refuse_shared_account(tx.links.listing(), kinds, link, account)
        if not changes:
            return link
        updated = tx.links.update(name, platform.clock.now(), **changes)
    assert updated is not None  # read in this very transaction
    return updated


def remove_link(platform: Platform, name: str) -> None:
    """Delete a link; the dispatchers stop using it at their next reload."""
    with platform.uow.write() as tx:
        if not tx.links.remove(name):
            raise LinkError(f"no link named {name!r}")


def validate_options(kinds: LinkKinds, kind: str, options: Mapping[str, Any]) -> object:
    """Check options with the kind's validator (its result); a LinkError says what is
    wrong."""
    validator = kinds.get(kind)
    if validator is None:
        raise LinkError(f"unknown link kind {kind!r} (known: {', '.join(sorted(kinds))})")
    dump_options(options)  # storable at all
    try:
        return validator(options)
    except ValueError as error:
        raise LinkError(f"bad options for a {kind} link: {error}") from None


def _account(kinds: LinkKinds, kind: str, options: Mapping[str, Any]) -> object | None:
    """The account a link's options use, if its kind names one (validating them)."""
    return getattr(validate_options(kinds, kind, options), "account", None)


def _refuse_shared_account(
    others: Iterable[Link], kinds: LinkKinds, link: Link, account: object | None
) -> None:
    """LinkError if another link of the same kind uses this account (see the module)."""
    if account is None:
        return
    for other in others:
        if other.name == link.name or other.kind != link.kind:
            continue
        try:
            theirs = _account(kinds, other.kind, other.options)
        except LinkError:  # stored before its kind's rules changed: not comparable
            continue
        if theirs == account:
            raise LinkError(
                f"link {other.name!r} uses the same account: one link per account "
                "(an SMSC hands receipts to any bind of it); raise that link's binds instead"
            )


def _merged(
    options: Mapping[str, Any], changes: Mapping[str, Any], unset: Iterable[str]
) -> dict[str, Any]:
    merged = {**options, **changes}
    for key in unset:
        if key not in merged:
            raise LinkError(f"the link has no option {key!r} to unset")
        del merged[key]
    return merged
