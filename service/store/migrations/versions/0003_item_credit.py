"""each item keeps its own price

Pricing is a policy per package source (service/domain/pricing.py): Node API items cost
their message parts, FinSMS facade items a credit per 180 characters. Settlement refunds
a failed item's own price, so it is stored with the item; existing items cost their parts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
    op.execute('UPDATE items SET credit = parts')


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('credit')
