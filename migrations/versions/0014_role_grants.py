"""role grants: roles an admin adds wait for a second admin's approval

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('roles', sa.String(length=255), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_role_grant_decided_by_id_user')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_role_grant_requested_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_role_grant_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grant'))
    )
    op.create_index(op.f('ix_role_grant_status'), 'role_grant', ['status'], unique=False)
    op.create_index(op.f('ix_role_grant_user_id'), 'role_grant', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_role_grant_user_id'), table_name='role_grant')
    op.drop_index(op.f('ix_role_grant_status'), table_name='role_grant')
    op.drop_table('role_grant')
