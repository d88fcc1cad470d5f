"""uploads: a person's pending files are counted for the quota, old pending files are found by the sweep

Revision ID: 0012_upload_sweep
Revises: 0012_checkpoints
Create Date: 2026-12-01 20:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0012_upload_sweep'
down_revision = '0012_checkpoints'
branch_labels = None
depends_on = None

PENDING = sa.text('case_id IS NULL AND submission_id IS NULL')


def upgrade():
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.create_index('ix_stored_files_owner_id', ['owner_id'], unique=False)
        batch_op.create_index('ix_stored_files_pending', ['uploaded_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index('ix_stored_files_pending')
        batch_op.drop_index('ix_stored_files_owner_id')
