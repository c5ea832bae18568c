"""Incidents and complaints as records, and the thresholds computed from them: the ASB case review threshold
(s.104 ASB, Crime and Policing Act 2014; 06-community-trigger.md §5 P5), MARAC repeat and potential escalation
(04-marac.md §3), across agencies and their cases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from casework import incidents
from casework.errors import InvalidInput
from models import CaseFact, CaseParticipant, Incident, db
from models.enums import ParticipantRole
from tests.factories import make_case, make_org, make_person, make_user

APPLIED = date(2026, 6, 30)


@pytest.fixture
def world(ctx):
    council, police = make_org("council", "council", "Mansfield DC"), make_org("police", "police", "Notts Police")
    housing, idva = make_org("homes", "housing", "City Homes"), make_org("idva", "victim_services", "IDVA")
    asb = make_user(council, "practitioner", email="asb@council.example.org")
    pc = make_user(police, "practitioner", email="pc@police.example.org")
    worker = make_user(idva, "practitioner", email="idva@idva.example.org")
    victim = make_person(asb, "Margaret", "Ellison")
    case = make_case(asb, "asb", participants=[(victim.id, "victim")], organisation_ids=[police.id, housing.id])
    db.session.commit()
    return {"council": council, "police": police, "housing": housing, "idva": idva, "asb": asb, "pc": pc,
            "idva_worker": worker, "victim": victim, "case": case}


def report(world, occurred: date, reported: date | None = None, to: str = "council", by: str = "asb",
           kind: str = "asb", **extra) -> Incident:
    case = extra.pop("case", world["case"])
    values = {"occurred_on": occurred, "reported_on": reported or occurred, "reported_to": to, "kind": kind,
              "reported_by": "the victim", "description": "Shouting and banging at the door",
              "person": world["victim"].id, **extra}
    row = incidents.record(world[by], case, values)
    db.session.commit()
    return row


def threshold(world, **rule) -> dict:
    return incidents.asb_threshold(world["case"], APPLIED, **rule)


def test_three_qualifying_complaints_meet_the_threshold_with_no_date_typed(world):
    """s.104(4): at least three qualifying complaints → met, whatever else anyone types."""
    for day in (date(2026, 3, 2), date(2026, 4, 10), date(2026, 5, 20)):
        report(world, day, day + timedelta(days=3))
    result = threshold(world)
    assert (result["met"], result["qualifying"]) == (True, 3)
    assert result["summary"].startswith("3 qualifying complaints of separate incidents (at least 3 needed): met")
    assert [c["qualifies"] for c in result["complaints"]] == [True, True, True]


def test_a_complaint_made_more_than_a_month_after_the_behaviour_does_not_qualify(world):
    report(world, date(2026, 3, 2), date(2026, 4, 3))       # one month and a day later
    report(world, date(2026, 4, 10), date(2026, 5, 10))     # exactly one month: qualifies
    report(world, date(2026, 5, 20))
    result = threshold(world)
    assert (result["met"], result["qualifying"]) == (False, 2)
    late = result["complaints"][0]
    assert not late["qualifies"] and late["why"] == "reported more than 1 month after it happened"


def test_the_application_must_be_within_six_months_of_each_complaint(world):
    report(world, date(2025, 12, 20))                        # application is 6 months and 10 days later
    report(world, date(2026, 4, 10))
    report(world, date(2026, 5, 20))
    assert threshold(world)["qualifying"] == 2
    # A partnership that counts from the first complaint (anchor first_complaint) and allows 7 months: met.
    assert threshold(world, window_months=7, anchor="first_complaint")["met"] is True


def test_the_same_incident_reported_to_three_agencies_counts_once(world):
    first = report(world, date(2026, 4, 10))
    police = report(world, date(2026, 4, 10), to="police", by="pc")
    homes = report(world, date(2026, 4, 10), to="homes", by="asb")
    assert (police.same_as_id, homes.same_as_id) == (first.id, first.id)
    report(world, date(2026, 5, 20))
    result = threshold(world)
    assert (result["met"], result["qualifying"]) == (False, 2)
    assert result["complaints"][0]["reported_to"] == ["City Homes", "Mansfield DC", "Notts Police"]
    # The officer knows it was a second incident that day: counted on its own, the threshold is met.
    incidents.separate(world["pc"], world["case"], police.id)
    db.session.commit()
    assert threshold(world)["qualifying"] == 3


def test_the_local_hate_incident_rule(world):
    report(world, date(2026, 5, 20), kind="hate", hate_motivated=True)
    assert threshold(world)["met"] is False
    result = threshold(world, hate_window_months=6)
    assert (result["met"], result["count_met"], result["hate_met"]) == (True, False, True)
    assert "local hate incident rule" in result["summary"]


@pytest.mark.parametrize("values,field,words", [
    ({"occurred_on": date.today() + timedelta(days=1)}, "occurred_on", "is in the future"),
    ({"occurred_on": date(2026, 3, 5), "reported_on": date(2026, 3, 4)}, "reported_on",
     "is before the incident happened"),
    ({"reported_to": "nobody"}, "reported_to", "choose the organisation"),
    ({"kind": "burglary"}, "kind", "is not one of"),
    ({"person": 99999}, "person", "choose one of the people on this case"),
    ({"reported_by": ""}, "reported_by", "required"),
    ({"occurred_on": "31/02/2026"}, "occurred_on", "is not a date"),
])
def test_bad_input_names_the_field_and_records_nothing(world, values, field, words):
    good = {"occurred_on": date(2026, 3, 2), "reported_on": date(2026, 3, 2), "reported_to": "council",
            "kind": "asb", "reported_by": "the victim", "description": "x", "person": world["victim"].id}
    with pytest.raises(InvalidInput) as refused:
        incidents.record(world["asb"], world["case"], {**good, **values})
    assert words in refused.value.fields[field]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Incident.id))) == 0


def _their_case(world, by: str):
    """Another agency's case with the same person on it (the person record is shared once matched and linked)."""
    case = make_case(world[by], "domestic_abuse")
    db.session.add(CaseParticipant(case_id=case.id, person_id=world["victim"].id, role=ParticipantRole.VICTIM))
    db.session.commit()
    return case


