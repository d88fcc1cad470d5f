"""form tokens: one per rendered wizard, so a repeated post files nothing twice

Revision ID: 0012_form_tokens
Revises: 0012_webhooks
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_form_tokens'
down_revision = '0012_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_form_tokens_case_id_cases')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_form_tokens_submission_id_submissions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_form_tokens'))
    )


def downgrade():
    op.drop_table('form_tokens')
