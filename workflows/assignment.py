"""Which organisation does a work item: candidate groups, else the lane, else the lead organisation."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import Case, CaseOrganisation, ItemStatus, Organisation, WorkItem, db
from models.enums import label
from workflows.engine import lane_org_type


@dataclass
class Assignment:
    organisation: Organisation | None
    role: str | None
    reason: str | None = None


def participating(case: Case) -> list[Organisation]:
    """The lead organisation first, then partners in the order they were added."""
    partners = db.session.scalars(select(Organisation).join(CaseOrganisation,
                                                            CaseOrganisation.organisation_id == Organisation.id)
                                  .where(CaseOrganisation.case_id == case.id)
                                  .order_by(CaseOrganisation.added_at, CaseOrganisation.id)).all()
    return [case.lead_organisation, *[o for o in partners if o.id != case.lead_organisation_id]]


def groups_for(candidate_groups: list[str], lane: str | None) -> list[str]:
    """The task's candidate groups; a task without them takes its lane as the organisation type."""
    if candidate_groups:
        return list(candidate_groups)
    lane_type = lane_org_type(lane)
    return [lane_type] if lane_type else []


def resolve(case: Case, candidate_groups: list[str], lane: str | None) -> Assignment:
    """The first group that resolves to a participating organisation wins; none: unassigned."""
    groups = groups_for(candidate_groups, lane)
    if not groups:
        return Assignment(case.lead_organisation, None)
    orgs = participating(case)
    for group in groups:
        org_type, _, role = group.partition(":")
        for org in orgs:
            if org.type.value == org_type and org.active:
                return Assignment(org, role or None)
    wanted = " or ".join(label(g.partition(":")[0]).lower() for g in groups)
    return Assignment(None, None, f"No {wanted} organisation is on this case: "
                                  f"{case.lead_organisation.name} (the lead) should add one.")


def reassign_unassigned(case: Case) -> int:
    """After an organisation joins a case, give it the items that were waiting for its type."""
    count = 0
    for item in db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                          WorkItem.status == ItemStatus.READY,
                                                          WorkItem.organisation_id.is_(None))):
        who = resolve(case, item.groups, item.lane)
        if who.organisation is not None:
            item.organisation_id, item.required_role, item.unassigned_reason = who.organisation.id, who.role, None
            count += 1
    db.session.flush()
    return count
