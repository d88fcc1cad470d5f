"""retention actions: what the retention sweep did to each case, once per case and action

Revision ID: 0016_retention_actions
Revises: 0015_change_requests
Create Date: 2026-12-02 01:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016_retention_actions'
down_revision = '0015_change_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retention_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_retention_actions_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_actions')),
    sa.UniqueConstraint('case_id', 'action', name='uq_retention_actions_case_action')
    )


def downgrade():
    op.drop_table('retention_actions')
