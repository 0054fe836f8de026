"""carrier_links and workers: links managed by operators, and the live dispatchers

Links came only from FINSMS_CARRIERS/FINSMS_ROUTES; operators now add SMPP links with
`finsms link add`. Each dispatcher process writes a heartbeat row in `workers`, so the
TPS and binds of a link are shared among the processes that run it.

Revision ID: 0006
Revises: 0012
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0012'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('carrier_links',
    sa.Column('id', _ID, nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('options', sa.Text(), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('operators', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), server_default=sa.text('100'), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_links')),
    sa.UniqueConstraint('name', name=op.f('uq_carrier_links_name'))
    )
    op.create_table('workers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    op.create_index('ix_workers_last_seen', 'workers', ['last_seen'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_workers_last_seen', table_name='workers')
    op.drop_table('workers')
    op.drop_table('carrier_links')
