"""Plain data builders (CTFd's gen_* shape) that go through the real services."""
from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

from casework import cases, directory, people
from models import Case, Organisation, Person, User, db
from tests.conftest import PASSWORD

DATA = Path(__file__).resolve().parent / "data"  # the small diagrams tests deploy
_seq = itertools.count(1)


def make_org(code: str | None = None, org_type: str = "police", name: str | None = None) -> Organisation:
    code = code or f"org{next(_seq)}"
    org = directory.create_organisation(code, name or f"Organisation {code}", org_type)
    db.session.commit()
    return org


def make_user(org: Organisation, *roles: str, email: str | None = None) -> User:
    email = email or f"user{next(_seq)}@{org.code.replace('_', '-')}.example.org"
    user, _ = directory.create_user(email, f"User {email.split('@')[0]}", org.code,
                                    list(roles) or ["practitioner"], PASSWORD)
    # Like the demo accounts, so tests of other features sign in with a password alone; the tests of the
    # second factor (tests/admin/test_mfa.py) clear this.
    user.mfa_exempt = True
    db.session.commit()
    return user


def make_person(user: User, given: str = "Alex", family: str | None = None,
                dob: date | None = date(1990, 1, 1), **fields) -> Person:
    person = people.register(user, {"given_name": given, "family_name": family or f"Person{next(_seq)}",
                                    "date_of_birth": dob, **fields}, confirm_not_duplicate=True)
    db.session.commit()
    return person


def make_case(user: User, case_type: str = "victim_support", title: str = "A case", **kwargs) -> Case:
    case = cases.open_case(user, case_type=case_type, title=title, **kwargs)
    db.session.commit()
    return case
