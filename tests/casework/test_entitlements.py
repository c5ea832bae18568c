"""The Victims' Code as reference data (02-victims-code-compliance.md §3): entitlements opened per trigger with
their owners and working-day clocks, closed with what happened (met late measured from when the information was
given), Victim Contact Scheme eligibility computed from the offence and sentence, reports grouped by right."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from casework import areas, entitlements
from models import CaseFact, CodeEntitlement, db
from reporting import dashboard
from tests.factories import make_case, make_org, make_user

THURSDAY = date(2027, 3, 25)   # the day before Good Friday; Easter Monday 29 March is a bank holiday too


@pytest.fixture
def case(ctx):
    police = make_org("police", "police", "Police")
    return make_case(make_user(police, "practitioner"), "victim_support")


def facts(case) -> dict[str, CaseFact]:
    return {f.code: f for f in db.session.scalars(select(CaseFact).where(CaseFact.case_id == case.id,
                                                                         CaseFact.kind == "entitlement"))}


def test_the_2020_code_is_reference_data(ctx):
    assert db.session.scalar(select(func.count(CodeEntitlement.id))) == 34
    assert entitlements.ensure_defaults() == 0          # loading again adds nothing and keeps leads' changes
    r4a = db.session.scalar(select(CodeEntitlement).where(CodeEntitlement.code == "R4a"))
    assert (r4a.owner_service, r4a.standard_days, r4a.enhanced_days) == ("policing", 2, 2)   # Right 4: the police
    r10a = db.session.scalar(select(CodeEntitlement).where(CodeEntitlement.code == "R10a"))
    assert (r10a.owner_service, r10a.trigger) == ("cps", "court:expenses_claim")           # Right 10: the CPS


def test_report_entitlements_standard_and_enhanced_over_easter(case):
    opened = entitlements.open_for(case, "report", THURSDAY, enhanced=False, offence="burglary")
    assert "R2d" not in opened["codes"]                  # the interviewer's gender: sexual offences and DA only
    due = opened["due"]
    assert due["R3a"].startswith("2027-04-05T16:00")     # 5 working days over Easter; 17:00 London in summer time
    assert due["R4a"].startswith("2027-03-31T16:00")     # 2 working days
    assert due["R1a"] is None                            # at the interaction: no fixed deadline
    enhanced = entitlements.open_for(case, "report", THURSDAY, enhanced=True, offence="domestic_abuse",
                                     exclude=["R4a"])
    assert enhanced["due"]["R3a"].startswith("2027-03-30T16:00")   # 1 working day: Tuesday after Easter
    assert "R2d" in enhanced["codes"] and "R4a" not in enhanced["codes"]
    assert enhanced["choices_by_owner"]["victim_support"] == [["R12a", "Told how to complain if their rights are "
                                                                       "not met"]]
    assert facts(case)["R3a"].status == "due"


def test_each_investigation_event_is_its_own_obligation_and_late_reads_late(case):
    entitlements.open_for(case, "event:arrest", date(2027, 4, 30), enhanced=False, occurrence="1")
    entitlements.open_for(case, "event:bail_rui", date(2027, 5, 1), enhanced=False, occurrence="2")
    rows = facts(case)
    assert rows["R6a:1"].due_at == datetime(2027, 5, 10, 16, tzinfo=timezone.utc)   # over the May bank holiday
    assert rows["R6a:2"].label == "Told the suspect was released on bail or under investigation"
    entitlements.close(case, ["R6a:1"], "met", done_on=date(2027, 5, 11), method="phone")
    entitlements.close(case, ["R6a:2"], "victim_declined")
    rows = facts(case)
    assert rows["R6a:1"].completed_at > rows["R6a:1"].due_at           # met late, measured from when told
    assert rows["R6a:2"].status == "victim_declined"
    summary, by_right = dashboard.entitlements(CaseFact.case_id == case.id, dashboard.Filters(),
                                               datetime(2027, 6, 1, tzinfo=timezone.utc))
    assert [r for r in by_right.rows if r[0] == "R6"] == [("R6", (0, 1, 0, 0, 0, 0, 1))]


@pytest.mark.parametrize("offence, months, hospital, eligible, words", [
    ("violence_with_injury", 18, False, True, "the sentence is 18 months (at least 12)"),
    ("violence_with_injury", 6, False, False, "under 12 months"),
    ("theft", 24, False, False, "not a specified violent or sexual offence"),
    ("sexual_offence", None, True, True, "a hospital order"),
])
def test_victim_contact_scheme_eligibility_is_computed_from_the_rule(ctx, offence, months, hospital, eligible,
                                                                      words):
    result = entitlements.vcs(offence, months, hospital)
    assert result["eligible"] is eligible and words in result["reason"]


def test_a_lead_changes_the_rule_and_the_next_sentence_follows_it(ctx):
    rule = db.session.scalar(select(CodeEntitlement).where(CodeEntitlement.code == "R11a"))
    rule.min_sentence_months = 6
    db.session.commit()
    assert entitlements.vcs("violence_with_injury", 6)["eligible"] is True


def test_leads_edit_entitlements_on_the_reference_screen(client, login, ctx):
    org = make_org("vs", "victim_services")
    make_user(org, "lead", email="lead@vs.example.org")
    make_user(org, "practitioner", email="pc@vs.example.org")
    areas.create_service("victim_support", "Victim support")
    db.session.commit()
    row = db.session.scalar(select(CodeEntitlement).where(CodeEntitlement.code == "R3a"))
    login("pc@vs.example.org")
    assert client.get("/admin/code_entitlements/").status_code in (403, 404)
    login("lead@vs.example.org")
    page = client.get("/admin/code_entitlements/").get_data(as_text=True)
    assert "Written confirmation of the crime reported" in page
    form = {"version": "2020", "code": "R3a", "right": "3", "title": row.title, "owner_service": "nothing",
            "trigger": "report", "standard_days": "5", "enhanced_days": "1", "source": row.source}
    refused = client.post(f"/admin/code_entitlements/edit/?id={row.id}", data=form, follow_redirects=True)
    assert "there is no service" in refused.get_data(as_text=True)
    saved = client.post(f"/admin/code_entitlements/edit/?id={row.id}",
                        data={**form, "owner_service": "victim_support", "standard_days": "4"}, follow_redirects=True)
    assert "Record was successfully saved" in saved.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(CodeEntitlement, row.id).owner_service,
            db.session.get(CodeEntitlement, row.id).standard_days) == ("victim_support", 4)


def test_opening_again_keeps_what_was_already_recorded(case):
    """A lead starts victims_code by hand after the referral recorded Right 4: it stays met (and is not asked)."""
    entitlements.close(case, ["R4a"], "met", done_on=date(2027, 3, 26))
    opened = entitlements.open_for(case, "report", THURSDAY, enhanced=False)
    assert "R4a" not in opened["codes"] and "R4a" in opened["evidenced_elsewhere"]
    fact = facts(case)["R4a"]
    assert fact.status == "met" and fact.due_at is not None and fact.completed_at is not None
