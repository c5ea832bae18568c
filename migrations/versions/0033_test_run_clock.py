"""a designer test run keeps the diagram it started from and how far its clock was moved ahead

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 18:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_test_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bpmn_xml', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('time_offset', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('process_test_run', schema=None) as batch_op:
        batch_op.drop_column('time_offset')
        batch_op.drop_column('bpmn_xml')
