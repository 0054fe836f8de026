"""periodic packages create their runs

A package of periodType 1-4 repeats daily, weekly, monthly or yearly. The first package
of a series keeps when its next run is due and that run's number (the housekeeping finds
due series through a partial index and takes each run with a conditional update); each
run is a package of its own naming the series' first package, unique per run number.

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_run_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_run_no', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('run_of', _BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('run_no', sa.Integer(), nullable=True))
    op.create_index('ix_packages_next_run', 'packages', ['next_run_at'],
                    sqlite_where=sa.text('next_run_at IS NOT NULL'),
                    postgresql_where=sa.text('next_run_at IS NOT NULL'))
    op.create_index('uq_packages_run', 'packages', ['run_of', 'run_no'], unique=True,
                    sqlite_where=sa.text('run_of IS NOT NULL'),
                    postgresql_where=sa.text('run_of IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_packages_run', table_name='packages')
    op.drop_index('ix_packages_next_run', table_name='packages')
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_column('run_no')
        batch_op.drop_column('run_of')
        batch_op.drop_column('next_run_no')
        batch_op.drop_column('next_run_at')
