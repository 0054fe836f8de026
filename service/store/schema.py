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
    # A rotated key's previous secret works until `previous_until` (the grace period).
    Column("previous_hash", String(200), nullable=True),
    Column("previous_until", DateTime, nullable=True),
    Column("rotated_at", DateTime, nullable=True),
    # Written at most once a minute per key and process: a timestamp, not a counter.
    Column("last_used_at", DateTime, nullable=True),
    Column("last_used_ip", String(64), nullable=True),
    # Addresses and CIDR networks the key is accepted from, space-separated; NULL: any.
    Column("allowed_ips", Text, nullable=True),
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
    # The link that accepted it: carrier references are unique per link only.
    Column("carrier_link", String(32), nullable=True),
    Column("sending_date", DateTime, nullable=True),
    Column("processing_date", DateTime, nullable=True),
    Column("delivery_date", DateTime, nullable=True),
    Column("expires_at", DateTime, nullable=True),
    Column("refunded", Boolean, nullable=False, server_default=text("false")),
    # Its final state written to the webhook outbox (packages with a push URL only).
    Column("pushed", Boolean, nullable=False, server_default=text("false")),
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

# Periodic sending (periodType 1-4). The first package of a series carries when its next
# run is due (NULL: not a series, or cancelled) and that run's number; each run is a
# package of its own that names the series' first package (`run_of`) and its number.
# Run creation is gated by a conditional update of next_run_at; the unique (run_of,
# run_no) is the backstop: whatever races, no run is written twice.
packages.append_column(Column("next_run_at", DateTime, nullable=True))
packages.append_column(Column("next_run_no", Integer, nullable=True))
packages.append_column(Column("run_of", BigId, nullable=True))
packages.append_column(Column("run_no", Integer, nullable=True))
Index(
    "ix_packages_next_run",
    packages.c.next_run_at,
    sqlite_where=packages.c.next_run_at.isnot(None),
    postgresql_where=packages.c.next_run_at.isnot(None),
)
Index(
    "uq_packages_run",
    packages.c.run_of,
    packages.c.run_no,
    unique=True,
    sqlite_where=packages.c.run_of.isnot(None),
    postgresql_where=packages.c.run_of.isnot(None),
)

