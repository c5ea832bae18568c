"""county scale: case access rows kept by triggers, list indexes, trigram search, step states, exports in the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 03:00:00

"""
import sqlalchemy as sa
from alembic import op

from models.case import CASE_ACCESS_POSTGRESQL, CASE_ACCESS_SQLITE
from models.search import TRIGRAM_INDEXES

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table('case_access',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_access_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_case_access_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'case_id', name=op.f('pk_case_access'))
    )
    op.create_table('dashboard_snapshot',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('filters_key', sa.String(length=255), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_dashboard_snapshot_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'filters_key', name=op.f('pk_dashboard_snapshot'))
    )
    op.create_index(op.f('ix_dashboard_snapshot_viewed_at'), 'dashboard_snapshot', ['viewed_at'], unique=False)
    op.create_index('ix_case_access_case', 'case_access', ['case_id', 'organisation_id'], unique=False)
    op.execute('INSERT INTO case_access (organisation_id, case_id) '
               'SELECT lead_organisation_id, id FROM "case" UNION '
               'SELECT organisation_id, case_id FROM case_organisation')
    for statement in (CASE_ACCESS_POSTGRESQL if dialect == 'postgresql' else CASE_ACCESS_SQLITE):
        op.execute(statement)
    op.create_index(op.f('ix_audit_event_user_email'), 'audit_event', ['user_email'], unique=False)
    op.create_index(op.f('ix_audit_event_object_id'), 'audit_event', ['object_id'], unique=False)
    op.create_index('ix_case_opened_at', 'case', ['opened_at', 'id'], unique=False)
    op.create_index('ix_case_status_opened_at', 'case', ['status', 'opened_at'], unique=False)
    op.create_index('ix_case_risk_level_status', 'case', ['risk_level', 'status'], unique=False)
    op.create_index('ix_work_item_ready', 'work_item', ['organisation_id', 'due_at', 'id'], unique=False,
                    postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))
    with op.batch_alter_table('workflow_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('steps', sa.Text(), nullable=True))
    # Files of finished exports lived in one server's instance folder; they are not carried over.
    op.execute("UPDATE export_job SET status = 'expired' WHERE status = 'done'")
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column('path')
    if dialect == 'postgresql' and _trigram_available():
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f'CREATE INDEX {name} ON "{table}" USING gin ({column} gin_trgm_ops)')


def _trigram_available() -> bool:
    """pg_trgm, created here if it may be (a trusted extension: the database's owner may); without it
    searches still work, reading more rows, and a warning says how to add the indexes later."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return True
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        savepoint.commit()
        return True
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        print(f"WARNING: pg_trgm could not be created ({exc.orig}); name searches will read more rows until "
              "an administrator runs CREATE EXTENSION pg_trgm and creates the indexes listed in "
              "models/search.py (CREATE INDEX <name> ON <table> USING gin (<column> gin_trgm_ops)).")
        return False


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute('DROP TRIGGER IF EXISTS case_access_lead ON "case"')
        op.execute('DROP TRIGGER IF EXISTS case_access_partner ON case_organisation')
        op.execute('DROP FUNCTION IF EXISTS case_access_sync()')
    else:
        for name in ('case_access_lead_insert', 'case_access_lead_update', 'case_access_partner_insert',
                     'case_access_partner_delete'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('path', sa.String(length=1024), nullable=True))
        batch_op.drop_column('started_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('content')
    with op.batch_alter_table('workflow_instance', schema=None) as batch_op:
        batch_op.drop_column('steps')
    op.drop_index('ix_work_item_ready', table_name='work_item')
    op.drop_index('ix_case_risk_level_status', table_name='case')
    op.drop_index('ix_case_status_opened_at', table_name='case')
    op.drop_index('ix_case_opened_at', table_name='case')
    op.drop_index(op.f('ix_audit_event_object_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_user_email'), table_name='audit_event')
    op.drop_index(op.f('ix_dashboard_snapshot_viewed_at'), table_name='dashboard_snapshot')
    op.drop_table('dashboard_snapshot')
    op.drop_index('ix_case_access_case', table_name='case_access')
    op.drop_table('case_access')
