"""Idempotent demo data: the Nottinghamshire partnership from the business case, users, people, cases."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from models import Organisation, Person, User, db
from workflows import cases, directory, people, reference

DEMO_PASSWORD = "casebook-demo"

ORGANISATIONS = [
    ("notts_police", "Nottinghamshire Police", "police"),
    ("nottingham_city", "Nottingham City Council", "council"),
    ("notts_county", "Nottinghamshire County Council", "council"),
    ("ashfield", "Ashfield District Council", "council"),
    ("bassetlaw", "Bassetlaw District Council", "council"),
    ("broxtowe", "Broxtowe Borough Council", "council"),
    ("gedling", "Gedling Borough Council", "council"),
    ("mansfield", "Mansfield District Council", "council"),
    ("newark_sherwood", "Newark and Sherwood District Council", "council"),
    ("rushcliffe", "Rushcliffe Borough Council", "council"),
    ("city_homes", "Nottingham City Homes", "housing"),
    ("notts_fire", "Nottinghamshire Fire and Rescue Service", "fire"),
    ("probation", "Probation Service", "probation"),
    ("opcc", "Office of the Police and Crime Commissioner", "other"),
    ("victim_services", "Nottinghamshire Victim Services", "victim_services"),
    ("rj_service", "Nottinghamshire Restorative Justice Service", "rj_service"),
    ("idva", "Nottinghamshire IDVA Service", "victim_services"),
]

USERS = [
    ("practitioner@police.demo", "PC Alex Carter", "notts_police", ["practitioner"]),
    ("manager@police.demo", "Sgt Priya Shah", "notts_police", ["manager"]),
    ("practitioner@victims.demo", "Sam Okafor", "victim_services", ["practitioner"]),
    ("manager@victims.demo", "Jo Hughes", "victim_services", ["manager"]),
    ("lead@victims.demo", "Dana Whitfield", "victim_services", ["lead", "practitioner"]),
    ("practitioner@rj.demo", "Chris Morgan", "rj_service", ["practitioner"]),
    ("practitioner@council.demo", "Lee Barker", "mansfield", ["practitioner"]),
    ("idva@idva.demo", "Morgan Reid", "idva", ["practitioner"]),
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
]

CASES = [  # (opener, case type, title, risk, restricted, [(person ref, role)], [partner org codes])
    ("practitioner@police.demo", "victim_support", "Burglary at home address, victim requests support",
     "standard", False, [("DEMO-P001", "victim")], ["victim_services"]),
    ("practitioner@police.demo", "restorative_justice", "Criminal damage to car, both parties open to RJ",
     "standard", False, [("DEMO-P002", "offender"), ("DEMO-P006", "victim")], ["rj_service", "victim_services"]),
    ("practitioner@council.demo", "asb", "Repeated ASB towards elderly resident",
     "medium", False, [("DEMO-P003", "vulnerable_person"), ("DEMO-P004", "other")],
     ["notts_police", "city_homes"]),
    ("idva@idva.demo", "domestic_abuse", "Domestic abuse, high risk, restricted to named workers",
     "high", True, [("DEMO-P005", "victim")], ["notts_police"]),
]


def seed() -> str:
    """Create whatever demo rows are missing; returns a one-line summary."""
    reference.ensure_case_types()
    made = {"organisations": 0, "users": 0, "people": 0, "cases": 0}
    for code, name, kind in ORGANISATIONS:
        if not db.session.scalar(select(Organisation.id).where(Organisation.code == code)):
            directory.create_organisation(code, name, kind, "Nottinghamshire")
            made["organisations"] += 1
    for email, name, org, roles in USERS:
        if not db.session.scalar(select(User.id).where(User.email == email)):
            directory.create_user(email, name, org, roles, DEMO_PASSWORD)
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
        for email, case_type, title, risk, restricted, parts, partners in CASES:
            case = cases.open_case(by_email[email], case_type=case_type, title=title, risk_level=risk,
                                   restricted=restricted, participants=[(refs[r], role) for r, role in parts],
                                   organisation_ids=[codes[c] for c in partners])
            if restricted:
                cases.add_member(by_email[email], case, "practitioner@police.demo")
            made["cases"] += 1
    added = ", ".join(f"{n} {k}" for k, n in made.items())
    return f"demo data ready (added {added}); log in with any demo account, password {DEMO_PASSWORD!r}"
