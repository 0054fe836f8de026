"""contacts, groups, memberships, the blacklist, IP allow-lists and user locks

The contact book of the Node API's /contact/* functions (issue #11): contacts unique
per (user, number) with partial indexes for the list filters, groups and their members,
a blacklist per user keyed by number (read set-based when a commercial package is
written), each user's IP allow-list, and leases of one-at-a-time operations (SMS50).

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_LIVE = 'deleted_at IS NULL'
_HAS_EXIT = 'exit_type IS NOT NULL AND deleted_at IS NULL'


def upgrade() -> None:
    op.create_table('contacts',
    sa.Column('id', _ID, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('gsm', sa.String(length=15), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('exit_type', sa.SmallInteger(), nullable=True),
    sa.Column('iys_state', sa.SmallInteger(), nullable=True),
    sa.Column('iys_type', sa.SmallInteger(), nullable=True),
    sa.Column('iys_source', sa.SmallInteger(), nullable=True),
    sa.Column('query_call', sa.Boolean(), nullable=True),
    sa.Column('query_email', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contacts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('user_id', 'gsm', name='uq_contacts_user_gsm'),
    sa.UniqueConstraint('uuid', name=op.f('uq_contacts_uuid'))
    )
    for name, columns, where in (
        ('ix_contacts_user_live', ['user_id', 'id'], _LIVE),
        ('ix_contacts_user_status', ['user_id', 'status', 'id'], _LIVE),
        ('ix_contacts_user_iys', ['user_id', 'iys_state', 'id'], _LIVE),
        ('ix_contacts_user_exit', ['user_id', 'exit_type', 'id'], _HAS_EXIT),
    ):
        op.create_index(name, 'contacts', columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    op.create_table('contact_groups',
    sa.Column('id', _ID, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('parent_id', _ID, nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['contact_groups.id'],
                            name=op.f('fk_contact_groups_parent_id_contact_groups')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contact_groups_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_groups')),
    sa.UniqueConstraint('user_id', 'title', name='uq_contact_groups_user_title'),
    sa.UniqueConstraint('uuid', name=op.f('uq_contact_groups_uuid'))
    )
    op.create_index(op.f('ix_contact_groups_parent_id'), 'contact_groups', ['parent_id'], unique=False)
    op.create_table('contact_group_members',
    sa.Column('group_id', _ID, nullable=False),
    sa.Column('contact_id', _ID, nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                            name=op.f('fk_contact_group_members_contact_id_contacts')),
    sa.ForeignKeyConstraint(['group_id'], ['contact_groups.id'],
                            name=op.f('fk_contact_group_members_group_id_contact_groups')),
    sa.PrimaryKeyConstraint('group_id', 'contact_id', name=op.f('pk_contact_group_members'))
    )
    op.create_index('ix_contact_group_members_contact', 'contact_group_members', ['contact_id'],
                    unique=False)
    op.create_table('blacklist',
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('gsm', sa.String(length=15), nullable=False),
    sa.Column('exit_type', sa.SmallInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_blacklist_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'gsm', name=op.f('pk_blacklist'))
    )
    op.create_table('user_allowed_ips',
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_user_allowed_ips_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'network', name=op.f('pk_user_allowed_ips'))
    )
    op.create_table('user_locks',
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_locks_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'name', name=op.f('pk_user_locks'))
    )


def downgrade() -> None:
    op.drop_table('user_locks')
    op.drop_table('user_allowed_ips')
    op.drop_table('blacklist')
    op.drop_index('ix_contact_group_members_contact', table_name='contact_group_members')
    op.drop_table('contact_group_members')
    op.drop_index(op.f('ix_contact_groups_parent_id'), table_name='contact_groups')
    op.drop_table('contact_groups')
    for name in ('ix_contacts_user_exit', 'ix_contacts_user_iys', 'ix_contacts_user_status',
                 'ix_contacts_user_live'):
        op.drop_index(name, table_name='contacts')
    op.drop_table('contacts')
