"""Incidents and complaints as records, and the thresholds computed from them.

Any organisation on a case records the reports it received (when the incident happened, who reported it, to whom
and when). Another agency's report of the same incident is linked to the first, so it counts once. The ASB case
review threshold (s.104 ASB, Crime and Policing Act 2014), MARAC repeat and potential escalation are computed
here for the operations diagrams call; the windows and counts are the diagram's parameters, so a lead changes
them without code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

import access
from casework import validate
from casework.errors import InvalidInput, NotFound, NotPermitted
from models import (Case, CaseFact, CaseParticipant, Incident, Organisation, User, audit, db)
from models.enums import OrgType, ParticipantRole

KINDS = {"asb": "Anti-social behaviour", "domestic_abuse": "Domestic abuse", "hate": "Hate incident or crime",
         "crime": "Other crime", "other": "Other"}
TEXT_MAX = 4000
ANCHORS = ("per_complaint", "first_complaint")


def for_case(case: Case) -> list[Incident]:
    """The reports recorded on a case, newest incident first."""
    return list(db.session.scalars(select(Incident).where(Incident.case_id == case.id)
                                   .order_by(Incident.occurred_on.desc(), Incident.id.desc())))


def get(user: User, case: Case, incident_id: object) -> Incident:
    """A report on a case the user sees.

    :raise NotFound: not on this case
    """
    row = db.session.get(Incident, validate.whole_number(incident_id) or 0)
    if row is None or row.case_id != case.id or not access.can(user, access.Action.VIEW, case):
        raise NotFound("no such incident on this case")
    return row


def record(user: User, case: Case, values: dict[str, object]) -> Incident:
    """Record a report of an incident on the case. Another agency's report of the same incident (same person,
    kind and day) is linked to the first so thresholds count it once; `same_as` names it explicitly.

    :raise NotPermitted: the user may not add to this case
    :raise InvalidInput: per field (future dates, reported before it happened, unknown agency or person, ...)
    """
    if not access.can(user, access.Action.ADD_NOTE, case):
        raise NotPermitted("You may not record incidents on this case.")
    errors: dict[str, str] = {}

    def field(name: str, check):
        try:
            return check()
        except InvalidInput as exc:
            errors.update(exc.fields)
            return None

    today = date.today()
    occurred = field("occurred_on", lambda: validate.date_value(values.get("occurred_on"), "occurred_on"))
    reported = field("reported_on", lambda: validate.date_value(values.get("reported_on"), "reported_on"))
    kind = field("kind", lambda: validate.choice(values.get("kind"), "kind", set(KINDS)))
    by = field("reported_by", lambda: validate.text(values.get("reported_by"), "reported_by", 200))
    text = field("description", lambda: validate.text(values.get("description"), "description", TEXT_MAX))
    reference = field("reference", lambda: validate.text(values.get("reference"), "reference", 64, required=False))
    if occurred and occurred > today:
        errors["occurred_on"] = "is in the future"
    if reported and reported > today:
        errors["reported_on"] = "is in the future"
    if occurred and reported and reported < occurred:
        errors["reported_on"] = "is before the incident happened"
    agency = _organisation(values.get("reported_to"))
    if agency is None:
        errors["reported_to"] = "choose the organisation it was reported to"
    person_id = _person_on(case, values.get("person"))
    if values.get("person") not in (None, "") and person_id is None:
        errors["person"] = "choose one of the people on this case"
    hate = values.get("hate_motivated")
    hate = hate if isinstance(hate, bool) else str(hate or "").strip().lower() in ("true", "on", "yes", "1", "y")
    same_as = None
    if values.get("same_as") not in (None, ""):
        try:
            same_as = _root(get(user, case, values.get("same_as")))
        except NotFound:
            errors["same_as"] = "choose one of the incidents recorded on this case"
    if errors:
        raise InvalidInput(errors)
    if same_as is None:
        same_as = _likely_same(case, person_id, kind, occurred, agency.id)
    row = Incident(case_id=case.id, person_id=person_id, kind=kind, occurred_on=occurred, reported_on=reported,
                   reported_to_org_id=agency.id, reported_by=by, reference=reference, hate_motivated=hate,
                   description=text, same_as_id=same_as.id if same_as else None, recorded_by_id=user.id,
                   recorded_by_org_id=user.organisation_id)
    db.session.add(row)
    db.session.flush()
    audit.record("record_incident", user=user, object_type="incident", object_id=row.id, case_id=case.id,
                 detail={"kind": kind, "occurred_on": occurred.isoformat(), "reported_to": agency.code,
                         "same_as": row.same_as_id})
    return row


def separate(user: User, case: Case, incident_id: object) -> Incident:
    """Say a report linked as the same incident is a separate one (it then counts on its own).

    :raise NotPermitted, NotFound:
    """
    if not access.can(user, access.Action.ADD_NOTE, case):
        raise NotPermitted("You may not change incidents on this case.")
    row = get(user, case, incident_id)
    before, row.same_as_id = row.same_as_id, None
    audit.record("separate_incident", user=user, object_type="incident", object_id=row.id, case_id=case.id,
                 detail={"was_same_as": before})
    db.session.flush()
    return row


def _organisation(value: object) -> Organisation | None:
    text = str(value).strip() if value not in (None, "") else ""
    if not text:
        return None
    number = validate.whole_number(text)
    where = Organisation.id == number if number is not None else Organisation.code == text
    return db.session.scalar(select(Organisation).where(where, Organisation.active.is_(True)))


def _person_on(case: Case, value: object) -> int | None:
    number = validate.whole_number(value)
    if number is None:
        return None
    return db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case.id,
                                                                      CaseParticipant.person_id == number).limit(1))


def _root(row: Incident) -> Incident:
    return db.session.get(Incident, row.same_as_id) if row.same_as_id else row


def _likely_same(case: Case, person_id: int | None, kind: str, occurred: date, agency_id: int) -> Incident | None:
    """The one report on this case of the same kind, person and day made to another agency, if exactly one."""
    if person_id is None:
        return None
    found = db.session.scalars(select(Incident).where(
        Incident.case_id == case.id, Incident.person_id == person_id, Incident.kind == kind,
        Incident.occurred_on == occurred, Incident.same_as_id.is_(None),
        Incident.reported_to_org_id != agency_id).limit(2)).all()
    return found[0] if len(found) == 1 else None


# ---- thresholds ---------------------------------------------------------------------------------------------

@dataclass
class Counted:
    """One incident (its reports to every agency merged) and whether it qualifies."""

    incident: Incident
    first_reported_on: date
    agencies: list[str]
    qualifies: bool
    why: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.incident.id, "occurred_on": self.incident.occurred_on.isoformat(),
                "reported_on": self.first_reported_on.isoformat(), "reported_to": self.agencies,
                "hate_motivated": self.incident.hate_motivated, "qualifies": self.qualifies, "why": self.why}


def _merged(case: Case, kinds: set[str] | None = None) -> list[tuple[Incident, date, list[str]]]:
    """Each incident on the case once: the first report, the earliest date it was reported, every agency told."""
    rows = for_case(case)
    parent = {r.id: r.same_as_id for r in rows}

    def root_of(row_id: int) -> int:
        seen = set()
        while parent.get(row_id) and row_id not in seen:   # a chain of "same as" leads to its first report
            seen.add(row_id)
            row_id = parent[row_id]
        return row_id

    groups: dict[int, list[Incident]] = {}
    for row in rows:
        groups.setdefault(root_of(row.id), []).append(row)
    out = []
    for root_id, reports in groups.items():
        root = next((r for r in reports if r.id == root_id), reports[0])
        if kinds is not None and root.kind not in kinds:
            continue
        out.append((root, min(r.reported_on for r in reports),
                    sorted({r.reported_to.name for r in reports})))
    return sorted(out, key=lambda t: (t[0].occurred_on, t[0].id))


def asb_threshold(case: Case, application_on: date, *, count: int = 3, report_within_months: int = 1,
                  window_months: int = 6, anchor: str = "per_complaint", hate_window_months: int = 0,
                  kinds: tuple[str, ...] = ("asb", "hate")) -> dict[str, object]:
    """The ASB case review threshold from the complaints on the case (s.104(4) and the Explanatory Notes on
    s.104(11)): a complaint qualifies when made within `report_within_months` of the behaviour and the
    application is within `window_months` of the complaint (anchor per_complaint) or of the first complaint
    counted (first_complaint); met when at least `count` separate incidents qualify. A local hate rule
    (`hate_window_months` > 0): one hate-motivated incident within that many months before the application."""
    if anchor not in ANCHORS:
        raise InvalidInput({"anchor": f"must be one of {', '.join(ANCHORS)}"})
    merged = _merged(case, set(kinds))
    counted: list[Counted] = []
    first = min((reported for _, reported, _ in merged if reported <= application_on), default=None)
    for incident, reported, agencies in merged:
        if reported > application_on or incident.occurred_on > application_on:
            counted.append(Counted(incident, reported, agencies, False, "after the application"))
            continue
        if reported > incident.occurred_on + relativedelta(months=report_within_months):
            counted.append(Counted(incident, reported, agencies, False,
                                   f"reported more than {_months(report_within_months)} after it happened"))
            continue
        start = first if anchor == "first_complaint" and first else reported
        if application_on > start + relativedelta(months=window_months):
            counted.append(Counted(incident, reported, agencies, False,
                                   f"the application is more than {_months(window_months)} after "
                                   + ("the first complaint" if anchor == "first_complaint" else "the complaint")))
            continue
        counted.append(Counted(incident, reported, agencies, True, "qualifies"))
    qualifying = [c for c in counted if c.qualifies]
    hate_met = hate_window_months > 0 and any(
        c.incident.hate_motivated and c.incident.occurred_on >= application_on - relativedelta(months=hate_window_months)
        for c in counted if c.incident.occurred_on <= application_on)
    met = len(qualifying) >= count
    summary = (f"{len(qualifying)} qualifying complaint{'s' if len(qualifying) != 1 else ''} of separate incidents "
               f"(at least {count} needed): " + ("met" if met else "not met on the count"))
    if hate_met and not met:
        summary += f"; met under the local hate incident rule (one in {_months(hate_window_months)})"
    listing = "\n".join(
        f"{c.incident.occurred_on:%d/%m/%Y} {KINDS.get(c.incident.kind, c.incident.kind).lower()}"
        f"{' (hate)' if c.incident.hate_motivated else ''}, reported {c.first_reported_on:%d/%m/%Y} to "
        f"{', '.join(c.agencies)}: {c.why}" for c in counted) or "No complaints are recorded on the case."
    return {"met": met or hate_met, "count_met": met, "hate_met": hate_met, "qualifying": len(qualifying),
            "listing": listing,
            "needed": count, "application_on": application_on.isoformat(), "summary": summary,
            "complaints": [c.as_dict() for c in counted],
            "rule": {"count": count, "report_within_months": report_within_months,
                     "window_months": window_months, "anchor": anchor, "hate_window_months": hate_window_months}}


def marac_checks(case: Case, on: date, *, repeat_months: int = 12, escalation_count: int = 3,
                 escalation_months: int = 12, exclude_instance: int | None = None) -> dict[str, object]:
    """MARAC repeat and potential escalation for the case's victims, across every agency's cases (SafeLives:
    a repeat is a referral within `repeat_months` of the last referral of the same victim; potential escalation
    is `escalation_count` police-recorded domestic abuse incidents in `escalation_months`). Only dates and counts
    are given back: which cases they came from stays with the agencies that hold them. The referral being made now
