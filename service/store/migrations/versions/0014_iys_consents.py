"""iys_settings, iys_consents: İYS settings per user and consents to commercial messages

Commercial packages go only to recipients with a consent approved in İYS. Users get their
İYS and brand codes; consents are kept per user × recipient × type with their
synchronisation state, which the dispatcher's housekeeping moves on.

Revision ID: 0014
Revises: 0015
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0015'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('iys_settings',
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('iys_code', sa.String(length=16), nullable=True),
    sa.Column('brand_code', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_iys_settings_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_iys_settings'))
    )
    op.create_table('iys_consents',
    sa.Column('id', _ID, nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('recipient', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('recipient_type', sa.SmallInteger(), nullable=False),
    sa.Column('source', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=4), nullable=False),
    sa.Column('consent_date', sa.DateTime(), nullable=False),
    sa.Column('exit_type', sa.SmallInteger(), nullable=True),
    sa.Column('iys_state', sa.SmallInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_sync_at', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_iys_consents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iys_consents')),
    sa.UniqueConstraint('user_id', 'recipient', 'type', name='uq_iys_consents_user_recipient')
    )
    op.create_index('ix_iys_consents_pending', 'iys_consents', ['next_sync_at'], unique=False,
                    sqlite_where=sa.text('iys_state IN (-1, 0)'),
                    postgresql_where=sa.text('iys_state IN (-1, 0)'))


def downgrade() -> None:
    op.drop_index('ix_iys_consents_pending', table_name='iys_consents')
    op.drop_table('iys_consents')
    op.drop_table('iys_settings')
