"""One person across agencies: what matching reveals to victim services about people the police and the council
hold — the person when visible, "known to" the police under an agreement, nothing for a restricted case or
without an agreement."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from casework import agreements
from models import AuditEvent, Person, db


@pytest.fixture
def held(api):
    """Police (agreement with victim services) and the council (none) hold people; one police case is shared
    with victim services, one is restricted."""
    agreements.create("Police and victim services", ["notts_police", "victim_services"], [], date(2020, 1, 1),
                      date(2099, 12, 31), "Victims' Code", approve_all=True)
    db.session.commit()

    def case(who, given, family, dob, **extra):
        response = api[who].post("/cases", {"case_type": "victim_support", "title": "t", **extra,
                                            "people": [{"role": "victim", "given_name": given, "family_name": family,
                                                        "date_of_birth": dob}]})
        assert response.status_code == 201, response.json
        return response.json["id"]

    case("pc", "Amira", "Hussain", "1988-03-14")                                   # police only
    case("pc", "William", "Turner", "1975-06-02")                                  # police only
    case("pc", "Grace", "Okafor", "2001-07-30", restricted=True)                   # restricted
    case("council", "Tomasz", "Nowak", "1980-11-02")                               # council, no agreement
    case("pc", "Sara", "Khan", "1995-01-20", organisations=[{"code": "victim_services"}])   # shared with VS
    return api


def _match(api, given, family, dob, who="vs"):
    response = api[who].post("/people/matches", {"given_name": given, "family_name": family, "date_of_birth": dob})
    assert response.status_code == 200, response.json
    return response.json


def test_a_match_held_under_an_agreement_names_the_organisation_only(held):
    found = _match(held, "amira", "HUSAIN", "1988-03-14")           # case and a typo
    assert found == {"visible": [], "known_to": ["Nottinghamshire Police"]}
    assert _match(held, "Hussain", "Amira", "1988-03-14")["known_to"] == ["Nottinghamshire Police"]   # swapped
    assert _match(held, "Bill", "Turner", "1975-06-02")["known_to"] == ["Nottinghamshire Police"]     # nickname
    assert _match(held, "William", "Turner", "1975-02-06")["known_to"] == ["Nottinghamshire Police"]  # day/month
    assert _match(held, "Amira", "Hussain", "1988-03-15")["known_to"] == []                            # other day


def test_restricted_cases_and_organisations_without_an_agreement_reveal_nothing(held):
    assert _match(held, "Grace", "Okafor", "2001-07-30") == {"visible": [], "known_to": []}
    assert _match(held, "Tomasz", "Nowak", "1980-11-02") == {"visible": [], "known_to": []}
    # The council itself sees its own person; the police see nothing of the council's (no agreement either).
    assert [p["family_name"] for p in _match(held, "Tomasz", "Nowak", "1980-11-02", who="council")["visible"]] \
        == ["Nowak"]
    assert _match(held, "Tomasz", "Nowak", "1980-11-02", who="pc") == {"visible": [], "known_to": []}


def test_a_person_the_user_may_see_is_offered_as_themselves(held):
    found = _match(held, "Sara", "Khan", "1995-01-20")
    assert [(p["given_name"], p["family_name"], p["date_of_birth"]) for p in found["visible"]] == [
        ("Sara", "Khan", "1995-01-20")]
    assert found["known_to"] == []          # the police hold her on a case victim services sees


def test_every_search_is_audited_without_the_name(held):
    _match(held, "Amira", "Hussain", "1988-03-14")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "person_match",
                                                        AuditEvent.user_email == "cw@vs.example.org")).one()
    assert "Amira" not in (event.detail or "")
    assert event.detail_dict["known_to"] == ["Nottinghamshire Police"]


@pytest.mark.parametrize("body,field", [
    ({"given_name": "", "family_name": "Khan", "date_of_birth": "1995-01-20"}, "given_name"),
    ({"given_name": "-", "family_name": "Khan", "date_of_birth": "1995-01-20"}, "given_name"),
    ({"given_name": "S" * 121, "family_name": "Khan", "date_of_birth": "1995-01-20"}, "given_name"),
    ({"given_name": "Sara", "family_name": "Khan"}, "date_of_birth"),
    ({"given_name": "Sara", "family_name": "Khan", "date_of_birth": "20/01/1995x"}, "date_of_birth"),
    ({"given_name": ["Sara"], "family_name": "Khan", "date_of_birth": "1995-01-20"}, "given_name")])
def test_bad_searches_say_what_is_wrong_and_register_nobody(held, body, field):
    before = db.session.query(Person).count()
    response = held["vs"].post("/people/matches", body)
    assert response.status_code == 422 and field in response.json["errors"]
    assert db.session.query(Person).count() == before


def test_one_letter_and_non_latin_names_are_searched(held):
    held["pc"].post("/cases", {"case_type": "victim_support", "title": "t", "people": [
        {"role": "victim", "given_name": "أمير", "family_name": "حسين", "date_of_birth": "1990-05-05"}]})
    assert _match(held, "أمير", "حسين", "1990-05-05")["known_to"] == ["Nottinghamshire Police"]
    assert _match(held, "J", "K", "1990-05-05") == {"visible": [], "known_to": []}


def test_the_console_says_possibly_known_to_before_registering(held, client, login):
    login("cw@vs.example.org")
    form = {"given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}
    before = db.session.query(Person).count()
    shown = client.post("/admin/people/new/", data=form)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 400 and "Possibly known to Nottinghamshire Police" in page and "Ask to share" in page
    box = page.split('id="known-to"')[1].split("</div>")[0]
    assert "people/details" not in box and "CB-" not in box and "1988" not in box.replace("1988-03-14", "")
    assert db.session.query(Person).count() == before
    confirmed = client.post("/admin/people/new/", data={**form, "confirm_not_duplicate": "y"})
    assert confirmed.status_code == 302 and db.session.query(Person).count() == before + 1


def test_the_person_page_shows_who_else_knows_them(held, client, login):
    """Sara Khan is on a police case shared with victim services; a second police case is not shared."""
    sara = db.session.scalar(select(Person).where(Person.family_name == "Khan"))
    held["pc"].post("/cases", {"case_type": "victim_support", "title": "second", "people": [
        {"role": "victim", "id": sara.id}]})
    login("cw@vs.example.org")
    page = client.get(f"/admin/people/details/?id={sara.id}").get_data(as_text=True)
    assert "Also known to:</strong> Nottinghamshire Police" in page
    login("asb@council.example.org")     # the council has no agreement: the page is not theirs to see at all
    assert client.get(f"/admin/people/details/?id={sara.id}").status_code == 404
