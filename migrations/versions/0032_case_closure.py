"""closing a case records its outcome and reason; a deployed process version keeps the lead's change note; a step
names the earlier answers its page shows; each full check of the audit chain is kept

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verification'))
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closure_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('closure_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_note', sa.Text(), nullable=True))
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shows', sa.Text(), nullable=True))


def downgrade():
    op.drop_table('audit_verification')
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_column('shows')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('change_note')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('closure_reason')
        batch_op.drop_column('closure_outcome')
