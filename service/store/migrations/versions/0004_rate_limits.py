"""rate_limits: the login throttle's counts, shared by every worker

Failed logins were counted in each process's memory, so every gunicorn worker allowed
the limit on its own. Without Redis they are counted here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limits'))
    )
    op.create_index('ix_rate_limits_key_at', 'rate_limits', ['key', 'at'], unique=False)
    op.create_index('ix_rate_limits_expires_at', 'rate_limits', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_limits_expires_at', table_name='rate_limits')
    op.drop_index('ix_rate_limits_key_at', table_name='rate_limits')
    op.drop_table('rate_limits')
