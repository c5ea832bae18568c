"""documents on cases and people: uploads and letters, versions, deletion kept for the audit; bytes apart from the
rows (document_blob) so that lists never read them

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('scanned', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('sent_by', sa.String(length=32), nullable=True),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('latest', sa.Boolean(), nullable=False),
    sa.Column('storage', sa.String(length=8), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('delete_reason', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_document_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_document_person_id_person'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_document_uploaded_by_id_user')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['user.id'], name=op.f('fk_document_deleted_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('family_id', 'version', name='uq_document_family_version')
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_case_listed', ['case_id', 'deleted_at', 'uploaded_at'], unique=False)
        batch_op.create_index('ix_document_person_listed', ['person_id', 'deleted_at', 'uploaded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_family_id'), ['family_id'], unique=False)

    op.create_table('document_blob',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_blob_document_id_document'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_blob'))
    )


def downgrade():
    op.drop_table('document_blob')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_family_id'))
        batch_op.drop_index('ix_document_person_listed')
        batch_op.drop_index('ix_document_case_listed')
    op.drop_table('document')
