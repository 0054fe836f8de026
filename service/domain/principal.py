"""Who is calling, and the one rule of whose data a caller may reach."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.constants import UserType

# User types that sell to users below them and may look at their descendants' data.
RESELLER_TYPES = frozenset({UserType.RESELLER, UserType.SUB_RESELLER})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the services need it."""

    user_id: int
    uuid: str
    username: str
    user_type: UserType
    unlimited: bool
    duplicate_check: bool
    # The user's IP allow-list (addresses and CIDRs, canonical); empty: any address.
    allowed_ips: tuple[str, ...] = ()

    @property
    def is_reseller(self) -> bool:
        """Whether the caller has users below it (types 1 and 2)."""
        return self.user_type in RESELLER_TYPES


@dataclass(frozen=True)
class Scope:
    """Whose rows a query may reach: the user's own, and with `descendants` every user
    below it in the hierarchy. Repositories turn it into their query's condition."""

    user_id: int
    descendants: bool = False

    def narrowed_to(self, user_id: int) -> Scope:
        """The scope of one user found inside this one (a reseller looking at a customer)."""
        return Scope(user_id)


def visible_to(principal: Principal, *, descendants: bool = False) -> Scope:
    """The one visibility rule: a user sees its own data; a reseller may also reach its
    descendants' data where the function allows it (`descendants=True`), never a
    sibling's or a parent's. Anything outside the scope is "not found"."""
    return Scope(principal.user_id, descendants and principal.is_reseller)
