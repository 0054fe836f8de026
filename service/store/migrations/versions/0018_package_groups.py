"""package_groups: the contact groups a package was sent to

/sms/create may name contact groups (groupUUIDs); the package remembers them so that
/sms/recreate with includeNewNumbers reaches the contacts added to them since.

Revision ID: 0018
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0008'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('package_groups',
    sa.Column('package_id', _ID, nullable=False),
    sa.Column('group_uuid', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'],
                            name=op.f('fk_package_groups_package_id_packages')),
    sa.PrimaryKeyConstraint('package_id', 'group_uuid', name=op.f('pk_package_groups'))
    )


def downgrade() -> None:
    op.drop_table('package_groups')
