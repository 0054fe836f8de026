"""contact imports: one row per /contact/import request

The import's options, its CSV until processed, progress counts, the first invalid rows,
and the lease of the worker processing it; a partial unique index allows one open
(pending or running) import per user (SMS13) without a race.

Revision ID: 0017
Revises: 0019
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0019'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_OPEN = "state IN ('pending', 'running')"


def upgrade() -> None:
    op.create_table('contact_imports',
    sa.Column('id', _ID, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('csv_data', sa.Text(), nullable=True),
    sa.Column('total', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('unchanged', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('invalid', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('records_done', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('errors', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_contact_imports_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_imports')),
    sa.UniqueConstraint('uuid', name=op.f('uq_contact_imports_uuid'))
    )
    op.create_index('uq_contact_imports_user_open', 'contact_imports', ['user_id'],
                    unique=True, sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
    op.create_index('ix_contact_imports_user', 'contact_imports', ['user_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_contact_imports_user', table_name='contact_imports')
    op.drop_index('uq_contact_imports_user_open', table_name='contact_imports')
    op.drop_table('contact_imports')
