"""disclosure log and sharing exceptions

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sharing_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('lawful_basis', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_sharing_exception_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_sharing_exception_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_sharing_exception_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_exception'))
    )
    op.create_index(op.f('ix_sharing_exception_case_id'), 'sharing_exception', ['case_id'], unique=False)
    op.create_table('disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('what', sa.String(length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('exception_id', sa.Integer(), nullable=True),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agreement_id'], ['information_sharing_agreement.id'], name=op.f('fk_disclosure_agreement_id_information_sharing_agreement'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['by_user_id'], ['user.id'], name=op.f('fk_disclosure_by_user_id_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_disclosure_case_id_case'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exception_id'], ['sharing_exception.id'], name=op.f('fk_disclosure_exception_id_sharing_exception'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_disclosure_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_disclosure_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure'))
    )
    op.create_index('ix_disclosure_at', 'disclosure', ['at'], unique=False)
    op.create_index(op.f('ix_disclosure_case_id'), 'disclosure', ['case_id'], unique=False)
    op.create_index(op.f('ix_disclosure_organisation_id'), 'disclosure', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_disclosure_person_id'), 'disclosure', ['person_id'], unique=False)


def downgrade():
    op.drop_table('disclosure')
    op.drop_table('sharing_exception')
