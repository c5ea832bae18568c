"""The intake API: idempotent on the sender's external reference per lead organisation (also when requests race),
people named by id or by the reference the caller's organisation registered them under."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from casework import tokens
from models import Case, Person, User, db
from tests.factories import make_person, make_user

CASE = {"case_type": "victim_support", "title": "Burglary at 12 High Street", "external_reference": "NP-2026-0042",
        "people": [{"role": "victim", "given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14",
                    "external_reference": "NP-P-7"}]}


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_same_reference_twice_is_one_case(api, client, login):
    first = api["pc"].post("/cases", CASE)
    assert first.status_code == 201 and first.json["external_reference"] == "NP-2026-0042"
    again = api["pc"].post("/cases", {**CASE, "title": "a resend with other words"})
    assert again.status_code == 200
    assert (again.json["id"], again.json["reference"]) == (first.json["id"], first.json["reference"])
    assert _count(Case) == 1 and _count(Person) == 1     # the resend registered nobody either
    shown = api["pc"].get(f"/cases/{first.json['id']}").json
    assert shown["external_reference"] == "NP-2026-0042" and shown["title"] == "Burglary at 12 High Street"
    login("pc@police.example.org")
    page = client.get(f"/admin/cases/details/?id={first.json['id']}").get_data(as_text=True)
    assert "NP-2026-0042" in page
    # Another organisation's system may use the same words for its own case.
    other = api["council"].post("/cases", {**CASE, "people": []})
    assert other.status_code == 201 and other.json["id"] != first.json["id"], other.json


def test_people_are_named_by_id_or_by_our_reference(api):
    first = api["pc"].post("/cases", CASE).json
    person_id = api["pc"].get(f"/cases/{first['id']}").json["people"][0]["id"]
    by_ref = api["pc"].post("/cases", {"case_type": "victim_support", "title": "Second burglary",
                                       "people": [{"role": "victim", "external_reference": "NP-P-7"}]})
    by_id = api["pc"].post("/cases", {"case_type": "victim_support", "title": "Third",
                                      "people": [{"role": "witness", "id": person_id}]})
    assert by_ref.status_code == 201 and by_id.status_code == 201
    for created in (by_ref, by_id):
        assert api["pc"].get(f"/cases/{created.json['id']}").json["people"][0]["id"] == person_id
    assert _count(Person) == 1


def test_someone_elses_person_is_refused_like_no_person(api, ctx):
    council_user = db.session.scalar(select(User).where(User.email == "asb@council.example.org"))
    hidden = make_person(council_user, "Hidden", "Person")
    db.session.commit()
    cases_before, people_before = _count(Case), _count(Person)
    answers = [api["pc"].post("/cases", {"case_type": "victim_support", "title": "t",
                                         "people": [{"role": "victim", "id": pid}]}) for pid in (hidden.id, 999999)]
    assert [a.status_code for a in answers] == [422, 422]
    messages = [a.json["errors"]["people[0].id"] for a in answers]
    assert messages[0].replace(str(hidden.id), "N") == messages[1].replace("999999", "N")   # no hint who exists
    unknown = api["pc"].post("/cases", {"case_type": "victim_support", "title": "t",
                                        "people": [{"role": "victim", "external_reference": "NOBODY"}]})
    assert unknown.status_code == 422 and "registered nobody" in unknown.json["errors"]["people[0].external_reference"]
    for bad in ({"external_reference": "x" * 65}, {"external_reference": 5}, {"people": [{"role": "victim", "id": True}]},
                {"people": [{"role": "victim", "id": 10**30}]}):
        assert api["pc"].post("/cases", {"case_type": "victim_support", "title": "t", **bad}).status_code == 422, bad
    assert (_count(Case), _count(Person)) == (cases_before, people_before)


def test_racing_posts_of_one_reference_open_one_case(app, api):
    """Eight police systems post the same reference at the same moment (real threads, real database; each its
    own token, so nothing but the case itself is shared between them)."""
    police = db.session.scalar(select(User).where(User.email == "pc@police.example.org")).organisation
    keys = [tokens.issue(make_user(police, "practitioner", email=f"system{n}@police.example.org")) for n in range(8)]
    db.session.commit()
    barrier, answers = threading.Barrier(8), []

    def post(key: str) -> None:
        barrier.wait()
        response = app.test_client().post("/api/v1/cases", json={**CASE, "people": []},
                                          headers={"Authorization": f"Bearer {key}"})
        answers.append((response.status_code, response.json.get("id")))

    threads = [threading.Thread(target=post, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in answers) == [200] * 7 + [201], answers
    assert len({case_id for _, case_id in answers}) == 1
    assert _count(Case) == 1
