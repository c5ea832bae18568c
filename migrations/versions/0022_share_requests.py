"""share requests: asking the organisation that holds a person to share

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 11:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('share_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_org_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('holder_org_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('lawful_basis', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('shared_cases', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_share_request_decided_by_id_user')),
    sa.ForeignKeyConstraint(['holder_org_id'], ['organisation.id'], name=op.f('fk_share_request_holder_org_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_share_request_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_share_request_requested_by_id_user')),
    sa.ForeignKeyConstraint(['requester_org_id'], ['organisation.id'], name=op.f('fk_share_request_requester_org_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_request'))
    )
    op.create_index(op.f('ix_share_request_holder_org_id'), 'share_request', ['holder_org_id'], unique=False)
    op.create_index(op.f('ix_share_request_requester_org_id'), 'share_request', ['requester_org_id'], unique=False)


def downgrade():
    op.drop_table('share_request')
