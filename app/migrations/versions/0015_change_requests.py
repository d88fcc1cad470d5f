"""change requests: four-eyes review of a definition's draft, and scheduled publishing of approved changes

Revision ID: 0015_change_requests
Revises: 0014_legal_holds
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015_change_requests'
down_revision = '0014_legal_holds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('change_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('draft_revision', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_by_id', sa.Integer(), nullable=True),
    sa.Column('version_number', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['definitions.id'],
                            name=op.f('fk_change_requests_definition_id_definitions')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'],
                            name=op.f('fk_change_requests_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_change_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['scheduled_by_id'], ['users.id'],
                            name=op.f('fk_change_requests_scheduled_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_requests'))
    )
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_requests_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_requests_publish_at'), ['publish_at'], unique=False)


def downgrade():
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_requests_publish_at'))
        batch_op.drop_index(batch_op.f('ix_change_requests_status'))
        batch_op.drop_index(batch_op.f('ix_change_requests_definition_id'))
    op.drop_table('change_requests')
    with op.batch_alter_table('definitions', schema=None) as batch_op:
        batch_op.drop_column('review_required')
