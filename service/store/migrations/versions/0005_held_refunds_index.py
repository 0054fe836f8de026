"""packages whose failed items wait for their refund, by sending date

FinSMS facade packages refund a failed item 48 hours after it was sent, so the
dispatcher's housekeeping looks for such packages sent before a cut-off. A partial index
holds only the packages of the sources that hold refunds back: Node API packages never
enter it, and no item write maintains it.

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

_HOLDS_REFUNDS = "source IN ('finsms')"


def upgrade() -> None:
    op.create_index('ix_packages_held_refunds', 'packages', ['sending_date'],
                    sqlite_where=sa.text(_HOLDS_REFUNDS),
                    postgresql_where=sa.text(_HOLDS_REFUNDS))


def downgrade() -> None:
    op.drop_index('ix_packages_held_refunds', table_name='packages')