# --- MO messages (service/services/mo.py) ----------------------------------------------
# Short numbers (or sender titles) users receive MO messages on: one owner each, so an
# MO's destination names its user.
mo_numbers = Table(
    "mo_numbers",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False, index=True),
    Column("number", String(16), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

# A user's opt-out keywords, folded (service/domain/mo.py: "İPTAL" is stored "iptal").
mo_keywords = Table(
    "mo_keywords",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("keyword", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "keyword", name="uq_mo_keywords_user_keyword"),
)

# Every MO message received, once: (link, carrier_ref) is unique, so a redelivery is
# stored once. user_id is NULL when no user has the destination.
mo_messages = Table(
    "mo_messages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=True),
    Column("link", String(32), nullable=False),
    Column("carrier_ref", String(128), nullable=False),
    Column("source", String(20), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("keyword", String(32), nullable=True),  # the opt-out keyword it matched
    Column("state", SmallInteger, nullable=False),  # MoState
    Column("exit_type", SmallInteger, nullable=True),  # ExitType.MO when an opt-out
    Column("received_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("link", "carrier_ref", name="uq_mo_messages_link_ref"),
    Index("ix_mo_messages_user_received", "user_id", "received_at"),
)

# Numbers that opted out of a user's messages (until the blacklist takes them: the
# OptOutSink of service/services/mo.py writes here).
mo_optouts = Table(
    "mo_optouts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("number", String(20), nullable=False),
    Column("exit_type", SmallInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "number", name="uq_mo_optouts_user_number"),
)

# Carrier links operators manage (`finsms link …`); when any exist, the dispatcher's
# links come from here instead of FINSMS_CARRIERS/FINSMS_ROUTES. `options` is the kind's
# settings as JSON text; `operators` the operators it serves, comma-separated ("0,1,*").
carrier_links = Table(
    "carrier_links",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("options", Text, nullable=False, server_default=text("'{}'")),
    Column("operators", String(32), nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("100")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# --- İYS (service/services/iys.py) -------------------------------------------------------
# A user's İYS settings: its service provider (İYS) code and brand code. A commercial
# package needs both (ERR_USER_IYS_SETTINGS_NOT_FOUND, ERR_USER_BRAND_CODE_NOT_FOUND).
iys_settings = Table(
    "iys_settings",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("iys_code", String(16), nullable=True),
    Column("brand_code", String(16), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# Dispatcher processes alive now: each writes its row every few seconds, so a link's TPS
# and binds (totals) are divided among the workers seen recently.
workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Index("ix_workers_last_seen", "last_seen"),
)

# Delivery-report webhooks (service/delivery/webhooks.py): a signing secret per user, and
# the outbox, written in the transaction that settles the items it reports.
webhook_secrets = Table(
    "webhook_secrets",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("secret", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("package_id", BigId, nullable=False),
    Column("url", String(2000), nullable=False),
    Column("endpoint", String(300), nullable=False),  # host:port
    Column("document", Text, nullable=False),  # the payload, dates in naive UTC
    Column("state", SmallInteger, nullable=False),  # 0 pending, 1 delivered, -1 failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_at", DateTime, nullable=False),
    Column("claim_owner", String(64), nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Index("ix_webhook_outbox_endpoint", "endpoint", "state"),
    Index("ix_webhook_outbox_state_id", "state", "id"),
)
# The sender's queue: pending rows by due time.
Index(
    "ix_webhook_outbox_due",
    webhook_outbox.c.next_at,
    sqlite_where=webhook_outbox.c.state == 0,
    postgresql_where=webhook_outbox.c.state == 0,
)

# Delivery receipts as the carrier links hand them over, committed before the link
# acknowledges them (an SMPP deliver_sm_resp): a worker killed later loses none. The
# settlement pass applies them to their items and deletes them; one whose item is not
# recorded yet (it overtook its submit_sm_resp) waits here until `attempt_after`.
receipt_inbox = Table(
    "receipt_inbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("link", String(32), nullable=False),
    Column("carrier_ref", String(64), nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("done_at", DateTime, nullable=False),
    Column("error", String(64), nullable=True),
    Column("received_at", DateTime, nullable=False),
    Column("attempt_after", DateTime, nullable=False),
    Index("ix_receipt_inbox_attempt", "attempt_after", "id"),
)

# The parts of items sent as several submit_sm (concatenated SMS), written with the
# carrier's answer: an item is settled once every part has its receipt.
item_parts = Table(
    "item_parts",
    metadata,
    Column("link", String(32), primary_key=True),
    Column("carrier_ref", String(64), primary_key=True),
    Column("item_id", BigId, nullable=False),
    Column("state", SmallInteger, nullable=True),  # NULL: no receipt yet
    Column("done_at", DateTime, nullable=True),
    Column("error", String(64), nullable=True),
    Index("ix_item_parts_item", "item_id"),
)

# --- Contacts (#11) ---------------------------------------------------------------------
# A book of up to millions of contacts per user. Lists filter by status, İYS state and
# exit type and page by id, each through an index that starts with the user and leaves
# archived (deleted) contacts out; custom fields are one JSON text per contact (an import
# writes one row per contact, and no list filters by them).
LIVE = text("deleted_at IS NULL")
contacts = Table(
    "contacts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("gsm", String(15), nullable=False),
    Column("first_name", String(100), nullable=True),
    Column("last_name", String(100), nullable=True),
    Column("details", Text, nullable=True),  # JSON object of custom fields
    # 1 white, 2 black (mirrors the blacklist table for the list filter), 3 invalid.
    Column("status", SmallInteger, nullable=False),
    Column("exit_type", SmallInteger, nullable=True),  # 1 MO, 2 WEB
    Column("iys_state", SmallInteger, nullable=True),
    Column("iys_type", SmallInteger, nullable=True),
    Column("iys_source", SmallInteger, nullable=True),
    Column("query_call", Boolean, nullable=True),
    Column("query_email", Boolean, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime, nullable=True),  # set: in the archive
    # One contact per number and user, archived ones included (creating it again restores).
    UniqueConstraint("user_id", "gsm", name="uq_contacts_user_gsm"),
)
Index("ix_contacts_user_live", contacts.c.user_id, contacts.c.id,
      sqlite_where=LIVE, postgresql_where=LIVE)  # fmt: skip
Index("ix_contacts_user_status", contacts.c.user_id, contacts.c.status, contacts.c.id,
      sqlite_where=LIVE, postgresql_where=LIVE)  # fmt: skip
Index("ix_contacts_user_iys", contacts.c.user_id, contacts.c.iys_state, contacts.c.id,
      sqlite_where=LIVE, postgresql_where=LIVE)  # fmt: skip
# Few contacts ever exit: a partial index holds only those.
HAS_EXIT = text("exit_type IS NOT NULL AND deleted_at IS NULL")
Index("ix_contacts_user_exit", contacts.c.user_id, contacts.c.exit_type, contacts.c.id,
      sqlite_where=HAS_EXIT, postgresql_where=HAS_EXIT)  # fmt: skip

contact_groups = Table(
    "contact_groups",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("parent_id", BigId, ForeignKey("contact_groups.id"), nullable=True, index=True),
    Column("title", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "title", name="uq_contact_groups_user_title"),
)

# Group membership: by group (list a group, count it), and by contact (its groups).
contact_group_members = Table(
    "contact_group_members",
    metadata,
    Column("group_id", BigId, ForeignKey("contact_groups.id"), primary_key=True),
    Column("contact_id", BigId, ForeignKey("contacts.id"), primary_key=True),
    Index("ix_contact_group_members_contact", "contact_id"),
)

# The blacklist: numbers per user, whether or not they are contacts. Package creation
# reads it by (user, number), set-based, in the transaction that writes the package.
blacklist = Table(
    "blacklist",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("gsm", String(15), primary_key=True),
    Column("exit_type", SmallInteger, nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# The IP allow-list of a user: addresses and CIDR networks, canonical text.
user_allowed_ips = Table(
    "user_allowed_ips",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("network", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

# Leases of operations a user may run one at a time (the contact deletes: SMS50).
user_locks = Table(
    "user_locks",
    metadata,
    Column("user_id", BigId, ForeignKey("users.id"), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("token", String(36), nullable=False),
    Column("until", DateTime, nullable=False),
)

# --- KVKK consent links (service/services/kvkk.py) ---------------------------------------
# One row per link sent by /sms/create-kvkk; the page at /k/<token> answers it once.
# consent_source is set by the ConsentSink that recorded the answer (HS_WEB).
kvkk_links = Table(
    "kvkk_links",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("token", String(16), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("package_id", BigId, ForeignKey("packages.id"), nullable=False, index=True),
    Column("number", String(20), nullable=False),
    Column("first_name", String(50), nullable=False),
    Column("last_name", String(50), nullable=False),
    Column("sender", String(11), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("answered_at", DateTime, nullable=True),
    Column("answer", String(10), nullable=True),  # domain.kvkk.Answer
    Column("client_address", String(45), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("consent_source", String(20), nullable=True),
    Index("ix_kvkk_links_user_number", "user_id", "number"),
)

# Consents to commercial messages, İYS's model: per user (its brand) × recipient × type
# (MESAJ), with where its synchronisation with İYS stands (iys_state: the spec's İYS
# states). The sync pass claims WAITING_SYNC rows whose next_sync_at has come (moving
# them to PROCESSING under a lease), so workers never send one consent twice.
iys_consents = Table(
    "iys_consents",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("recipient", String(20), nullable=False),  # 905xxxxxxxxx
    Column("type", String(8), nullable=False),  # MESAJ
    Column("recipient_type", SmallInteger, nullable=False),  # IysRecipientType
    Column("source", SmallInteger, nullable=False),  # IysSource
    Column("status", String(4), nullable=False),  # ONAY / RET
    Column("consent_date", DateTime, nullable=False),
    Column("exit_type", SmallInteger, nullable=True),  # ExitType of a refusal
    Column("iys_state", SmallInteger, nullable=False),  # IysState
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_sync_at", DateTime, nullable=True),  # when a waiting row may be sent
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", DateTime, nullable=True),
    Column("last_sync_at", DateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "recipient", "type", name="uq_iys_consents_user_recipient"),
)
# Partial: only rows still to be synchronised are in it, so the sync pass's scan stays
# small however many consents were synchronised long ago.
Index(
    "ix_iys_consents_pending",
    iys_consents.c.next_sync_at,
    sqlite_where=iys_consents.c.iys_state.in_([-1, 0]),
    postgresql_where=iys_consents.c.iys_state.in_([-1, 0]),
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

# The contact groups a package was sent to (by uuid: a group's id may be reused on SQLite
# once it is deleted), so /sms/recreate with includeNewNumbers reaches their new contacts.
# No foreign key to contact_groups: a group may be deleted, the package keeps its history.
package_groups = Table(
    "package_groups",
    metadata,
    Column("package_id", BigId, ForeignKey("packages.id"), primary_key=True),
    Column("group_uuid", String(36), primary_key=True),
)

# Every request to the FinSMS v1 facade: which key (NULL when none matched), endpoint,
# HTTP status, time and address. Never the secret, never the message text.
api_key_audit = Table(
    "api_key_audit",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("key_id", BigId, nullable=True),
    Column("key", String(64), nullable=True),
    Column("endpoint", String(32), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("address", String(64), nullable=True),
    Index("ix_api_key_audit_key_at", "key", "at"),
    Index("ix_api_key_audit_at", "at"),
)
# --- Contact imports (#11, /contact/import) ---------------------------------------------
# One row per import request: its options, the CSV until processed (NULL for a CLI import,
# read from its file), progress counts and the first invalid rows. At most one open
# (pending or running) import per user: a partial unique index makes the check race-free.
IMPORT_OPEN = text("state IN ('pending', 'running')")
contact_imports = Table(
    "contact_imports",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("user_id", BigId, ForeignKey("users.id"), nullable=False),
    Column("state", String(10), nullable=False),  # pending, running, done, failed
    Column("options", Text, nullable=False),  # JSON: columns, overwrite, blacklist, groups
    Column("csv_data", Text, nullable=True),
    Column("total", Integer, nullable=False, server_default=text("0")),
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("updated", Integer, nullable=False, server_default=text("0")),
    Column("unchanged", Integer, nullable=False, server_default=text("0")),
    Column("invalid", Integer, nullable=False, server_default=text("0")),
    Column("records_done", Integer, nullable=False, server_default=text("0")),
    Column("errors", Text, nullable=True),  # JSON: [{line, reason}], the first 100
    Column("error", Text, nullable=True),  # why a failed import stopped
    Column("owner", String(80), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
)
Index("uq_contact_imports_user_open", contact_imports.c.user_id, unique=True,
      sqlite_where=IMPORT_OPEN, postgresql_where=IMPORT_OPEN)  # fmt: skip
Index("ix_contact_imports_user", contact_imports.c.user_id, contact_imports.c.id)
