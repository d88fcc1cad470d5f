"""operations: request ids beside audit events; outbox delivery with backoff, leases and final failure

Revision ID: 0012_ops
Revises: 0011_unassigned_index
Create Date: 2026-12-01 20:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_ops'
down_revision = '0011_unassigned_index'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy on SQLite): the append-only triggers of audit_events must stay.
    op.add_column('audit_events', sa.Column('request_id', sa.String(length=64), nullable=True))
    op.add_column('outbox', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('next_attempt_at')
    op.drop_column('audit_events', 'request_id')
