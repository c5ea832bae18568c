"""Opening and working a case in the console."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from models import Case, CaseNote, CaseOrganisation, CaseParticipant, Person, db
from tests.factories import make_case, make_org, make_person, make_user


@pytest.fixture
def setup(ctx):
    police = make_org("police_a", "police", "Police A")
    vs = make_org("vs_b", "victim_services", "Victim Services B")
    pc = make_user(police, email="pc@a.example.org")
    caseworker = make_user(vs, email="cw@b.example.org")
    victim = make_person(pc, "Amira", "Hussain")
    return {"police": police.id, "vs": vs.id, "pc": pc.email, "cw": caseworker.email, "victim": victim.id}


def _cases() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def _open_form(s, **extra):
    return {"case_type": "victim_support", "title": "Burglary", "risk_level": "standard",
            "lead_organisation": str(s["police"]), "participants-0-person_id": str(s["victim"]),
            "participants-0-role": "victim", "organisations": [str(s["vs"])], **extra}


def test_open_case_with_people_in_roles(client, login, setup):
    login(setup["pc"])
    response = client.post("/admin/cases/new/", data=_open_form(setup))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    case = db.session.scalar(select(Case))
    assert case.reference.startswith("CB-") and len(case.reference) == len("CB-2026-000001")
    assert case.lead_organisation_id == setup["police"]
    parts = db.session.scalars(select(CaseParticipant)).all()
    assert [(p.person_id, p.role.value) for p in parts] == [(setup["victim"], "victim")]
    assert [o.organisation_id for o in db.session.scalars(select(CaseOrganisation))] == [setup["vs"]]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Amira HUSSAIN" in page and "Victim Services B" in page
    login(setup["cw"])  # the partner organisation now sees it
    assert client.get(f"/admin/cases/details/?id={case.id}").status_code == 200


def test_references_are_sequential(ctx, setup):
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    refs = [make_case(pc).reference for _ in range(3)]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_case_for_another_organisation_is_refused(client, login, setup):
    login(setup["pc"])
    response = client.post("/admin/cases/new/", data=_open_form(setup, lead_organisation=str(setup["vs"])))
    assert response.status_code == 400
    assert "You cannot open a case for Victim Services B" in response.get_data(as_text=True)
    assert _cases() == 0


@pytest.mark.parametrize("change, message", [
    ({"title": "x" * 201}, "200 characters"),
    ({"title": ""}, "This field is required"),
    ({"case_type": "nonsense"}, "Not a valid choice"),
    ({"participants-0-person_id": "99999"}, "person 99999 was not found"),
])
def test_bad_case_input_saves_nothing(client, login, setup, change, message):
    login(setup["pc"])
    response = client.post("/admin/cases/new/", data=_open_form(setup, **change))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _cases() == 0


def test_cannot_put_invisible_person_on_case(client, login, setup):
    """A person registered by another organisation (and on none of my cases) cannot be attached."""
    from models import User

    cw = db.session.scalar(select(User).where(User.email == setup["cw"]))
    hidden = make_person(cw, "Hidden", "Person")
    login(setup["pc"])
    response = client.post("/admin/cases/new/", data=_open_form(setup, **{"participants-0-person_id": str(hidden.id)}))
    assert response.status_code == 400
    assert _cases() == 0


def test_stale_case_edit_is_refused(client, login, setup):
    """Two people edit the same case: the second save is refused with a message and changes nothing."""
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    case = make_case(pc, title="Original")
    login(setup["pc"])
    version = case.version
    form = {"case_type": "victim_support", "summary": "", "status": "open", "risk_level": "standard",
            "version": str(version)}
    assert client.post(f"/admin/cases/edit/?id={case.id}", data={**form, "title": "First"}).status_code == 302
    second = client.post(f"/admin/cases/edit/?id={case.id}", data={**form, "title": "Second"})
    assert second.status_code == 409
    assert "changed by someone else" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).title == "First"


def test_close_case_sets_closed_at(client, login, setup):
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    case = make_case(pc)
    login(setup["pc"])
    refused = client.post(f"/admin/cases/{case.id}/close/", data={"outcome": "", "reason": "Done"},
                          follow_redirects=True)
    assert "choose how the case ended" in refused.get_data(as_text=True)
    client.post(f"/admin/cases/{case.id}/close/", data={"outcome": "objectives_met", "reason": "Supported"})
    db.session.expire_all()
    closed = db.session.get(Case, case.id)
    assert closed.status.value == "closed" and closed.closed_at is not None
    assert (closed.closure_outcome, closed.closure_reason) == ("objectives_met", "Supported")
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert "Support completed, objectives met" in page and "Reopen the case" in page
    client.post(f"/admin/cases/{case.id}/reopen/", data={"reason": "New incident"})
    db.session.expire_all()
    reopened = db.session.get(Case, case.id)
    assert reopened.status.value == "open" and reopened.closed_at is None and reopened.closure_outcome is None


def test_notes_participants_and_partners(client, login, setup):
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    case = make_case(pc)
    other = make_person(pc, "Daniel", "Price")
    login(setup["pc"])
    assert client.post(f"/admin/cases/{case.id}/notes/", data={"note-body": "Called victim"}).status_code == 302
    assert client.post(f"/admin/cases/{case.id}/participants/",
                       data={"part-person_id": str(other.id), "part-role": "witness"}).status_code == 302
    dup = client.post(f"/admin/cases/{case.id}/participants/",
                      data={"part-person_id": str(other.id), "part-role": "witness"})
    assert dup.status_code == 400 and "already on this case" in dup.get_data(as_text=True)
    assert client.post(f"/admin/cases/{case.id}/organisations/",
                       data={"org-organisation_id": str(setup["vs"])}).status_code == 302
    page = client.get(f"/admin/cases/details/?id={case.id}&q=Price").get_data(as_text=True)
    assert "Called victim" in page and "Daniel PRICE" in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 1
    login(setup["cw"])  # partner may add notes but not edit the case
    assert client.post(f"/admin/cases/{case.id}/notes/", data={"note-body": "VS note"}).status_code == 302
    assert client.post(f"/admin/cases/{case.id}/participants/",
                       data={"part-person_id": str(other.id), "part-role": "victim"}).status_code == 403


def test_empty_note_is_refused(client, login, setup):
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    case = make_case(pc)
    login(setup["pc"])
    response = client.post(f"/admin/cases/{case.id}/notes/", data={"note-body": ""})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 0


def test_case_list_search_and_filters(client, login, setup):
    from models import User

    pc = db.session.scalar(select(User).where(User.email == setup["pc"]))
    make_case(pc, title="Burglary at shop")
    make_case(pc, title="Criminal damage", case_type="asb")
    login(setup["pc"])
    page = client.get("/admin/cases/?search=Burglary").get_data(as_text=True)
    assert "Burglary at shop" in page and "Criminal damage" not in page
    # A person's name and date of birth find their cases.
    victim = db.session.get(Person, setup["victim"])
    victim.date_of_birth = date(1988, 3, 14)
    make_case(pc, title="Assault outside a club", participants=[(victim.id, "victim")])
    db.session.commit()
    found = client.get("/admin/cases/?search=Hussain+14/03/1988").get_data(as_text=True)
    assert "Assault outside a club" in found and "Burglary at shop" not in found
    assert "Assault outside a club" not in client.get("/admin/cases/?search=Hussain+15/03/1988").get_data(
        as_text=True)


def test_consequential_choices_start_empty(client, login, setup):
    """Case type, partner, the process to start and who to ask start with nothing chosen: one click never opens
    the wrong kind of case or shares it with the wrong agency. Submitting without a choice says so."""
    login(setup["pc"])
    form = client.get("/admin/cases/new/").get_data(as_text=True)
    first = form.split('name="case_type"', 1)[1].split("</option>", 1)[0]
    assert first.endswith('value="">— choose —'), first
    refused = client.post("/admin/cases/new/", data=_open_form(setup, case_type=""))
    assert refused.status_code == 400 and "This field is required" in refused.get_data(as_text=True)
    assert _cases() == 0
    from pathlib import Path

    from workflows import processes
    for key in ("agency_request", "panel_action"):
        processes.deploy((Path(__file__).resolve().parents[2] / "bpmn" / f"{key}.bpmn").read_text())
    case = make_case(_user(setup["pc"]), title="Burglary")
    db.session.commit()
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    for name, placeholder in (('organisation_id"', "— choose —"), ('name="key"', "— choose a process —"),
                              ('name="asked"', "— choose who to ask —")):
        after = page.split(name, 1)[1][:300]
        assert f'<option value="">{placeholder}</option>' in after or \
            f'<option selected value="">{placeholder}</option>' in after, name
    started = client.post(f"/admin/cases/{case.id}/processes/", data={"key": ""}, follow_redirects=True)
    assert "Choose the process to start." in started.get_data(as_text=True)


def _user(email: str):
    from models import User
    return db.session.scalar(select(User).where(User.email == email))
