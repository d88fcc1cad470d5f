"""rules: a requester's recent cases of one case type are counted by short index range scans

Revision ID: 0012_recent_cases_index
Revises: 0012_upload_sweep
Create Date: 2026-12-01 21:00:00

"""
from alembic import op


revision = '0012_recent_cases_index'
down_revision = '0012_upload_sweep'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_type_email_created', ['case_type_id', 'contact_email', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_cases_type_requester_created', ['case_type_id', 'requester_id', 'created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_type_requester_created')
        batch_op.drop_index('ix_cases_type_email_created')
