"""work home: unassigned cases of a queue are counted from the index alone

Revision ID: 0011_unassigned_index
Revises: 0010_work_indexes
Create Date: 2026-11-21 21:20:00

"""
from alembic import op


revision = '0011_unassigned_index'
down_revision = '0010_work_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_queue_open_assignee', ['queue_id', 'is_open', 'assignee_id'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_queue_open_assignee')
