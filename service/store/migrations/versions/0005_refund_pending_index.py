"""index of failed items whose refund waits

FinSMS facade packages refund a failed item 48 hours after it was sent, so the
dispatcher's housekeeping looks for failed, unrefunded items sent before a cut-off. A
partial index holds just those items (delivered and waiting ones never enter it), so the
sweep does not read the whole items table every minute.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_PENDING = 'refunded IS {false} AND state IN (-2, -1, 4, 5)'


def upgrade() -> None:
    op.create_index('ix_items_refund_pending', 'items', ['sending_date'],
                    sqlite_where=sa.text(_PENDING.format(false='0')),
                    postgresql_where=sa.text(_PENDING.format(false='false')))


def downgrade() -> None:
    op.drop_index('ix_items_refund_pending', table_name='items')
