"""retention: rules per case type, disposal reviews, legal holds, anonymised cases

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retention_rule',
    sa.Column('case_type_code', sa.String(length=32), nullable=False),
    sa.Column('keep_days', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('policy', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_type_code'], ['case_type.code'], name=op.f('fk_retention_rule_case_type_code_case_type')),
    sa.PrimaryKeyConstraint('case_type_code', name=op.f('pk_retention_rule'))
    )
    op.create_table('disposal_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('case_reference', sa.String(length=32), nullable=False),
    sa.Column('case_type_code', sa.String(length=32), nullable=False),
    sa.Column('lead_organisation_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('keep_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('removed', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_disposal_review_case_id_case'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_disposal_review_decided_by_id_user')),
    sa.ForeignKeyConstraint(['lead_organisation_id'], ['organisation.id'], name=op.f('fk_disposal_review_lead_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_review'))
    )
    op.create_index(op.f('ix_disposal_review_case_id'), 'disposal_review', ['case_id'], unique=False)
    op.create_index(op.f('ix_disposal_review_lead_organisation_id'), 'disposal_review', ['lead_organisation_id'], unique=False)
    op.create_index(op.f('ix_disposal_review_status'), 'disposal_review', ['status'], unique=False)
    # Plain ADD COLUMN (no table copy): the case table is large, and its triggers must stay.
    op.add_column('case', sa.Column('legal_hold_reason', sa.Text(), nullable=True))
    op.add_column('case', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_case_type_closed_at', 'case', ['case_type_code', 'closed_at'], unique=False)


def downgrade():
    op.drop_index('ix_case_type_closed_at', table_name='case')
    op.drop_column('case', 'anonymised_at')   # ALTER TABLE DROP COLUMN (SQLite 3.35+): triggers stay
    op.drop_column('case', 'legal_hold_reason')
    op.drop_index(op.f('ix_disposal_review_status'), table_name='disposal_review')
    op.drop_index(op.f('ix_disposal_review_lead_organisation_id'), table_name='disposal_review')
    op.drop_index(op.f('ix_disposal_review_case_id'), table_name='disposal_review')
    op.drop_table('disposal_review')
    op.drop_table('retention_rule')
