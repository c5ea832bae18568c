"""Merging two records of one person: a manager who sees both moves the case roles to the kept record; the other
stays as a tombstone pointing to it, out of lists and matching; audited."""
from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, CaseParticipant, Incident, Organisation, Person, db
from tests.factories import make_user


def _two_records(api) -> tuple[int, int, int, int]:
    ids = []
    for title in ("first burglary", "second burglary"):
        opened = api["pc"].post("/cases", {"case_type": "victim_support", "title": title, "people": [
            {"role": "victim", "given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}]})
        assert opened.status_code == 201
        case_id = opened.json["id"]
        ids += [case_id, api["pc"].get(f"/cases/{case_id}").json["people"][0]["id"]]
    return tuple(ids)   # case 1, person 1, case 2, person 2


def test_a_manager_merges_the_duplicate_and_it_points_to_the_kept_record(api, client, login):
    case1, keep, case2, other = _two_records(api)
    assert keep != other
    told = api["pc"].post(f"/cases/{case2}/incidents", {
        "occurred_on": "2026-03-02", "reported_on": "2026-03-02", "reported_to": "notts_police", "kind": "crime",
        "reported_by": "the victim", "description": "Burglary", "person": other})
    assert told.status_code == 201, told.json
    police = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
    make_user(police, "manager", email="manager@police.example.org")
    db.session.commit()
    login("manager@police.example.org")
    merged = client.post(f"/admin/people/{keep}/merge", data={"other": str(other), "confirm": "y"},
                         follow_redirects=True)
    assert "Merged person" in merged.get_data(as_text=True)
    db.session.expire_all()
    roles = db.session.scalars(select(CaseParticipant.person_id).where(CaseParticipant.case_id.in_([case1, case2])))
    assert set(roles) == {keep}
    assert db.session.get(Person, other).merged_into_id == keep
    assert db.session.scalar(select(Incident.person_id)) == keep      # the incidents follow the person
    page = client.get(f"/admin/people/details/?id={other}").get_data(as_text=True)
    assert "This record was merged" in page and f"person {keep}" in page
    listed = client.get("/admin/people/?search=Hussain").get_data(as_text=True)
    assert f"id={keep}" in listed and f"id={other}&" not in listed and f"id={other}\"" not in listed
    found = api["pc"].post("/people/matches", {"given_name": "Amira", "family_name": "Hussain",
                                               "date_of_birth": "1988-03-14"}).json
    assert [p["id"] for p in found["visible"]] == [keep]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "merge")).all()
    assert {e.object_id for e in events} == {str(keep), str(other)}


def test_merging_is_refused_with_a_message_and_changes_nothing(api, client, login):
    case1, keep, case2, other = _two_records(api)
    police = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
    make_user(police, "manager", email="manager@police.example.org")
    council_person = api["council"].post("/cases", {"case_type": "asb", "title": "t", "people": [
        {"role": "victim", "given_name": "Amira", "family_name": "Hussain", "date_of_birth": "1988-03-14"}]})
    hidden = api["council"].get(f"/cases/{council_person.json['id']}").json["people"][0]["id"]
    db.session.commit()
    login("pc@police.example.org")      # a practitioner
    assert "Only a manager" in client.post(f"/admin/people/{keep}/merge", data={"other": str(other), "confirm": "y"},
                                           follow_redirects=True).get_data(as_text=True)
    login("manager@police.example.org")
    for data, message in [({"other": str(keep), "confirm": "y"}, "another record than this one"),
                          ({"other": str(other)}, "tick the box"),
                          ({"other": str(hidden), "confirm": "y"}, "no record with that number that you can see"),
                          ({"other": "99999999999999", "confirm": "y"}, "no record with that number")]:
        page = client.post(f"/admin/people/{keep}/merge", data=data, follow_redirects=True).get_data(as_text=True)
        assert message in page, message
    db.session.expire_all()
    assert db.session.get(Person, other).merged_into_id is None
    assert db.session.scalar(select(CaseParticipant.person_id).where(CaseParticipant.case_id == case2)) == other
