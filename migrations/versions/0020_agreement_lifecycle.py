"""agreement lifecycle: each party's approval, review date; agreements recorded before count as approved

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('information_sharing_agreement') as batch:
        batch.add_column(sa.Column('review_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('isa_approval',
    sa.Column('isa_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_isa_approval_approved_by_id_user')),
    sa.ForeignKeyConstraint(['isa_id'], ['information_sharing_agreement.id'], name=op.f('fk_isa_approval_isa_id_information_sharing_agreement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_isa_approval_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('isa_id', 'organisation_id', name=op.f('pk_isa_approval'))
    )
    # Agreements recorded before approvals existed were treated as in force by their dates: they stay so, as
    # approved for every party by the operator (approved_by empty), so that upgrading shares nothing less.
    op.execute("UPDATE information_sharing_agreement SET approved_at = created_at")
    op.execute("INSERT INTO isa_approval (isa_id, organisation_id, approved_by_id, approved_at) "
               "SELECT o.isa_id, o.organisation_id, NULL, a.created_at FROM isa_organisation o "
               "JOIN information_sharing_agreement a ON a.id = o.isa_id")


def downgrade():
    op.drop_table('isa_approval')
    with op.batch_alter_table('information_sharing_agreement') as batch:
        batch.drop_column('approved_at')
        batch.drop_column('review_on')
