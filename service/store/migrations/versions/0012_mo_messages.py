"""mo_numbers, mo_keywords, mo_messages, mo_optouts: MO messages and opt-outs by SMS

Inbound (MO) messages were only logged. They are stored now, once per (link, carrier
reference), under the user whose short number they were written to; a first word that is
one of the user's opt-out keywords records an opt-out.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('mo_numbers',
    sa.Column('id', _ID, nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mo_numbers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_numbers')),
    sa.UniqueConstraint('number', name=op.f('uq_mo_numbers_number'))
    )
    op.create_index('ix_mo_numbers_user_id', 'mo_numbers', ['user_id'], unique=False)
    op.create_table('mo_keywords',
    sa.Column('id', _ID, nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('keyword', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mo_keywords_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_keywords')),
    sa.UniqueConstraint('user_id', 'keyword', name='uq_mo_keywords_user_keyword')
    )
    op.create_table('mo_messages',
    sa.Column('id', _ID, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('user_id', _ID, nullable=True),
    sa.Column('link', sa.String(length=32), nullable=False),
    sa.Column('carrier_ref', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('destination', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('keyword', sa.String(length=32), nullable=True),
    sa.Column('state', sa.SmallInteger(), nullable=False),
    sa.Column('exit_type', sa.SmallInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mo_messages_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_messages')),
    sa.UniqueConstraint('link', 'carrier_ref', name='uq_mo_messages_link_ref'),
    sa.UniqueConstraint('uuid', name=op.f('uq_mo_messages_uuid'))
    )
    op.create_index('ix_mo_messages_user_received', 'mo_messages', ['user_id', 'received_at'],
                    unique=False)
    op.create_table('mo_optouts',
    sa.Column('id', _ID, nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('exit_type', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mo_optouts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_optouts')),
    sa.UniqueConstraint('user_id', 'number', name='uq_mo_optouts_user_number')
    )


def downgrade() -> None:
    op.drop_table('mo_optouts')
    op.drop_index('ix_mo_messages_user_received', table_name='mo_messages')
    op.drop_table('mo_messages')
    op.drop_table('mo_keywords')
    op.drop_index('ix_mo_numbers_user_id', table_name='mo_numbers')
    op.drop_table('mo_numbers')
