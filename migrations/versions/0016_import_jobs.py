"""import jobs: uploads checked and imported by the worker, file and report kept in the database

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 11:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_import_job_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    op.create_index(op.f('ix_import_job_status'), 'import_job', ['status'], unique=False)
    op.create_index(op.f('ix_import_job_user_id'), 'import_job', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_import_job_user_id'), table_name='import_job')
    op.drop_index(op.f('ix_import_job_status'), table_name='import_job')
    op.drop_table('import_job')
