"""person merge: a merged record is a tombstone pointing to the kept one

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 11:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_person_merged_into_id'), ['merged_into_id'], unique=False)
        batch.create_foreign_key(batch.f('fk_person_merged_into_id_person'), 'person', ['merged_into_id'], ['id'])


def downgrade():
    with op.batch_alter_table('person') as batch:
        batch.drop_constraint(batch.f('fk_person_merged_into_id_person'), type_='foreignkey')
        batch.drop_index(batch.f('ix_person_merged_into_id'))
        batch.drop_column('merged_at')
        batch.drop_column('merged_into_id')
