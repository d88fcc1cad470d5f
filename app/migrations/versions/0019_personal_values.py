"""personal values beside the audit chain (salted commitments in the payloads); a requester's sealed e-mail as actor

Revision ID: 0019_personal_values
Revises: 0018_erasure_requests
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019_personal_values'
down_revision = '0018_erasure_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personal_values',
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('salt', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erasure_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_personal_values_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_values_user_id_users')),
    sa.PrimaryKeyConstraint('commitment', name=op.f('pk_personal_values'))
    )
    op.create_index('ix_personal_values_case_id', 'personal_values', ['case_id'])
    op.create_index('ix_personal_values_user_id', 'personal_values', ['user_id'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('audit_alias', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('audit_alias')
    op.drop_index('ix_personal_values_user_id', table_name='personal_values')
    op.drop_index('ix_personal_values_case_id', table_name='personal_values')
    op.drop_table('personal_values')
