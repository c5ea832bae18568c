"""panels and meetings: meeting types (reference data), meetings, invitations, the attendance register, agenda
items and actions; work items know the meeting type a meeting step waits for

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 15:40:00

"""
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

TYPES = Path(__file__).resolve().parents[2] / "casework" / "data" / "meeting_types.json"


def upgrade():
    meeting_type = op.create_table('meeting_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('confidentiality_statement', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_type')),
    sa.UniqueConstraint('code', name=op.f('uq_meeting_type_code'))
    )
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_type_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('chair', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_meeting_created_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_type_id'], ['meeting_type.id'], name=op.f('fk_meeting_meeting_type_id_meeting_type')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_meeting_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    op.create_index('ix_meeting_org_type_starts', 'meeting', ['organisation_id', 'meeting_type_id', 'starts_at'], unique=False)
    op.create_table('meeting_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_invite_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_meeting_invite_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_invite')),
    sa.UniqueConstraint('meeting_id', 'organisation_id', name='uq_meeting_invite')
    )
    op.create_index('ix_meeting_invite_org', 'meeting_invite', ['organisation_id'], unique=False)
    op.create_table('meeting_attendee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_attendee_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_meeting_attendee_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_meeting_attendee_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendee')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_meeting_attendee')
    )
    op.create_index(op.f('ix_meeting_attendee_meeting_id'), 'meeting_attendee', ['meeting_id'], unique=False)
    op.create_table('agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('listed_by_id', sa.Integer(), nullable=True),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_agenda_item_case_id_case')),
    sa.ForeignKeyConstraint(['listed_by_id'], ['user.id'], name=op.f('fk_agenda_item_listed_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['outcome_by_id'], ['user.id'], name=op.f('fk_agenda_item_outcome_by_id_user')),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id'], name=op.f('fk_agenda_item_work_item_id_work_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item')),
    sa.UniqueConstraint('meeting_id', 'case_id', name='uq_agenda_case')
    )
    op.create_index(op.f('ix_agenda_item_case_id'), 'agenda_item', ['case_id'], unique=False)
    op.create_index(op.f('ix_agenda_item_work_item_id'), 'agenda_item', ['work_item_id'], unique=False)
    op.create_table('meeting_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('meeting_type_id', sa.Integer(), nullable=False),
    sa.Column('panel_organisation_id', sa.Integer(), nullable=False),
    sa.Column('owner_organisation_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('update', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('carried', sa.Integer(), nullable=False),
    sa.Column('carried_to_meeting_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_meeting_action_agenda_item_id_agenda_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['carried_to_meeting_id'], ['meeting.id'], name=op.f('fk_meeting_action_carried_to_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_meeting_action_case_id_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_meeting_action_created_by_id_user')),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instance.id'], name=op.f('fk_meeting_action_instance_id_workflow_instance')),
    sa.ForeignKeyConstraint(['meeting_type_id'], ['meeting_type.id'], name=op.f('fk_meeting_action_meeting_type_id_meeting_type')),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['organisation.id'], name=op.f('fk_meeting_action_owner_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['panel_organisation_id'], ['organisation.id'], name=op.f('fk_meeting_action_panel_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_action'))
    )
    op.create_index(op.f('ix_meeting_action_agenda_item_id'), 'meeting_action', ['agenda_item_id'], unique=False)
    op.create_index('ix_meeting_action_open', 'meeting_action', ['case_id', 'state'], unique=False)
    op.create_index('ix_meeting_action_owner', 'meeting_action', ['owner_organisation_id', 'state'], unique=False)
    op.create_index('ix_meeting_action_panel', 'meeting_action', ['panel_organisation_id', 'meeting_type_id', 'state'],
                    unique=False)
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_type', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('meeting_info', sa.Text(), nullable=True))
        batch_op.create_index('ix_work_item_meeting', ['meeting_type', 'organisation_id'], unique=False,
                              postgresql_where=sa.text("meeting_type IS NOT NULL AND status = 'ready'"),
                              sqlite_where=sa.text("meeting_type IS NOT NULL AND status = 'ready'"))
    # The default meeting types (their confidentiality statements are defaults leads replace).
    op.bulk_insert(meeting_type, [{"code": t["code"], "name": t["name"], "service_code": t["service_code"],
                                   "confidentiality_statement": t["confidentiality_statement"], "active": True}
                                  for t in json.loads(TYPES.read_text(encoding="utf-8"))])


def downgrade():
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_meeting', postgresql_where=sa.text("meeting_type IS NOT NULL AND status = 'ready'"),
                            sqlite_where=sa.text("meeting_type IS NOT NULL AND status = 'ready'"))
        batch_op.drop_column('meeting_info')
        batch_op.drop_column('meeting_type')
    op.drop_index('ix_meeting_action_panel', table_name='meeting_action')
    op.drop_index('ix_meeting_action_owner', table_name='meeting_action')
    op.drop_index('ix_meeting_action_open', table_name='meeting_action')
    op.drop_index(op.f('ix_meeting_action_agenda_item_id'), table_name='meeting_action')
    op.drop_table('meeting_action')
    op.drop_index(op.f('ix_agenda_item_work_item_id'), table_name='agenda_item')
    op.drop_index(op.f('ix_agenda_item_case_id'), table_name='agenda_item')
    op.drop_table('agenda_item')
    op.drop_index(op.f('ix_meeting_attendee_meeting_id'), table_name='meeting_attendee')
    op.drop_table('meeting_attendee')
    op.drop_index('ix_meeting_invite_org', table_name='meeting_invite')
    op.drop_table('meeting_invite')
    op.drop_index('ix_meeting_org_type_starts', table_name='meeting')
    op.drop_table('meeting')
    op.drop_table('meeting_type')
