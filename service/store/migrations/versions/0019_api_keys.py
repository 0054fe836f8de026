"""api_keys grows rotation, last use and allowed addresses; api_key_audit logs requests

The FinSMS v1 facade authenticates with API keys. A rotated key keeps its previous
secret for a grace period; each key records when and from where it was last used, and
may be limited to some addresses. Every facade request is logged (key, endpoint, HTTP
status, time, address), never its secret or message.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('previous_hash', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('previous_until', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('rotated_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('last_used_ip', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('allowed_ips', sa.Text(), nullable=True))
    op.create_table('api_key_audit',
    sa.Column('id', _ID, nullable=False),
    sa.Column('key_id', _ID, nullable=True),
    sa.Column('key', sa.String(length=64), nullable=True),
    sa.Column('endpoint', sa.String(length=32), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key_audit'))
    )
    op.create_index('ix_api_key_audit_key_at', 'api_key_audit', ['key', 'at'], unique=False)
    op.create_index('ix_api_key_audit_at', 'api_key_audit', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_api_key_audit_at', table_name='api_key_audit')
    op.drop_index('ix_api_key_audit_key_at', table_name='api_key_audit')
    op.drop_table('api_key_audit')
    with op.batch_alter_table('api_keys') as batch:
        for column in ('allowed_ips', 'last_used_ip', 'last_used_at', 'rotated_at',
                       'previous_until', 'previous_hash'):
            batch.drop_column(column)
