"""Registering and editing people in the console: duplicate warning, bad input, stale edits."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import Person, db
from tests.factories import make_org, make_person, make_user


@pytest.fixture
def pc(ctx):
    org = make_org("police_a", "police")
    user = make_user(org, email="pc@a.example.org")
    return user


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Person))


FORM = {"given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}


def test_register_person(client, login, pc):
    login(pc.email)
    response = client.post("/admin/people/new/", data=FORM)
    assert response.status_code == 302
    person = db.session.scalar(select(Person))
    assert (person.given_name, person.family_name, person.date_of_birth) == ("Amira", "Hussain", date(1988, 3, 14))
    assert person.registered_by_org_id == pc.organisation_id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Amira HUSSAIN" in page


@pytest.mark.parametrize("given, family", [("Amira", "Hussain"), ("amira", "HUSSAIN"), ("Amira", "Husain"),
                                           ("Hussain", "Amira"), ("A.", "Hussain")])
def test_duplicate_warning_before_saving(client, login, pc, given, family):
    """Is a likely duplicate (same date of birth, similar name) shown before anything is saved?"""
    existing = make_person(pc, "Amira", "Hussain", date(1988, 3, 14))
    login(pc.email)
    response = client.post("/admin/people/new/", data={**FORM, "given_name": given, "family_name": family})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Possible duplicate" in page
    assert f"/admin/people/details/?id={existing.id}" in page
    assert _count() == 1
    confirmed = client.post("/admin/people/new/", data={**FORM, "given_name": given, "family_name": family,
                                                        "confirm_not_duplicate": "y"})
    assert confirmed.status_code == 302
    assert _count() == 2


@pytest.mark.parametrize("change", [{"date_of_birth": "1988-03-15"}, {"given_name": "Zoe", "family_name": "Smith"}])
def test_no_warning_for_different_people(client, login, pc, change):
    make_person(pc, "Amira", "Hussain", date(1988, 3, 14))
    login(pc.email)
    assert client.post("/admin/people/new/", data={**FORM, **change}).status_code == 302


def test_duplicates_only_among_visible_people(client, login, pc):
    """Does the warning stay silent about people in organisations the user cannot see?"""
    other = make_user(make_org("council_b", "council"), email="c@b.example.org")
    make_person(other, "Amira", "Hussain", date(1988, 3, 14))
    login(pc.email)
    assert client.post("/admin/people/new/", data=FORM).status_code == 302


@pytest.mark.parametrize("change, message", [
    ({"date_of_birth": "1988-02-30"}, "Not a valid date"),
    ({"date_of_birth": "2999-01-01"}, "is in the future"),
    ({"given_name": "x" * 121}, "120 characters"),
    ({"family_name": ""}, "This field is required"),
    ({"email": "not-an-address"}, "Invalid email"),
])
def test_bad_input_saves_nothing(client, login, pc, change, message):
    login(pc.email)
    response = client.post("/admin/people/new/", data={**FORM, **change})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count() == 0


def test_stale_edit_is_refused(client, login, pc):
    """Two people edit the same person: the second save is refused and changes nothing."""
    person = make_person(pc, "Amira", "Hussain")
    login(pc.email)
    version = person.version
    first = client.post(f"/admin/people/edit/?id={person.id}",
                        data={**FORM, "phone": "0115 000 0001", "version": str(version)})
    assert first.status_code == 302
    second = client.post(f"/admin/people/edit/?id={person.id}",
                         data={**FORM, "phone": "0115 999 9999", "version": str(version)})
    assert second.status_code == 409
    assert "changed by someone else" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).phone == "0115 000 0001"


def test_edit_form_shows_current_values(client, login, pc):
    person = make_person(pc, "Amira", "Hussain", phone="0115 123")
    login(pc.email)
    page = client.get(f"/admin/people/edit/?id={person.id}").get_data(as_text=True)
    assert 'value="0115 123"' in page and f'value="{person.version}"' in page


def test_labels_are_bound_to_inputs(client, login, pc):
    login(pc.email)
    page = client.get("/admin/people/new/").get_data(as_text=True)
    for field in ("given_name", "family_name", "date_of_birth", "email"):
        assert f'<label class="font-weight-bold" for="{field}">' in page