def _marac_referral(world, by: str, when: datetime) -> None:
    """Another agency's case for the same victim, with its MARAC referral recorded then."""
    case = _their_case(world, by)
    db.session.add(CaseFact(case_id=case.id, kind="marac", code="referral", status="open", recorded_at=when))
    db.session.commit()


def test_marac_repeat_is_any_referral_of_the_same_victim_within_twelve_months_across_agencies(world):
    on = date(2026, 6, 30)
    assert incidents.marac_checks(world["case"], on)["repeat"] is False
    _marac_referral(world, "idva_worker", datetime(2025, 6, 29, 10, tzinfo=timezone.utc))   # 12 months and a day
    assert incidents.marac_checks(world["case"], on)["repeat"] is False
    _marac_referral(world, "pc", datetime(2026, 6, 30, 9, tzinfo=timezone.utc))             # this morning
    result = incidents.marac_checks(world["case"], on)
    assert (result["repeat"], result["last_referral_on"]) == (True, "2026-06-30")
    assert "the last MARAC referral was on 30/06/2026" in result["summary"]


def test_potential_escalation_counts_police_recorded_incidents_across_cases_once_each(world):
    police_case = _their_case(world, "pc")
    for day in (date(2025, 9, 1), date(2026, 1, 15)):
        report(world, day, to="police", by="pc", kind="domestic_abuse", case=police_case)
    report(world, date(2026, 1, 15), to="police", by="asb", kind="domestic_abuse")   # the same, on the council case
    report(world, date(2026, 2, 1), to="council", kind="domestic_abuse")              # not police-recorded
    result = incidents.marac_checks(world["case"], date(2026, 6, 30))
    assert (result["police_incidents"], result["escalation"]) == (2, False)
    report(world, date(2026, 6, 1), to="police", by="pc", kind="domestic_abuse", case=police_case)
    result = incidents.marac_checks(world["case"], date(2026, 6, 30))
    assert (result["police_incidents"], result["escalation"]) == (3, True)
    assert result["incident_dates"] == ["2025-09-01", "2026-01-15", "2026-06-01"]
    # Two months later the first has left the 12-month window.
    assert incidents.marac_checks(world["case"], date(2026, 9, 2))["escalation"] is False


def test_recording_on_the_case_page_and_its_messages(world, client, login):
    login("pc@police.example.org")
    case = world["case"]
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert "Incidents and complaints" in page and "Record the incident" in page
    form = {"incident-occurred_on": "02/03/2026", "incident-kind": "asb", "incident-person": str(world["victim"].id),
            "incident-reported_to": "police", "incident-reported_on": "01/03/2026",
            "incident-reported_by": "the victim", "incident-description": "Eggs thrown at the window"}
    refused = client.post(f"/admin/cases/{case.id}/incidents/", data=form)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "is before the incident happened" in text and 'value="01/03/2026"' in text   # kept what was typed
    assert db.session.scalar(select(func.count(Incident.id))) == 0
    done = client.post(f"/admin/cases/{case.id}/incidents/", data={**form, "incident-reported_on": "03/03/2026"},
                       follow_redirects=True)
    assert "Incident recorded." in done.get_data(as_text=True)
    # The council records its own report of the same incident: linked, counted once, and can be separated.
    login("asb@council.example.org")
    linked = client.post(f"/admin/cases/{case.id}/incidents/", data={
        **form, "incident-reported_to": "council", "incident-reported_on": "04/03/2026"}, follow_redirects=True)
    assert "counts once" in linked.get_data(as_text=True)
    second = db.session.scalar(select(Incident).where(Incident.same_as_id.is_not(None)))
    assert second is not None and "same incident as the report to Notts Police" in linked.get_data(as_text=True)
    client.post(f"/admin/cases/{case.id}/incidents/{second.id}/separate/")
    db.session.expire_all()
    assert db.session.get(Incident, second.id).same_as_id is None


def test_the_api_records_lists_and_refuses_as_json(world, client):
    from casework import tokens

    headers = {"Authorization": f"Bearer {tokens.issue(world['pc'])}"}
    db.session.commit()
    case = world["case"]
    bad = client.post(f"/api/v1/cases/{case.id}/incidents", headers=headers, json={
        "occurred_on": "2999-01-01", "reported_on": "yesterday", "kind": "asb", "reported_to": "police",
        "reported_by": "the victim", "description": "x"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"occurred_on", "reported_on"}
    made = client.post(f"/api/v1/cases/{case.id}/incidents", headers=headers, json={
        "occurred_on": "2026-03-02", "reported_on": "2026-03-02", "kind": "domestic_abuse", "reported_to": "police",
        "reported_by": "a neighbour", "description": "Shouting", "person": world["victim"].id, "reference": "NP-1"})
    assert made.status_code == 201 and made.json["reported_to"] == "police"
    listed = client.get(f"/api/v1/cases/{case.id}/incidents", headers=headers).json
    assert [(r["id"], r["reference"]) for r in listed] == [(made.json["id"], "NP-1")]
    hidden = make_case(make_user(world["idva"], "practitioner"), "domestic_abuse")
    assert client.get(f"/api/v1/cases/{hidden.id}/incidents", headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{hidden.id}/incidents", headers=headers, json={}).status_code == 404
