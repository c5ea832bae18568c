"""incidents and complaints as records: thresholds are computed from them

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('reported_to_org_id', sa.Integer(), nullable=False),
    sa.Column('reported_by', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('hate_motivated', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('same_as_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_org_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_incident_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_incident_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_incident_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['recorded_by_org_id'], ['organisation.id'], name=op.f('fk_incident_recorded_by_org_id_organisation')),
    sa.ForeignKeyConstraint(['reported_to_org_id'], ['organisation.id'], name=op.f('fk_incident_reported_to_org_id_organisation')),
    sa.ForeignKeyConstraint(['same_as_id'], ['incident.id'], name=op.f('fk_incident_same_as_id_incident'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    op.create_index(op.f('ix_incident_case_id'), 'incident', ['case_id'], unique=False)
    op.create_index(op.f('ix_incident_same_as_id'), 'incident', ['same_as_id'], unique=False)
    op.create_index('ix_incident_person_occurred', 'incident', ['person_id', 'occurred_on'], unique=False)


def downgrade():
    op.drop_table('incident')
