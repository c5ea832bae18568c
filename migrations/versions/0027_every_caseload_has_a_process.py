"""every case type starts a process: ordinary ASB casework instead of the case review, hate crime support, and
the general multi-agency case process for the other case types (only where a type has no mapping of its own)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

NEW = [("asb", "asb_casework"), ("hate_crime", "hate_crime_support")] + [
    (code, "multi_agency_case") for code in ("iom", "cse", "troubled_families", "hmo", "street_drinkers",
                                             "licensed_premises", "acquisitive_crime")]


def upgrade():
    bind = op.get_bind()
    mapping = sa.table("case_type_process", sa.column("case_type_code", sa.String), sa.column("process_key", sa.String),
                       sa.column("position", sa.Integer), sa.column("approval", sa.String))
    case_type = sa.table("case_type", sa.column("code", sa.String))
    # An ordinary ASB case no longer starts a Community Trigger review (s.104: only an application does).
    bind.execute(mapping.delete().where(mapping.c.case_type_code == "asb",
                                        mapping.c.process_key == "asb_case_review"))
    types = {row[0] for row in bind.execute(sa.select(case_type.c.code))}
    mapped = {row[0] for row in bind.execute(sa.select(mapping.c.case_type_code))}
    for code, key in NEW:
        if code in types and code not in mapped:
            bind.execute(mapping.insert().values(case_type_code=code, process_key=key, position=0,
                                                 approval="approved"))


def downgrade():
    bind = op.get_bind()
    mapping = sa.table("case_type_process", sa.column("case_type_code", sa.String), sa.column("process_key", sa.String))
    for code, key in NEW:
        bind.execute(mapping.delete().where(mapping.c.case_type_code == code, mapping.c.process_key == key))
