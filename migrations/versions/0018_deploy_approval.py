"""four eyes on deploys and case-type mappings: they wait for a lead of another organisation to approve them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.String(length=16), server_default='approved', nullable=False))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_process_definition_approved_by_id_user'), 'user',
                                    ['approved_by_id'], ['id'])
    with op.batch_alter_table('case_type_process', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.String(length=16), server_default='approved', nullable=False))
        batch_op.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_type_process_requested_by_id_user'), 'user',
                                    ['requested_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_case_type_process_approved_by_id_user'), 'user',
                                    ['approved_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('case_type_process', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_type_process_approved_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_case_type_process_requested_by_id_user'), type_='foreignkey')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('requested_by_id')
        batch_op.drop_column('approval')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_process_definition_approved_by_id_user'), type_='foreignkey')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approval')
