"""Consent as a record: given or refused, for a purpose and organisations, how and by whom; withdrawn once, which
tells the organisations it covered and flags their shares for review; a diagram records it from a form field."""
from __future__ import annotations

from sqlalchemy import select

from models import CaseNote, Consent, Disclosure, Notification, Organisation, User, db


def _sara(api) -> tuple[int, int]:
    opened = api["pc"].post("/cases", {"case_type": "victim_support", "title": "Robbery",
                                       "organisations": [{"code": "victim_services"}],
                                       "people": [{"role": "victim", "given_name": "Sara", "family_name": "Khan",
                                                   "date_of_birth": "1995-01-20"}]})
    case_id = opened.json["id"]
    return case_id, api["pc"].get(f"/cases/{case_id}").json["people"][0]["id"]


def test_consent_is_recorded_shown_and_withdrawn_once(api, client, login):
    case_id, sara = _sara(api)
    vs = db.session.scalar(select(Organisation).where(Organisation.code == "victim_services"))
    login("pc@police.example.org")
    recorded = client.post(f"/admin/people/{sara}/consents", data={
        "decision": "given", "purpose": "referral to victim support", "organisations": ["victim_services"],
        "method": "verbal"}, follow_redirects=True)
    page = recorded.get_data(as_text=True)
    assert "Consent recorded." in page and "referral to victim support" in page and "victim_services" in page
    consent = db.session.scalar(select(Consent))
    assert (consent.given, consent.method, consent.recorded_by.email) == (True, "verbal", "pc@police.example.org")

    withdrawn = client.post(f"/admin/people/consents/{consent.id}/withdraw", follow_redirects=True)
    assert "1 shared case(s) flagged for review" in withdrawn.get_data(as_text=True)
    notes = db.session.scalars(select(CaseNote.body).where(CaseNote.case_id == case_id)).all()
    assert any("consent for “referral to victim support” was withdrawn" in n and "Victim Services" in n for n in notes)
    flagged = db.session.scalar(select(Disclosure).where(Disclosure.what == "consent withdrawn"))
    assert flagged.organisation_id == vs.id and flagged.case_id == case_id
    vs_user = db.session.scalar(select(User).where(User.email == "cw@vs.example.org"))
    assert db.session.scalar(select(Notification.kind).where(Notification.user_id == vs_user.id,
                                                             Notification.kind == "consent_withdrawn"))
    again = client.post(f"/admin/people/consents/{consent.id}/withdraw", follow_redirects=True)
    assert "already withdrawn" in again.get_data(as_text=True)
    assert len(db.session.scalars(select(Disclosure).where(Disclosure.what == "consent withdrawn")).all()) == 1


def test_bad_consent_records_say_what_is_missing(api, client, login):
    _, sara = _sara(api)
    login("pc@police.example.org")
    good = {"decision": "refused", "purpose": "p", "organisations": ["victim_services"], "method": "written"}
    for change, message in [({"decision": ""}, "given or refused"), ({"purpose": ""}, "purpose"),
                            ({"organisations": []}, "name the organisations"),
                            ({"organisations": ["nope"]}, "no organisation nope"), ({"method": "telepathy"}, "method")]:
        page = client.post(f"/admin/people/{sara}/consents", data={**good, **change}, follow_redirects=True)
        assert "Not recorded" in page.get_data(as_text=True) and message in page.get_data(as_text=True), change
    assert db.session.scalar(select(Consent.id)) is None
    login("asb@council.example.org")    # cannot see her: 404, nothing recorded
    assert client.post(f"/admin/people/{sara}/consents", data=good).status_code == 404


def test_a_diagram_records_consent_from_a_form_field(api):
    assert api["lead"].deploy("consent.bpmn").status_code == 201
    case_id, sara = _sara(api)
    started = api["pc"].post(f"/cases/{case_id}/processes", {"key": "consent_test"})
    (task,) = started.json["tasks"]
    done = api["pc"].post(f"/tasks/{task['id']}/complete", {"data": {"consent": True}})
    assert done.status_code == 200, done.json
    consent = db.session.scalar(select(Consent))
    assert (consent.person_id, consent.given, consent.case_id, consent.organisations) == (
        sara, True, case_id, "victim_services")
