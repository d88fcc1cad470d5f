"""documents: unsigned and content digests, signer, toolchain; background document checks

Revision ID: 0012_document_content
Revises: 0011_unassigned_index
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_document_content'
down_revision = '0011_unassigned_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsigned_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signer_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('weasyprint_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('pango_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('harfbuzz_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('font_subsetter', sa.String(length=16), nullable=True))

    op.create_table('document_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_document_checks_status_known')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_checks_document_id_documents')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_document_checks_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_checks'))
    )
    with op.batch_alter_table('document_checks', schema=None) as batch_op:
        batch_op.create_index('ix_document_checks_document', ['document_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('document_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_document_checks_document')
    op.drop_table('document_checks')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        for column in ('font_subsetter', 'harfbuzz_version', 'pango_version', 'weasyprint_version',
                       'signer_sha256', 'content_sha256', 'unsigned_sha256'):
            batch_op.drop_column(column)
