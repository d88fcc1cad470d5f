"""the analytics read model: case facts, state visits, SLA outcomes, handoffs (cases.insight)

Revision ID: 0020_insight
Revises: 0019_personal_values
Create Date: 2026-12-02 04:00:00

Existing cases are not backfilled here: `casework insight rebuild` derives their rows from the audit chain
(and a case without rows is derived from its chain the first time it changes).
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_insight'
down_revision = '0019_personal_values'
branch_labels = None
depends_on = None

T = sa.DateTime(timezone=True)


def upgrade():
    op.create_table('insight_cases',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=24), nullable=False),
    sa.Column('filed_at', T, nullable=False),
    sa.Column('closed_at', T, nullable=True),
    sa.Column('cycle_seconds', sa.Float(), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('assignee', sa.String(length=254), nullable=True),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('requester', sa.String(length=16), nullable=False),
    sa.Column('first_response_at', T, nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('reopens', sa.Integer(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('escalated_at', T, nullable=True),
    sa.Column('rule_failures', sa.Integer(), nullable=False),
    sa.Column('rule_failed_at', T, nullable=True),
    sa.Column('exception_at', T, nullable=True),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('fold', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_insight_cases'))
    )
    op.create_index('ix_insight_cases_type_filed', 'insight_cases', ['case_type', 'filed_at'])
    op.create_index('ix_insight_cases_type_closed', 'insight_cases', ['case_type', 'closed_at'])
    op.create_index('ix_insight_cases_type_open_queue', 'insight_cases', ['case_type', 'is_open', 'queue'])
    op.create_table('insight_state_visits',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('n', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('state_kind', sa.String(length=16), nullable=False),
    sa.Column('entered_at', T, nullable=False),
    sa.Column('left_at', T, nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('assignee', sa.String(length=254), nullable=True),
    sa.Column('entered_by', sa.String(length=16), nullable=False),
    sa.Column('via', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('visit_no', sa.Integer(), nullable=False),
    sa.Column('previous', sa.String(length=64), nullable=True),
    sa.Column('edge_seconds', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'n', name=op.f('pk_insight_state_visits'))
    )
    op.create_index('ix_insight_state_visits_type_left', 'insight_state_visits', ['case_type', 'left_at'])
    op.create_index('ix_insight_state_visits_type_entered', 'insight_state_visits', ['case_type', 'entered_at'])
    op.create_table('insight_sla',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('deadline_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_type', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('started_at', T, nullable=False),
    sa.Column('due_at', T, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('warned_at', T, nullable=True),
    sa.Column('breached_at', T, nullable=True),
    sa.Column('ended_at', T, nullable=True),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('paused_at', T, nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'deadline_id', name=op.f('pk_insight_sla'))
    )
    op.create_index('ix_insight_sla_type_due', 'insight_sla', ['case_type', 'due_at'])
    op.create_table('insight_handoffs',
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('n', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_type', sa.String(length=64), nullable=False),
    sa.Column('at', T, nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('from_queue', sa.String(length=64), nullable=False),
    sa.Column('to_queue', sa.String(length=64), nullable=False),
    sa.Column('by', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('case_id', 'n', name=op.f('pk_insight_handoffs'))
    )
    op.create_index('ix_insight_handoffs_type_at', 'insight_handoffs', ['case_type', 'at'])


def downgrade():
    op.drop_index('ix_insight_handoffs_type_at', table_name='insight_handoffs')
    op.drop_table('insight_handoffs')
    op.drop_index('ix_insight_sla_type_due', table_name='insight_sla')
    op.drop_table('insight_sla')
    op.drop_index('ix_insight_state_visits_type_entered', table_name='insight_state_visits')
    op.drop_index('ix_insight_state_visits_type_left', table_name='insight_state_visits')
    op.drop_table('insight_state_visits')
    op.drop_index('ix_insight_cases_type_open_queue', table_name='insight_cases')
    op.drop_index('ix_insight_cases_type_closed', table_name='insight_cases')
    op.drop_index('ix_insight_cases_type_filed', table_name='insight_cases')
    op.drop_table('insight_cases')
