"""links between existing cases are stored both ways: the other side of "duplicate of" is "duplicated by",
of "caused by" "causes" (cases.links)

Revision ID: 0021_case_link_kinds
Revises: 0020_insight
Create Date: 2026-12-02 04:10:00

"""
from alembic import op


revision = '0021_case_link_kinds'
down_revision = '0020_insight'
branch_labels = None
depends_on = None

NEW = "kind IN ('child', 'parent', 'related', 'duplicate_of', 'duplicated_by', 'caused_by', 'causes')"
OLD = "kind IN ('child', 'parent', 'related', 'duplicate_of', 'caused_by')"


def _check(condition):
    with op.batch_alter_table('case_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_case_links_kind_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_case_links_kind_known'), condition)


def upgrade():
    _check(NEW)


def downgrade():
    op.execute("DELETE FROM case_links WHERE kind IN ('duplicated_by', 'causes')")
    _check(OLD)
