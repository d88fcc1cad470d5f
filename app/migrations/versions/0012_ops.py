"""operations: request ids beside audit events; outbox delivery with backoff, leases and final failure;
external identities for single sign-on

Revision ID: 0012_ops
Revises: 0012_form_tokens
Create Date: 2026-12-01 20:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_ops'
down_revision = '0012_form_tokens'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy on SQLite): the append-only triggers of audit_events must stay.
    op.add_column('audit_events', sa.Column('request_id', sa.String(length=64), nullable=True))
    op.add_column('outbox', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('user_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identities')),
    sa.UniqueConstraint('issuer', 'subject', name='uq_user_identities_issuer_subject')
    )
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_identities_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_identities_user_id'))
    op.drop_table('user_identities')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('next_attempt_at')
    op.drop_column('audit_events', 'request_id')
