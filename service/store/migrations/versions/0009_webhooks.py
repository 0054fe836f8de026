"""webhook_secrets, webhook_outbox and items.pushed: delivery-report webhooks

Items reaching a final state in a package with a push URL are written to the outbox in
the transaction that settles them, marked `pushed` so that each is reported once. Items
final before this migration count as reported: an upgrade sends no old reports.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('items', sa.Column('pushed', sa.Boolean(), nullable=False,
                                     server_default=sa.text('false')))
    op.execute("UPDATE items SET pushed = true WHERE state IN (-2, -1, 3, 4, 5) AND package_id IN "
               "(SELECT id FROM packages WHERE push_url IS NOT NULL)")
    op.create_table('webhook_secrets',
    sa.Column('user_id', _BIG_ID, nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_webhook_secrets_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_webhook_secrets'))
    )
    op.create_table('webhook_outbox',
    sa.Column('id', _BIG_ID, nullable=False),
    sa.Column('user_id', _BIG_ID, nullable=False),
    sa.Column('package_id', _BIG_ID, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('state', sa.SmallInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=False),
    sa.Column('claim_owner', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_webhook_outbox_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_outbox'))
    )
    op.create_index('ix_webhook_outbox_endpoint', 'webhook_outbox', ['endpoint', 'state'])
    op.create_index('ix_webhook_outbox_state_id', 'webhook_outbox', ['state', 'id'])
    op.create_index('ix_webhook_outbox_due', 'webhook_outbox', ['next_at'],
                    sqlite_where=sa.text('state = 0'), postgresql_where=sa.text('state = 0'))


def downgrade() -> None:
    op.drop_index('ix_webhook_outbox_due', table_name='webhook_outbox')
    op.drop_index('ix_webhook_outbox_state_id', table_name='webhook_outbox')
    op.drop_index('ix_webhook_outbox_endpoint', table_name='webhook_outbox')
    op.drop_table('webhook_outbox')
    op.drop_table('webhook_secrets')
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): batch mode would rebuild items.
    op.drop_column('items', 'pushed')
