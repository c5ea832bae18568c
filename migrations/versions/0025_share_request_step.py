"""share requests are decided through a process step: the request remembers its process

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('share_request') as batch:
        batch.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_share_request_instance_id_workflow_instance'), 'workflow_instance',
                                 ['instance_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('share_request') as batch:
        batch.drop_constraint(batch.f('fk_share_request_instance_id_workflow_instance'), type_='foreignkey')
        batch.drop_column('instance_id')
