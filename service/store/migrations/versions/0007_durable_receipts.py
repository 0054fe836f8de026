"""durable delivery receipts, multipart items, per-item timeout of stranded items

Receipts are committed to `receipt_inbox` before a carrier link acknowledges them, and
applied from there; `item_parts` holds the parts of items sent as several submit_sm.
Items record the link that accepted them (`carrier_link`): references are unique per
link only. An item left "sending" times out at its own validity + 60 minutes, recorded in
`expires_at` when it is claimed; items already "sending" get the longest validity's, as
before.

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-25
"""

from datetime import timedelta

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_STRANDED_AFTER = timedelta(minutes=1440 + 60)  # the longest validity and the grace hour


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier_link', sa.String(length=32), nullable=True))
    op.create_table(
        'receipt_inbox',
        sa.Column('id', _BIG_ID, nullable=False),
        sa.Column('link', sa.String(length=32), nullable=False),
        sa.Column('carrier_ref', sa.String(length=64), nullable=False),
        sa.Column('state', sa.SmallInteger(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=False),
        sa.Column('error', sa.String(length=64), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('attempt_after', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_inbox')),
    )
    op.create_index('ix_receipt_inbox_attempt', 'receipt_inbox', ['attempt_after', 'id'])
    op.create_table(
        'item_parts',
        sa.Column('link', sa.String(length=32), nullable=False),
        sa.Column('carrier_ref', sa.String(length=64), nullable=False),
        sa.Column('item_id', _BIG_ID, nullable=False),
        sa.Column('state', sa.SmallInteger(), nullable=True),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('link', 'carrier_ref', name=op.f('pk_item_parts')),
    )
    op.create_index('ix_item_parts_item', 'item_parts', ['item_id'])
    _stamp_stranded_items()


def _stamp_stranded_items() -> None:
    """Items "sending" now time out as they did: the longest validity after the claim."""
    items = sa.table(
        'items',
        sa.column('id', _BIG_ID),
        sa.column('state', sa.SmallInteger()),
        sa.column('processing_date', sa.DateTime()),
        sa.column('expires_at', sa.DateTime()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(items.c.id, items.c.processing_date).where(
            items.c.state == 1,
            items.c.expires_at.is_(None),
            items.c.processing_date.isnot(None),
        )
    ).all()
    for item_id, claimed in rows:
        conn.execute(
            sa.update(items)
            .where(items.c.id == item_id)
            .values(expires_at=claimed + _STRANDED_AFTER)
        )


def downgrade() -> None:
    op.drop_index('ix_item_parts_item', table_name='item_parts')
    op.drop_table('item_parts')
    op.drop_index('ix_receipt_inbox_attempt', table_name='receipt_inbox')
    op.drop_table('receipt_inbox')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('carrier_link')
