"""security keys: WebAuthn credentials (security keys, passkeys) as a second factor

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 09:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('security_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_security_key_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_key')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_security_key_credential_id'))
    )
    op.create_index(op.f('ix_security_key_user_id'), 'security_key', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_security_key_user_id'), table_name='security_key')
    op.drop_table('security_key')
