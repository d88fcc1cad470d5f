"""adaptive case work: discretionary tasks (started, cancelled, blocking closing) and links between cases

Revision ID: 0017_adaptive
Revises: 0016_retention_actions
Create Date: 2026-12-02 01:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017_adaptive'
down_revision = '0016_retention_actions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discretionary', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('blocks_closing', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('started_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rule_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_tasks_started_by_id_users'), 'users', ['started_by_id'],
                                    ['id'])
        batch_op.drop_constraint(batch_op.f('ck_case_tasks_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_tasks_status_known'),
                                         "status IN ('open', 'done', 'cancelled')")
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.alter_column('discretionary', server_default=None)
        batch_op.alter_column('blocks_closing', server_default=None)
        batch_op.alter_column('reason', server_default=None)
    op.create_table('case_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('child', 'parent', 'related', 'duplicate_of', 'caused_by')",
                       name=op.f('ck_case_links_kind_known')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_links_case_id_cases')),
    sa.ForeignKeyConstraint(['other_id'], ['cases.id'], name=op.f('fk_case_links_other_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_links')),
    sa.UniqueConstraint('case_id', 'other_id', 'kind', name='uq_case_links_case_other_kind')
    )
    with op.batch_alter_table('case_links', schema=None) as batch_op:
        batch_op.create_index('ix_case_links_other_id', ['other_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_links', schema=None) as batch_op:
        batch_op.drop_index('ix_case_links_other_id')
    op.drop_table('case_links')
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_tasks_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_tasks_status_known'), "status IN ('open', 'done')")
        batch_op.drop_constraint(batch_op.f('fk_case_tasks_started_by_id_users'), type_='foreignkey')
        for column in ('due_at', 'rule_id', 'started_by_id', 'reason', 'blocks_closing', 'discretionary'):
            batch_op.drop_column(column)
