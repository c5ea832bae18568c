"""exports in chunks: a finished workbook is stored and streamed a piece at a time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_chunk',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['export_job.id'], name=op.f('fk_export_chunk_job_id_export_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'seq', name=op.f('pk_export_chunk'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.BigInteger(), nullable=True))
    # Finished workbooks kept whole become one chunk each.
    op.execute('INSERT INTO export_chunk (job_id, seq, data) SELECT id, 0, content FROM export_job '
               'WHERE content IS NOT NULL')
    op.execute('UPDATE export_job SET size = length(content) WHERE content IS NOT NULL')
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('content')


def downgrade():
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
    # Only one-chunk workbooks fit back whole; larger ones expire.
    op.execute('UPDATE export_job SET content = (SELECT data FROM export_chunk '
               'WHERE export_chunk.job_id = export_job.id AND seq = 0) '
               'WHERE size IS NOT NULL AND size <= 1048576')
    op.execute("UPDATE export_job SET status = 'expired' WHERE status = 'done' AND content IS NULL")
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_column('size')
    op.drop_table('export_chunk')
