"""kvkk_links: the consent links /sms/create-kvkk sends and /k/<token> answers

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('kvkk_links',
    sa.Column('id', _ID, nullable=False),
    sa.Column('token', sa.String(length=16), nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('package_id', _ID, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=50), nullable=False),
    sa.Column('last_name', sa.String(length=50), nullable=False),
    sa.Column('sender', sa.String(length=11), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer', sa.String(length=10), nullable=True),
    sa.Column('client_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('consent_source', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kvkk_links_user_id_users')),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'],
                            name=op.f('fk_kvkk_links_package_id_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kvkk_links')),
    sa.UniqueConstraint('token', name=op.f('uq_kvkk_links_token'))
    )
    op.create_index('ix_kvkk_links_package_id', 'kvkk_links', ['package_id'], unique=False)
    op.create_index('ix_kvkk_links_user_number', 'kvkk_links', ['user_id', 'number'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_kvkk_links_user_number', table_name='kvkk_links')
    op.drop_index('ix_kvkk_links_package_id', table_name='kvkk_links')
    op.drop_table('kvkk_links')
