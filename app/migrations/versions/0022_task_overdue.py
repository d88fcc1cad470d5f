"""a started task past its due time escalates once: when it did (cases.task_deadlines)

Revision ID: 0022_task_overdue
Revises: 0021_case_link_kinds
Create Date: 2026-12-02 04:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022_task_overdue'
down_revision = '0021_case_link_kinds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_case_tasks_open_due', ['status', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_tasks_open_due')
        batch_op.drop_column('overdue_at')
