"""partial indexes for customID and carrier reference

Packages without a customID and items not yet handed to a carrier (nearly all rows at
creation) no longer get an index entry: fewer pages written per package.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_packages_user_custom_id', type_='unique')
    op.create_index('uq_packages_user_custom_id', 'packages', ['user_id', 'custom_id'],
                    unique=True, sqlite_where=sa.text('custom_id IS NOT NULL'),
                    postgresql_where=sa.text('custom_id IS NOT NULL'))
    op.drop_index('ix_items_carrier_ref', table_name='items')
    op.create_index('ix_items_carrier_ref', 'items', ['carrier_ref'],
                    sqlite_where=sa.text('carrier_ref IS NOT NULL'),
                    postgresql_where=sa.text('carrier_ref IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_items_carrier_ref', table_name='items')
    op.create_index('ix_items_carrier_ref', 'items', ['carrier_ref'])
    op.drop_index('uq_packages_user_custom_id', table_name='packages')
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_packages_user_custom_id', ['user_id', 'custom_id'])
