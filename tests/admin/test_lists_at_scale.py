"""Lists cost what they show: capped counts, bounded paging, searches an index can serve, bad input handled."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import admin.base
from models import CaseAccess, CaseOrganisation, User, db
from tests.factories import make_case, make_org, make_person, make_user


@pytest.fixture
def setup(ctx):
    police = make_org("police_a", "police", "Police A")
    vs = make_org("vs_b", "victim_services", "Victim Services B")
    pc = make_user(police, email="pc@a.example.org")
    make_user(vs, email="cw@b.example.org")
    victim = make_person(pc, "Amira", "Hussain", dob=date(1988, 3, 14))
    cases = [make_case(pc, title=f"Burglary {n}") for n in range(5)]
    db.session.commit()
    return {"police": police.id, "vs": vs.id, "victim": victim.id, "cases": [c.id for c in cases]}


def test_access_rows_follow_lead_and_partners(setup):
    case_id, police, vs = setup["cases"][0], setup["police"], setup["vs"]

    def orgs() -> set[int]:
        db.session.expire_all()
        return set(db.session.scalars(select(CaseAccess.organisation_id).where(CaseAccess.case_id == case_id)))

    assert orgs() == {police}
    db.session.add(CaseOrganisation(case_id=case_id, organisation_id=vs))
    db.session.commit()
    assert orgs() == {police, vs}
    db.session.delete(db.session.scalar(select(CaseOrganisation).where(CaseOrganisation.case_id == case_id)))
    db.session.commit()
    assert orgs() == {police}


def test_counts_stop_at_the_cap_and_paging_stops_with_them(client, login, setup, monkeypatch):
    monkeypatch.setattr(admin.base, "COUNT_CAP", 3)
    login("pc@a.example.org")
    page = client.get("/admin/cases/").get_data(as_text=True)
    assert "3+" in page
    far = client.get("/admin/cases/?page=1000000&page_size=20")
    assert far.status_code == 200 and "Only the first 3 matches can be paged through" in far.get_data(as_text=True)


@pytest.mark.parametrize("query, message", [
    ("search=B", "at least 3 characters"),
    ("search=" + "x" * 10_000, "limited to 100 characters"),
    ("sort=99", None), ("sort=abc", None), ("page_size=1000000", None), ("page=-4", None),
    ("flt0_0=not-a-status", None),
])
def test_bad_list_input_gives_a_page_and_a_message(client, login, setup, query, message):
    login("pc@a.example.org")
    response = client.get(f"/admin/cases/?{query}")
    assert response.status_code == 200
    if message:
        assert message in response.get_data(as_text=True)


def test_cases_found_by_a_person_on_them_and_people_by_date_of_birth(client, login, setup):
    pc = db.session.scalar(select(User).where(User.email == "pc@a.example.org"))
    from models import CaseParticipant
    db.session.add(CaseParticipant(case_id=setup["cases"][2], person_id=setup["victim"], role="victim"))
    db.session.commit()
    login(pc.email)
    page = client.get("/admin/cases/?search=Hussain").get_data(as_text=True)
    assert "Burglary 2" in page and "Burglary 1" not in page
    people = client.get("/admin/people/?search=14/03/1988").get_data(as_text=True)
    assert "HUSSAIN" in people.upper()
    assert "Hussain" not in client.get("/admin/people/?search=15/03/1988").get_data(as_text=True)


def test_people_list_starts_with_the_organisations_own_registrations(client, login, setup):
    login("cw@b.example.org")
    page = client.get("/admin/people/").get_data(as_text=True)
    assert "Showing the people your organisation registered" in page and "Hussain" not in page
