"""Which organisation does a work item: candidate groups (an organisation type, or `service:<code>` routed
by the case's area), else the lane, else the lead organisation. A gap leaves the step unassigned with a
reason a person can act on; it never stops the process."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from casework import agreements, areas, cases, notifications
from models import Case, CaseOrganisation, ItemStatus, Organisation, Service, User, UserRole, WorkItem, db
from models.enums import OrgType, Role, label
from workflows.engine import lane_org_type

SERVICE = "service"
ORGANISATION = "organisation"
# A role nobody active holds in the organisation falls back along this line (escalations must reach someone).
ROLE_FALLBACK = (Role.LEAD.value, None)


@dataclass
class Assignment:
    organisation: Organisation | None
    role: str | None
    reason: str | None = None


@dataclass(frozen=True)
class Group:
    """A parsed candidate group: `police`, `police:manager`, `service:vpp`, `service:vpp:manager`,
    `organisation:city_homes`, `organisation:city_homes:manager`."""

    kind: str          # "type", "service" or "organisation"
    code: str
    role: str | None

    @classmethod
    def parse(cls, text: str) -> Group:
        head, _, rest = text.strip().partition(":")
        if head in (SERVICE, ORGANISATION):
            code, _, role = rest.partition(":")
            return cls(head, code, role or None)
        return cls("type", head, rest or None)


def describe(candidate_groups: list[str], lane: str | None) -> str:
    """Who a step goes to, in words: "Victim services", "the Vulnerable persons panel service (manager)"."""
    groups = [Group.parse(g) for g in groups_for(candidate_groups, lane)]
    if not groups:
        return "the lead organisation"
    services = dict(db.session.execute(select(Service.code, Service.name).where(
        Service.code.in_([g.code for g in groups if g.kind == SERVICE])))) if any(g.kind == SERVICE for g in groups) \
        else {}
    organisations = dict(db.session.execute(select(Organisation.code, Organisation.name).where(
        Organisation.code.in_([g.code for g in groups if g.kind == ORGANISATION])))) \
        if any(g.kind == ORGANISATION for g in groups) else {}
    words = []
    for g in groups:
        name = services.get(g.code, f"service {g.code}") if g.kind == SERVICE \
            else organisations.get(g.code, g.code) if g.kind == ORGANISATION else label(g.code)
        words.append(name + (f" ({label(g.role).lower()})" if g.role else ""))
    return " or ".join(words)


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
    """The first group that resolves to one organisation wins; none: unassigned, with the first gap's reason."""
    groups = [Group.parse(g) for g in groups_for(candidate_groups, lane)]
    if not groups:
        return Assignment(case.lead_organisation, None)
    orgs = participating(case)
    reasons = []
    for group in groups:
        if group.kind == SERVICE:
            org, reason = by_service(case, orgs, group.code)
        elif group.kind == ORGANISATION:
            org, reason = by_code(group.code)
        else:
            org, reason = next((o for o in orgs if o.type.value == group.code and o.active), None), None
        if org is not None:
            return Assignment(org, role_for(org, group.role))
        reasons.append(reason)
    if any(reasons):
        return Assignment(None, None, next(r for r in reasons if r))
    wanted = " or ".join(label(g.code).lower() for g in groups)
    return Assignment(None, None, f"No {wanted} organisation is on this case: "
                                  f"{case.lead_organisation.name} (the lead) should add one.")


def by_service(case: Case, orgs: list[Organisation], service: str) -> tuple[Organisation | None, str | None]:
    """A partner on the case providing the service comes first; else the one provider in the case's area."""
    on_case = areas.provided_by([o.id for o in orgs if o.active], service, case.area_code)
    for org in orgs:
        if org.id in on_case:
            return org, None
    found = areas.providers(service, case.area_code)
    if len(found) == 1:
        return found[0], None
    name = areas.service_name(service)
    where = case.area.name if case.area else "every area"
    if not found:
        fix = ("set the case's area, or add a provider" if case.area is None else "add one")
        return None, f"No organisation provides {name} in {where} — {fix} in Reference data → Services."
    count = "Two" if len(found) == 2 else str(len(found))
    return None, (f"{count} organisations provide {name} in {where} ({', '.join(o.name for o in found)}): "
                  "choose one on the case page.")


