"""package_counts: items and parts of each package per state, kept as items move

The dispatcher derived a package's state by counting all its items by state after every
claim, submission record and report pass; a 100,000-item package was recounted hundreds of
times while it went out. The statements that move items now keep these counters, and
existing packages get theirs from one count here.

Revision ID: 0008
Revises: 0014
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('package_counts',
    sa.Column('package_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
              nullable=False),
    sa.Column('state', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('part_count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'],
                            name=op.f('fk_package_counts_package_id_packages')),
    sa.PrimaryKeyConstraint('package_id', 'state', name=op.f('pk_package_counts'))
    )
    op.execute(
        'INSERT INTO package_counts (package_id, state, item_count, part_count) '
        'SELECT package_id, state, count(*), sum(parts) FROM items GROUP BY package_id, state'
    )


def downgrade() -> None:
    op.drop_table('package_counts')
