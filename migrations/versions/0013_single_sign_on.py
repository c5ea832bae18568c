"""single sign-on: an organisation's OpenID Connect provider

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_issuer', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('sso_client_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('sso_client_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('sso_email_claim', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('sso_email_claim')
        batch_op.drop_column('sso_client_secret')
        batch_op.drop_column('sso_client_id')
        batch_op.drop_column('sso_issuer')
