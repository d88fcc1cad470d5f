"""work lists: overdue cases of a queue come from one index range

Revision ID: 0010_work_indexes
Revises: 0009_tasks
Create Date: 2026-11-21 20:20:00

"""
from alembic import op


revision = '0010_work_indexes'
down_revision = '0009_tasks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_queue_open_due', ['queue_id', 'is_open', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_queue_open_due')
