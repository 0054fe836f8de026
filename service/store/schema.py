"""The one schema of FinSMS, for SQLite and PostgreSQL. Times are naive UTC."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)

from service.domain.packages import (
    CLAIMABLE_ITEM_STATES,
    IN_FLIGHT_ITEM_STATES,
)
from service.domain.pricing import HELD_REFUND_SOURCES


def in_states(column: Any, states: frozenset[Any]) -> Any:
    """column IN (states); one state is an equality, which SQLite needs to match a partial
    index's condition and executemany accepts."""
    values = sorted(int(s) for s in states)
    return column == values[0] if len(values) == 1 else column.in_(values)


# Named constraints so Alembic migrations are stable on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL, INTEGER on SQLite: only INTEGER PRIMARY KEY autoincrements there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("user_type", SmallInteger, nullable=False),
    Column("customer_type", SmallInteger, nullable=False, server_default=text("0")),
    Column("parent_id", BigId, ForeignKey("users.id"), nullable=True, index=True),
    # Balance in credits; a debit is one conditional UPDATE (credit >= amount).
    Column("credit", BigInteger, nullable=False, server_default=text("0")),
    # Platform administrators send without spending credit.
    Column("unlimited", Boolean, nullable=False, server_default=text("false")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Refuse the same SMS to the same numbers within 30 minutes (ERR_SMS_PKG_DUPLICATION).
    Column("duplicate_check", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime, nullable=False),
)

