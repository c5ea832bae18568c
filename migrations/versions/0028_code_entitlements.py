"""the Victims' Code entitlements as reference data (owners, triggers, working days); victim support cases start
victim_referral, which starts victims_code with what it already knows (one entry)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('code_entitlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('right', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner_service', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('standard_days', sa.Integer(), nullable=True),
    sa.Column('enhanced_days', sa.Integer(), nullable=True),
    sa.Column('offences', sa.Text(), nullable=True),
    sa.Column('min_sentence_months', sa.Integer(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_entitlement')),
    sa.UniqueConstraint('version', 'code', 'trigger', name='uq_code_entitlement')
    )
    # One entry: the referral starts victims_code with the report's facts, so the case type no longer does.
    mapping = sa.table("case_type_process", sa.column("case_type_code", sa.String),
                       sa.column("process_key", sa.String))
    op.get_bind().execute(mapping.delete().where(mapping.c.case_type_code == "victim_support",
                                                 mapping.c.process_key == "victims_code"))


def downgrade():
    op.drop_table('code_entitlement')
