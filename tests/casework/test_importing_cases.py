"""The import service for cases: people in roles, partners, closed cases, idempotency, refusals."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from casework import importing
from models import AuditEvent, Case, CaseOrganisation, CaseParticipant, db
from models.enums import CaseStatus, RiskLevel
from tests.factories import make_case, make_person
from tests.fixtures.imports import CASES_HEADER, xlsx

HEADER = CASES_HEADER + ["closed_on", "summary", "partner_organisations"]


@pytest.fixture
def people(team):
    return {"P-1": make_person(team.pc, "Amira", "Hussain", date(1988, 3, 14), external_reference="P-1"),
            "P-2": make_person(team.pc, "Tomasz", "Nowak", date(1975, 11, 2), external_reference="P-2")}


def _row(**kw):
    base = dict(external_reference="L-100", case_type="domestic_abuse", title="Legacy DA case",
                opened_on=date(2023, 5, 1), status="open", risk_level="high", lead_organisation="notts_police",
                person_reference="P-1", role="victim", closed_on=None, summary=None, partner_organisations=None)
    base.update(kw)
    return [base[h] for h in HEADER]


def _import(user, *rows, dry_run=False):
    report = importing.run(user, "cases", xlsx(HEADER, *rows, title="Cases"), filename="cases.xlsx",
                           dry_run=dry_run)
    if not report.keep:
        db.session.rollback()
    importing.record(user, report)
    db.session.commit()
    return report


def _cases() -> list[Case]:
    db.session.expire_all()
    return list(db.session.scalars(select(Case).order_by(Case.id)))


def _outcomes(report):
    return [(r.row, r.outcome) for r in report.rows]


def test_import_cases_with_people_roles_and_partners(team, people):
    report = _import(team.pc,
                     _row(partner_organisations="victim_services, mansfield", summary="Moved from the old DA tracker"),
                     _row(person_reference="P-2", role="offender", partner_organisations=None, title=None),
                     _row(external_reference="L-101", case_type="Anti-social behaviour", title="Closed ASB",
                          opened_on="2022-01-10", status=None, risk_level=None, closed_on=date(2022, 6, 1)))
    assert report.ok, report.lines()
    assert _outcomes(report) == [(2, "created"), (3, "created"), (4, "created")]
    da, asb = _cases()
    assert da.case_type_code == "domestic_abuse" and da.title == "Legacy DA case"
    assert da.lead_organisation_id == team.pc.organisation_id and da.risk_level is RiskLevel.HIGH
    assert da.opened_at == datetime(2023, 5, 1, tzinfo=timezone.utc) and da.status is CaseStatus.OPEN
    assert da.summary == "Moved from the old DA tracker" and da.external_reference == "L-100"
    assert importing.legacy_reference(da) == "L-100"
    assert sorted((p.person.external_reference, p.role.value) for p in da.participants) == [
        ("P-1", "victim"), ("P-2", "offender")]
    assert sorted(o.organisation.code for o in da.organisations) == ["mansfield", "victim_services"]
    assert asb.case_type_code == "asb" and asb.status is CaseStatus.CLOSED
    assert asb.closed_at == datetime(2022, 6, 1, tzinfo=timezone.utc)
    assert asb.risk_level is RiskLevel.NOT_ASSESSED
    assert report.rows[0].label == f"{da.reference}: Amira HUSSAIN as victim"


def test_reimport_changes_nothing_then_updates(team, people):
    rows = [_row(partner_organisations="victim_services"), _row(person_reference="P-2", role="witness")]
    _import(team.pc, *rows)
    again = _import(team.pc, *rows)
    assert again.ok and _outcomes(again) == [(2, "unchanged"), (3, "unchanged")]
    assert len(_cases()) == 1
    assert db.session.scalar(select(func.count()).select_from(CaseParticipant)) == 2
    changed = _import(team.pc, _row(partner_organisations="victim_services", risk_level="medium", status="closed",
                                    closed_on=date(2024, 1, 31)),
                      _row(person_reference="P-2", role="offender", risk_level=None, status=None))
    assert _outcomes(changed) == [(2, "updated"), (3, "updated")]
    assert changed.rows[0].messages == ["changes status, risk_level, closed_at"]
    assert changed.rows[1].messages == ["adds Tomasz NOWAK as offender"]
    case, = _cases()
    assert case.status is CaseStatus.CLOSED and case.closed_at == datetime(2024, 1, 31, tzinfo=timezone.utc)
    assert case.risk_level is RiskLevel.MEDIUM
    assert sorted(p.role.value for p in case.participants) == ["offender", "victim", "witness"]


def test_dry_run_writes_nothing(team, people):
    report = _import(team.pc, _row(), dry_run=True)
    assert report.ok and _outcomes(report) == [(2, "created")]
    assert _cases() == []
    assert db.session.scalar(select(func.count()).select_from(CaseParticipant)) == 0


def test_cases_without_a_legacy_reference_are_not_matched(team, people):
    make_case(team.pc, title="Legacy DA case", summary="Legacy reference L-100 mentioned in passing")
    report = _import(team.pc, _row())
    assert _outcomes(report) == [(2, "created")] and len(_cases()) == 2


@pytest.mark.parametrize("change, expected", [
    ({"lead_organisation": "nowhere"}, "column G (lead_organisation): 'nowhere' is not a known organisation code"),
    ({"lead_organisation": "victim_services"},
     "column G (lead_organisation): 'victim_services' is not your organisation: you import for 'notts_police' only"),
    ({"partner_organisations": "mansfield; atlantis"},
     "column L (partner_organisations): unknown or inactive organisation code(s): atlantis"),
    ({"person_reference": "P-404"},
     "column H (person_reference): no person with external_reference 'P-404' in your organisation"),
    ({"role": "bystander"}, "column I (role): 'bystander' is not one of: victim, offender"),
    ({"status": "pending"}, "column E (status): 'pending' is not one of: open, closed"),
    ({"risk_level": "extreme"}, "column F (risk_level): 'extreme' is not one of"),
    ({"case_type": "burglary"}, "column B (case_type): 'burglary' is not an active case type"),
    ({"opened_on": "01/05/2023"}, "column D (opened_on): '01/05/2023' is not a valid date"),
    ({"opened_on": date(2999, 1, 1)}, "column D (opened_on): is in the future"),
    ({"status": "closed"}, "column J (closed_on): is required when status is closed"),
    ({"closed_on": date(2023, 4, 1), "status": "closed"}, "column J (closed_on): is before opened_on"),
    ({"closed_on": date(2023, 6, 1)}, "column J (closed_on): is given but status is open"),
    ({"title": "x" * 300}, "column C (title): is too long"),
    ({"title": "=1+1"}, "column C (title): contains a formula"),
])
def test_bad_case_rows_are_refused(team, people, change, expected):
    report = _import(team.pc, _row(**change))
    assert _outcomes(report) == [(2, "refused")]
    assert any(m.startswith(expected) for m in report.rows[0].messages), report.rows[0].messages
    assert _cases() == []


def test_person_of_another_organisation_is_unknown(team, people):
    make_person(team.other, "Grace", "Okafor", date(2001, 7, 30), external_reference="VS-1")
    report = _import(team.pc, _row(person_reference="VS-1"))
    assert report.rows[0].messages == ["column H (person_reference): no person with external_reference 'VS-1' "
                                       "in your organisation; import people first"]


def test_rows_of_one_case_must_agree(team, people):
    report = _import(team.pc, _row(), _row(person_reference="P-2", role="witness", title="Another title"))
    assert _outcomes(report) == [(2, "created"), (3, "refused")]
    assert report.rows[1].messages == ["column C (title): Another title differs from row 2 (Legacy DA case); rows "
                                       "for the same external_reference must agree on the case columns"]
    assert _cases() == []


def test_restricted_case_of_own_organisation_is_refused_to_others(team, people):
    _import(team.pc, _row())
    case, = _cases()
    from casework import cases

    cases.update_case(team.pc, case, case.version, {"restricted": True})
    db.session.commit()
    report = _import(team.police_pc2, _row(risk_level="medium"))
    assert report.rows[0].outcome == "refused"
    assert "exists but is restricted and you are not named on it" in report.rows[0].messages[0]
    assert _import(team.pc, _row()).rows[0].outcome == "unchanged"


def test_case_imports_are_audited(team, people):
    _import(team.pc, _row(partner_organisations="mansfield"))
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["create", "import"]
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "create",
                                                          AuditEvent.object_type == "case")).one()
    assert created.detail_dict["organisations"] == ["mansfield"]
    assert db.session.scalar(select(func.count()).select_from(CaseOrganisation)) == 1