senders = Table(
    "senders",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("title", String(11), nullable=False),
    Column("status", SmallInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "title", name="uq_senders_user_title"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False, index=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("label", String(100), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

packages = Table(
    "packages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("custom_id", String(100), nullable=True),
    Column("sms_type", SmallInteger, nullable=False),
    Column("sending_type", SmallInteger, nullable=False),
    Column("title", String(100), nullable=True),
    Column("content", Text, nullable=True),
    Column("sender", String(11), nullable=False),
    Column("encoding", SmallInteger, nullable=False),
    Column("validity", Integer, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("error", String(64), nullable=True),
    # 0: OTP lane, 1: bulk lane; the dispatcher serves lane 0 first.
    Column("lane", SmallInteger, nullable=False),
    Column("sending_date", DateTime, nullable=False),
    Column("is_scheduled", Boolean, nullable=False),
    Column("periodic", Text, nullable=True),  # JSON of periodicSettings
    Column("push_url", String(2000), nullable=True),
    Column("commercial", Boolean, nullable=True),
    Column("trust_date", DateTime, nullable=True),
    Column("recipients", Integer, nullable=False),
    Column("invalid_count", Integer, nullable=False, server_default=text("0")),
    Column("parts", Integer, nullable=False),  # message parts over all recipients
    Column("credit", BigInteger, nullable=False),  # credit reserved at creation
    Column("source", String(16), nullable=False, server_default=text("'node'")),
    Column("recreated_from", BigId, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_packages_user_created", "user_id", "created_at"),
)
# Partial: most packages carry no customID, and those need no index entry (a page less
# written per package created). Unique per user where given.
Index(
    "uq_packages_user_custom_id",
    packages.c.user_id,
    packages.c.custom_id,
    unique=True,
    sqlite_where=packages.c.custom_id.isnot(None),
    postgresql_where=packages.c.custom_id.isnot(None),
)

items = Table(
    "items",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("package_id", BigId, ForeignKey("packages.id"), nullable=False),
    Column("target", String(15), nullable=False),
    Column("msg", Text, nullable=True),  # per-recipient text (N-N); NULL: the package's
    Column("xid", String(64), nullable=True),  # the client's own id for this recipient
    Column("operator", SmallInteger, nullable=True),
    Column("parts", SmallInteger, nullable=False),
    # Its price under the package's pricing policy: what a failed item gives back.
    Column("credit", Integer, nullable=False, server_default=text("0")),
    Column("encoding", SmallInteger, nullable=False),  # effective data coding
    Column("state", SmallInteger, nullable=False),
    Column("error", String(64), nullable=True),
    Column("lane", SmallInteger, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("claim_owner", String(64), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("carrier_ref", String(64), nullable=True),
    Column("sending_date", DateTime, nullable=True),
    Column("processing_date", DateTime, nullable=True),
    Column("delivery_date", DateTime, nullable=True),
    Column("expires_at", DateTime, nullable=True),
    Column("refunded", Boolean, nullable=False, server_default=text("false")),
    Index("ix_items_package_state", "package_id", "state"),
    Index("ix_items_target", "target"),
)
# Delivery reports find their item by the carrier's reference, which is only set once the
# item is handed over: items still waiting need no index entry.
Index(
    "ix_items_carrier_ref",
    items.c.carrier_ref,
    sqlite_where=items.c.carrier_ref.isnot(None),
    postgresql_where=items.c.carrier_ref.isnot(None),
)
# The dispatcher's queue: waiting items by lane and due time (partial where supported).
Index(
    "ix_items_due",
    items.c.lane,
    items.c.due_at,
    sqlite_where=in_states(items.c.state, CLAIMABLE_ITEM_STATES),
    postgresql_where=in_states(items.c.state, CLAIMABLE_ITEM_STATES),
)
Index(
    "ix_items_expiring",
    items.c.expires_at,
    sqlite_where=in_states(items.c.state, IN_FLIGHT_ITEM_STATES),
    postgresql_where=in_states(items.c.state, IN_FLIGHT_ITEM_STATES),
)

# Packages of the sources that hold refunds back (the FinSMS facade: a failed item is
# refunded 48 hours after sending), by sending date: the refund sweep starts from these.
# On packages, not items: an index on items was maintained on every item insert and
# state change (12% of a 100,000-recipient package, 10% of the dispatcher's work) for
# a sweep that Node API packages never need.
# A literal, not a parameter: a query matches a partial index only when SQLite (and
# PostgreSQL's planner) can see the index's condition in its own.
HOLDS_REFUNDS = packages.c.source.in_([literal_column(f"'{s}'") for s in HELD_REFUND_SOURCES])
Index(
    "ix_packages_held_refunds",
    packages.c.sending_date,
    sqlite_where=HOLDS_REFUNDS,
    postgresql_where=HOLDS_REFUNDS,
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + credit in, - credit out
    Column("balance_after", BigInteger, nullable=True),
    Column("reason", String(32), nullable=False),
    Column("package_id", BigId, nullable=True),
    Column("counterpart_id", BigId, nullable=True),
    Column("note", String(200), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_credit_ledger_user", "user_id", "id"),
)

# One row per (user, fingerprint): refuses the same SMS to the same numbers twice within
# the window, atomically (an upsert), also under concurrent creates.
recent_sends = Table(
    "recent_sends",
    metadata,
    Column("user_id", BigId, primary_key=True),
    Column("fingerprint", String(64), primary_key=True),
    Column("package_id", BigId, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# Entries of the login throttle's moving windows (service/store/ratelimit.py), shared by
# every process: one row per counted event, `at` and `expires_at` in Unix seconds.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("key", String(200), nullable=False),
    Column("at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("amount", Integer, nullable=False),
    Index("ix_rate_limits_key_at", "key", "at"),
    Index("ix_rate_limits_expires_at", "expires_at"),
)

# How many items (and message parts) of each package are in each state, kept by the
# statements that move items (the queue repository, package creation and cancel), so that
# a package's state and its report counts are read from a few rows instead of counting
# its items: a 100,000-item package was recounted by every claim and report pass.
package_counts = Table(
    "package_counts",
    metadata,
    Column("package_id", BigId, ForeignKey("packages.id"), primary_key=True),
    Column("state", SmallInteger, primary_key=True, autoincrement=False),
    Column("item_count", Integer, nullable=False),
    Column("part_count", BigInteger, nullable=False),
)