def to(org: Organisation, candidate_groups: list[str], lane: str | None) -> Assignment:
    """A step given to a chosen organisation, with the role its first group asks for (or the fallback)."""
    groups = [Group.parse(g) for g in groups_for(candidate_groups, lane)]
    return Assignment(org, role_for(org, groups[0].role) if groups else None)


def candidates(case: Case, candidate_groups: list[str], lane: str | None) -> list[Organisation]:
    """Whom a lead may give an unassigned step to: the providers (or organisations of the type) first."""
    first: list[Organisation] = []
    for group in (Group.parse(g) for g in groups_for(candidate_groups, lane)):
        if group.kind == SERVICE:
            first += areas.providers(group.code, case.area_code)
        elif group.kind == ORGANISATION:
            first += [o for o in [by_code(group.code)[0]] if o is not None]
        elif group.code in {t.value for t in OrgType}:
            first += db.session.scalars(select(Organisation).where(Organisation.active.is_(True),
                                                                   Organisation.type == OrgType(group.code))
                                        .order_by(Organisation.name)).all()
    rest = db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                              .order_by(Organisation.name)).all()
    return list(dict.fromkeys([*first, *rest]))


def by_code(code: str) -> tuple[Organisation | None, str | None]:
    """A named organisation (a request to one agency); gone or inactive: a gap the lead resolves."""
    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None or not org.active:
        return None, f"The organisation {code!r} is not active in Casebook — choose another on the case page."
    return org, None


def role_for(org: Organisation, role: str | None) -> str | None:
    """The role a step needs in the organisation; one nobody active holds falls back to leads, then anyone."""
    for candidate in (role, *ROLE_FALLBACK) if role else (None,):
        if candidate is None or _holds(org, candidate):
            return candidate
    return None


def _holds(org: Organisation, role: str) -> bool:
    if role not in {r.value for r in Role}:
        return False
    return bool(db.session.scalar(select(exists().where(
        UserRole.user_id == User.id, User.organisation_id == org.id, User.active.is_(True),
        UserRole.role == Role(role)))))


def bring_on(case: Case, org: Organisation, why: str, user: User | None = None) -> bool:
    """Make the organisation a partner on the case (so its people can see the step): cases.share_with.

    :raise agreements.NotShared: no agreement in force covers the share (when enforcing)
    """
    return cases.share_with(case, org, why, user)


def give(item: WorkItem, who: Assignment, case: Case) -> None:
    """Put an assignment on an item (already in the session), bringing a routed organisation onto the case and
    telling its people."""
    if who.organisation is not None:
        try:
            bring_on(case, who.organisation, f"routed step {item.bpmn_id}")
        except agreements.NotShared as exc:
            # Not shared without an agreement: the step waits, unassigned, saying why (never an error).
            item.organisation_id, item.required_role = None, who.role
            item.unassigned_reason = f"{who.organisation.name} cannot be given this step: {exc}"
            return
    item.organisation_id = who.organisation.id if who.organisation else None
    item.required_role, item.unassigned_reason = who.role, who.reason
    if who.organisation is not None:
        groups = [Group.parse(g) for g in groups_for(item.groups, item.lane)]
        notifications.step_ready(item, who.organisation, case,
                                 escalation=bool(groups) and groups[0].role == Role.MANAGER.value)


def reassign_unassigned(case: Case) -> int:
    """Give waiting items to whoever now resolves (an organisation joined, a provider was added)."""
    count = 0
    for item in db.session.scalars(select(WorkItem).where(WorkItem.case_id == case.id,
                                                          WorkItem.status == ItemStatus.READY,
                                                          WorkItem.organisation_id.is_(None))):
        who = resolve(case, item.groups, item.lane)
        if who.organisation is not None:
            give(item, who, case)
            count += 1
        elif who.reason != item.unassigned_reason:
            item.unassigned_reason = who.reason
    db.session.flush()
    return count
