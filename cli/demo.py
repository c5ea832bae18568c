"""Idempotent demo data: the Nottinghamshire partnership from the business case (areas, services and who
provides them, organisations, users), people and cases in different areas with their processes running."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from casework import agreements, areas, cases, directory, meetings, people, reference
from models import (Area, InformationSharingAgreement, ItemStatus, Organisation, Person, Service, User, WorkItem,
                    db)
from workflows import processes, tasks
from workflows.engine import DiagramError

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"

DEMO_PASSWORD = "casebook-demo"
DEMO_AGREEMENT = "Nottinghamshire multi-agency information-sharing agreement (demo)"
# Demo wording from ../shared/domain (05-vulnerable-persons-panel.md, 01-victim-referral.md); a partnership
# records its own agreement's basis.
DEMO_LAWFUL_BASIS = ("Crime and Disorder Act 1998 s.115 (a power to disclose to relevant authorities); the Victims' "
                     "Code (s.32 Domestic Violence, Crime and Victims Act 2004) for victim referrals; consent where "
                     "a voluntary-sector agency shares onward.")

AREAS = [  # the seven districts and the City (business case); cases belong to one
    ("ashfield", "Ashfield"), ("bassetlaw", "Bassetlaw"), ("broxtowe", "Broxtowe"), ("gedling", "Gedling"),
    ("mansfield", "Mansfield"), ("newark_sherwood", "Newark and Sherwood"), ("rushcliffe", "Rushcliffe"),
    ("nottingham_city", "Nottingham City"),
]
DISTRICTS = [code for code, _ in AREAS if code != "nottingham_city"]

SERVICES = [
    ("policing", "Policing"), ("victim_support", "Victim support"), ("idva", "IDVA (domestic abuse advocacy)"),
    ("isva", "ISVA (sexual violence advocacy)"), ("restorative_justice", "Restorative justice"),
    ("marac", "MARAC"), ("vulnerable_persons_panel", "Vulnerable persons panel"),
    ("complex_persons_panel", "Complex persons panel"), ("asb_team", "ASB team"),
    ("community_safety", "Community safety"), ("community_trigger", "Community trigger (ASB case review)"),
    ("community_trigger_appeal", "Community trigger appeals"), ("housing", "Housing"),
    ("health", "Health"), ("fire", "Fire and rescue"), ("probation", "Probation"),
]

ORGANISATIONS = [  # code, name, type, [(service, [areas] or None for every area)]
    ("notts_police", "Nottinghamshire Police", "police", [("policing", None)]),
    ("nottingham_city", "Nottingham City Council", "council",
     [(s, ["nottingham_city"]) for s in ("asb_team", "community_safety", "community_trigger")]),
    ("notts_county", "Nottinghamshire County Council", "council", []),
    *[(code, name, "council", [(s, [area]) for s in ("asb_team", "community_safety", "community_trigger", "housing")])
      for code, name, area in (("ashfield", "Ashfield District Council", "ashfield"),
                               ("bassetlaw", "Bassetlaw District Council", "bassetlaw"),
                               ("broxtowe", "Broxtowe Borough Council", "broxtowe"),
                               ("gedling", "Gedling Borough Council", "gedling"),
                               ("mansfield", "Mansfield District Council", "mansfield"),
                               ("newark_sherwood", "Newark and Sherwood District Council", "newark_sherwood"),
                               ("rushcliffe", "Rushcliffe Borough Council", "rushcliffe"))],
    ("city_homes", "Nottingham City Homes", "housing", [("housing", ["nottingham_city"])]),
    ("notts_fire", "Nottinghamshire Fire and Rescue Service", "fire", [("fire", None)]),
    ("probation", "Probation Service", "probation", [("probation", None)]),
    ("notts_icb", "Nottingham and Nottinghamshire ICB", "health", [("health", None)]),
    ("opcc", "Office of the Police and Crime Commissioner", "other", [("community_trigger_appeal", None)]),
    ("victim_services", "Nottinghamshire Victim Services", "victim_services", [("victim_support", None)]),
    ("idva", "Nottinghamshire IDVA Service", "victim_services", [("idva", None)]),
    ("svss", "Sexual Violence Support Services", "victim_services", [("isva", None)]),
    ("rj_service", "Nottinghamshire Restorative Justice Service", "rj_service", [("restorative_justice", None)]),
    ("notts_marac", "Nottinghamshire MARAC", "panel", [("marac", None)]),
    *[(f"{area}_vpp", f"{name} Vulnerable Persons Panel", "panel", [("vulnerable_persons_panel", [area])])
      for area, name in AREAS if area != "nottingham_city"],
    ("city_cpp", "Nottingham City Complex Persons Panel", "panel",
     [("complex_persons_panel", ["nottingham_city"]), ("vulnerable_persons_panel", ["nottingham_city"])]),
]

USERS = [  # the named demo accounts; every other organisation gets practitioner@ and manager@<code>.demo
    ("practitioner@police.demo", "PC Alex Carter", "notts_police", ["practitioner"]),
    ("manager@police.demo", "Sgt Priya Shah", "notts_police", ["manager"]),
    ("practitioner@victims.demo", "Sam Okafor", "victim_services", ["practitioner"]),
    ("manager@victims.demo", "Jo Hughes", "victim_services", ["manager"]),
    ("lead@victims.demo", "Dana Whitfield", "victim_services", ["lead", "practitioner"]),
    # A second working-group lead, of another organisation: deploys and mappings need one to approve them.
    ("lead@police.demo", "Insp Rowan Hale", "notts_police", ["lead", "practitioner"]),
    ("practitioner@rj.demo", "Chris Morgan", "rj_service", ["practitioner"]),
    ("practitioner@council.demo", "Lee Barker", "mansfield", ["practitioner"]),
    ("idva@idva.demo", "Morgan Reid", "idva", ["practitioner"]),
    ("practitioner@cityhomes.demo", "Ola Adeyemi", "city_homes", ["practitioner"]),
    ("auditor@opcc.demo", "Ruth Ellis", "opcc", ["auditor"]),
    ("admin@opcc.demo", "Pat Quinn", "opcc", ["admin"]),
]

PEOPLE = [  # (external_reference, given, family, dob, registering user)
    ("DEMO-P001", "Amira", "Hussain", date(1988, 3, 14), "practitioner@police.demo"),
    ("DEMO-P002", "Daniel", "Price", date(1995, 7, 2), "practitioner@police.demo"),
    ("DEMO-P003", "Margaret", "Ellison", date(1941, 11, 23), "practitioner@council.demo"),
    ("DEMO-P004", "Tyler", "Brooks", date(2007, 1, 9), "practitioner@council.demo"),
    ("DEMO-P005", "Kerry", "Walsh", date(1979, 5, 30), "idva@idva.demo"),
    ("DEMO-P006", "Jordan", "Fenton", date(1990, 9, 17), "practitioner@police.demo"),
    ("DEMO-P007", "Brian", "Holt", date(1956, 2, 11), "practitioner@council.demo"),
    ("DEMO-P008", "Farah", "Malik", date(1983, 8, 19), "practitioner@police.demo"),
]

CASES = [  # (opener, case type, area, title, risk, restricted, [(person ref, role)], [partner codes], steps)
    ("practitioner@police.demo", "victim_support", "nottingham_city",
     "Burglary at home address, victim requests support", "standard", False, [("DEMO-P001", "victim")],
     ["victim_services"], 0),
    ("practitioner@police.demo", "victim_support", "gedling",
     "Assault outside nightclub, victim referred for support", "medium", False, [("DEMO-P006", "victim")], [], 2),
    ("practitioner@police.demo", "restorative_justice", "broxtowe", "Criminal damage to car, both parties open to RJ",
     "standard", False, [("DEMO-P002", "offender"), ("DEMO-P006", "victim")], ["victim_services"], 1),
    ("practitioner@council.demo", "asb", "mansfield", "Repeated ASB towards elderly resident",
     "medium", False, [("DEMO-P003", "vulnerable_person"), ("DEMO-P004", "other")], ["notts_police"], 1),
    ("idva@idva.demo", "domestic_abuse", "ashfield", "Domestic abuse, high risk, restricted to named workers",
     "high", True, [("DEMO-P005", "victim")], ["notts_police"], 0),
    ("practitioner@council.demo", "vulnerable_person", "mansfield", "Self-neglect and hoarding, fire risk at home",
     "high", False, [("DEMO-P007", "vulnerable_person")], ["notts_police"], 1),
    ("practitioner@police.demo", "hate_crime", "nottingham_city", "Racist abuse and graffiti at a family's home",
     "medium", False, [("DEMO-P008", "victim")], [], 1),
    ("practitioner@council.demo", "community_trigger", "mansfield", "ASB case review application: noise and "
     "intimidation on the estate", "medium", False, [("DEMO-P003", "victim")], ["notts_police"], 1),
    ("practitioner@police.demo", "iom", "nottingham_city", "Prolific acquisitive offender on licence",
     "medium", False, [("DEMO-P002", "offender")], ["probation"], 1),
]


def _slug(code: str) -> str:
    return code.replace("_", "-")


def seed() -> str:
    """Create whatever demo rows are missing; returns a one-line summary."""
    reference.ensure_defaults()
    made = {"areas": 0, "services": 0, "organisations": 0, "agreements": 0, "users": 0, "people": 0, "cases": 0,
            "processes": 0, "meetings": 0}
    for code, name in AREAS:
        if db.session.get(Area, code) is None:
            areas.create_area(code, name)
            made["areas"] += 1
    for code, name in SERVICES:
        if db.session.get(Service, code) is None:
            areas.create_service(code, name)
            made["services"] += 1
    for code, name, kind, provides in ORGANISATIONS:
        if not db.session.scalar(select(Organisation.id).where(Organisation.code == code)):
            directory.create_organisation(code, name, kind, "Nottinghamshire")
            made["organisations"] += 1
        for service, where in provides:
            areas.provide(service, code, where)
    if not db.session.scalar(select(InformationSharingAgreement.id).where(
            InformationSharingAgreement.name == DEMO_AGREEMENT)):
        # Sharing needs an agreement in force (ISA_ENFORCEMENT): the demo partnership's, approved by every party.
        agreements.create(DEMO_AGREEMENT, [code for code, _, _, _ in ORGANISATIONS], [], date(2025, 4, 1),
                          date(2028, 3, 31), DEMO_LAWFUL_BASIS, review_on=date(2027, 3, 31), approve_all=True)
        made["agreements"] = 1
    named = {org for _, _, org, _ in USERS}
    accounts = [*USERS, *[(f"{role}@{_slug(code)}.demo", f"{name} {role}", code, [role])
                          for code, name, _, _ in ORGANISATIONS if code not in named
                          for role in ("practitioner", "manager")]]
    accounts += [(f"manager@{_slug(org)}.demo", f"{org} manager", org, ["manager"])
                 for org in sorted(named - {"opcc"})
                 if not any(o == org and "manager" in r for _, _, o, r in USERS)]
    accounts.append(("appeals@opcc.demo", "Sam Reeve", "opcc", ["practitioner", "manager"]))
    for email, name, org, roles in accounts:
        if not db.session.scalar(select(User.id).where(User.email == email)):
            user, _ = directory.create_user(email, name, org, roles, DEMO_PASSWORD)
            user.mfa_exempt = True  # a demo anyone may try: password alone (the login page says so)
            made["users"] += 1
    by_email = {u.email: u for u in db.session.scalars(select(User))}
    fresh = not db.session.scalar(select(Person.id).where(Person.external_reference == "DEMO-P001"))
    if fresh:
        for ref, given, family, dob, email in PEOPLE:
            people.register(by_email[email], {"external_reference": ref, "given_name": given,
                                              "family_name": family, "date_of_birth": dob},
                            confirm_not_duplicate=True)
            made["people"] += 1
        refs = {p.external_reference: p.id for p in db.session.scalars(
            select(Person).where(Person.external_reference.like("DEMO-P%")))}
        codes = {o.code: o.id for o in db.session.scalars(select(Organisation))}
        made["processes"] = deploy_shipped(by_email["lead@victims.demo"])
        for email, case_type, area, title, risk, restricted, parts, partners, steps in CASES:
            case = cases.open_case(by_email[email], case_type=case_type, area=area, title=title, risk_level=risk,
                                   restricted=restricted, participants=[(refs[r], role) for r, role in parts],
                                   organisation_ids=[codes[c] for c in partners])
            if restricted:
                cases.add_member(by_email[email], case, "practitioner@police.demo")
            tasks.start_mapped(by_email[email], case)
            advance_demo(case.id, steps)
            made["cases"] += 1
        made["meetings"] = demo_meeting()
    added = ", ".join(f"{n} {k}" for k, n in made.items())
    return f"demo data ready (added {added}); log in with any demo account, password {DEMO_PASSWORD!r}"


def demo_meeting() -> int:
    """The MARAC's next meeting, a week ahead at 10:00, with the agencies invited (cases waiting for a MARAC
    are listed on it, and later ones as their processes reach the meeting step)."""
    coordinator = db.session.scalar(select(User).where(User.email == "practitioner@notts-marac.demo"))
    if coordinator is None:
        return 0
    starts = meetings.local_start((date.today() + timedelta(days=7)).isoformat(), "10:00")
    meetings.schedule(coordinator, "marac", starts, chair="DI Sam Okafor (chair)", place="Oxclose Lane, Room 2",
                      invite=["notts_police", "idva", "notts_icb", "city_homes", "probation", "nottingham_city"])
    return 1


def deploy_shipped(lead: User) -> int:
    """Deploy every diagram in bpmn/ (a diagram calling another waits for it); returns how many are new."""
    pending = sorted(BPMN_DIR.glob("*.bpmn"))
    deployed = 0
    for _ in range(len(pending) + 1):
        waiting = []
        for path in pending:
            try:
                _definition, created = processes.deploy(path.read_text(), lead)
                deployed += created
            except DiagramError:
                waiting.append(path)
        if not waiting or len(waiting) == len(pending):
            break
        pending = waiting
    return deployed


def sample_answers(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Plausible valid answers for a demo step: first option, yes, today, the minimum number, 'Demo'."""
    from datetime import date

    out: dict[str, Any] = {}
    for f in fields:
        rules, kind = f.get("validation", {}), f["type"]
        if kind == "enum":
            options = [o[0] for o in f.get("options", [])]
            multiple = str(f.get("properties", {}).get("multiple", "")).lower() == "true"
            out[f["id"]] = options[:1] if multiple else (options[0] if options else None)
        elif kind == "boolean":
            out[f["id"]] = True
        elif kind == "date":
            out[f["id"]] = date.today().isoformat()
        elif kind == "long":
            out[f["id"]] = int(rules.get("min") or 0)
        else:
            out[f["id"]] = "Demo answer"[: int(rules.get("maxlength") or 200)]
    return out


def advance_demo(case_id: int, steps: int) -> None:
    """Complete the first `steps` ready steps of a demo case, as a user of the assigned organisation."""
    for _ in range(steps):
        item = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case_id,
                                                        WorkItem.status == ItemStatus.READY,
                                                        WorkItem.organisation_id.is_not(None))
                                 .order_by(WorkItem.id))
        if item is None:
            return
        doers = db.session.scalars(select(User).where(User.organisation_id == item.organisation_id)).all()
        doer = next((u for u in doers if not item.required_role or item.required_role in {r.value for r in u.roles}),
                    None)
        if doer is None:
            return
        try:
            tasks.complete(doer, item, sample_answers(item.fields))
        except Exception:  # a demo step that will not take sample answers is left for a person
            return
