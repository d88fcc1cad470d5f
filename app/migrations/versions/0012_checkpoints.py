"""signed checkpoints over every audit stream head: checkpoints and their changed leaves, append-only

Revision ID: 0012_checkpoints
Revises: 0012_document_content
Create Date: 2026-12-01 20:40:00

"""
from alembic import op
import sqlalchemy as sa

from app.migrations.ddl import append_only, drop_append_only


revision = '0012_checkpoints'
down_revision = '0012_document_content'
branch_labels = None
depends_on = None

TABLES = ('audit_checkpoints', 'audit_checkpoint_leaves')


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('events_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('audit_checkpoint_leaves',
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=120), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['audit_checkpoints.id'],
                            name=op.f('fk_audit_checkpoint_leaves_checkpoint_id_audit_checkpoints')),
    sa.PrimaryKeyConstraint('checkpoint_id', 'idx', name=op.f('pk_audit_checkpoint_leaves'))
    )
    with op.batch_alter_table('audit_checkpoint_leaves', schema=None) as batch_op:
        batch_op.create_index('ix_audit_checkpoint_leaves_stream_seq', ['stream', 'seq'], unique=False)
    for table in TABLES:
        append_only(table)


def downgrade():
    for table in reversed(TABLES):
        drop_append_only(table)
    with op.batch_alter_table('audit_checkpoint_leaves', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_checkpoint_leaves_stream_seq')
    op.drop_table('audit_checkpoint_leaves')
    op.drop_table('audit_checkpoints')