(facts of `exclude_instance`) is not its own repeat; incidents count once per day across agencies' cases."""
    victims = list(db.session.scalars(select(CaseParticipant.person_id).where(
        CaseParticipant.case_id == case.id, CaseParticipant.role == ParticipantRole.VICTIM)))
    if not victims:
        return {"repeat": False, "last_referral_on": None, "open_referral_on": None, "police_incidents": 0,
                "escalation": False,
                "summary": "no victim on the case: repeat and escalation cannot be checked"}
    since = on - relativedelta(months=repeat_months)
    # One pass over the victims' MARAC referral facts (other processes' only): the last one up to `on`, and the
    # earliest still open (not yet heard).
    referrals = (select(func.max(CaseFact.recorded_at).filter(CaseFact.recorded_at < _day_after(on)),
                        func.min(CaseFact.recorded_at).filter(CaseFact.status == "open"))
                 .join(CaseParticipant, CaseParticipant.case_id == CaseFact.case_id)
                 .where(CaseParticipant.person_id.in_(victims), CaseFact.kind == "marac",
                        CaseFact.code == "referral"))
    if exclude_instance:
        referrals = referrals.where((CaseFact.instance_id != exclude_instance) | CaseFact.instance_id.is_(None))
    last, still_open = db.session.execute(referrals).one()
    last_on = last.date() if last is not None else None
    repeat = last_on is not None and since <= last_on
    window = on - relativedelta(months=escalation_months)
    police = select(Organisation.id).where(Organisation.type == OrgType.POLICE)
    dates = sorted(set(db.session.scalars(
        select(Incident.occurred_on).where(Incident.person_id.in_(victims), Incident.kind == "domestic_abuse",
                                           Incident.same_as_id.is_(None), Incident.reported_to_org_id.in_(police),
                                           Incident.occurred_on >= window, Incident.occurred_on <= on))))
    incidents = len(dates)   # the same incident recorded on two agencies' cases is one day's incident
    escalation = incidents >= escalation_count
    parts = [f"repeat: yes, the last MARAC referral was on {last_on:%d/%m/%Y} (within {_months(repeat_months)})"
             if repeat else f"repeat: no referral in the last {_months(repeat_months)}",
             f"{incidents} police-recorded domestic abuse incident{'s' if incidents != 1 else ''} in "
             f"{_months(escalation_months)} ({escalation_count} or more is potential escalation)"]
    if still_open is not None:
        parts.append(f"an open MARAC referral made on {still_open:%d/%m/%Y} has not been heard yet")
    return {"repeat": repeat, "last_referral_on": last_on.isoformat() if last_on else None,
            "open_referral_on": still_open.date().isoformat() if still_open else None,
            "police_incidents": incidents, "incident_dates": [d.isoformat() for d in dates],
            "escalation": escalation, "summary": "; ".join(parts)}


def _day_after(day: date) -> datetime:
    """Midnight (UTC) at the end of a day: facts are stamped in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc)


def _months(n: int) -> str:
    return f"{n} month{'s' if n != 1 else ''}"
