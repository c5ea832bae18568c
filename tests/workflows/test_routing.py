"""Routing by service and area: the area's provider gets the step, a partner providing it comes first, gaps
stay unassigned with a reason a person can act on, the lead assigns them (console and API), escalations
reach someone, and a failed step is retried once its cause is fixed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework import areas
from models import AuditEvent, InstanceStatus, ItemStatus, WorkflowInstance, WorkItem, db
from tests.factories import DATA, make_case, make_org, make_user
from workflows import processes, tasks


@pytest.fixture
def county(ctx):
    """Two areas; a panel in each, a county-wide police force; a council leads cases."""
    for code, name in (("mansfield", "Mansfield"), ("ashfield", "Ashfield"), ("city", "Nottingham City")):
        areas.create_area(code, name)
    areas.create_service("vpp", "Vulnerable persons panel")
    orgs = {code: make_org(code, kind, name) for code, kind, name in (
        ("mansfield_council", "council", "Mansfield District Council"),
        ("mansfield_vpp", "panel", "Mansfield VPP"), ("ashfield_vpp", "panel", "Ashfield VPP"),
        ("city_homes", "housing", "Nottingham City Homes"))}
    areas.provide("vpp", "mansfield_vpp", ["mansfield"])
    areas.provide("vpp", "ashfield_vpp", ["ashfield"])
    users = {"lead": make_user(orgs["mansfield_council"], "practitioner", "lead"),
             "council": make_user(orgs["mansfield_council"], "practitioner"),
             "panel": make_user(orgs["mansfield_vpp"], "practitioner"),
             "panel_manager": make_user(orgs["mansfield_vpp"], "manager")}
    processes.deploy((DATA / "routing.bpmn").read_text())
    db.session.commit()
    return orgs, users


def _start(user, area: str | None):
    case = make_case(user, case_type="hate_crime", area=area)
    instance = tasks.start(user, case, "routing")
    db.session.commit()
    return case, instance


def _item(case, bpmn_id: str) -> WorkItem:
    db.session.expire_all()
    return db.session.scalar(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.bpmn_id == bpmn_id,
                                                    WorkItem.status == ItemStatus.READY))


def test_a_mansfield_case_goes_to_mansfields_panel_which_joins_the_case(county):
    orgs, users = county
    case, instance = _start(users["lead"], "mansfield")
    assert instance.status is InstanceStatus.RUNNING
    item = _item(case, "panel_step")
    assert item.organisation.code == "mansfield_vpp" and item.unassigned_reason is None
    assert {o.organisation.code for o in case.organisations} == {"city_homes", "mansfield_vpp"}
    # The panel's practitioner sees the case and does the step; the escalation goes to its manager.
    tasks.complete(users["panel"], item, {"note": "seen"})
    db.session.commit()
    escalation = _item(case, "escalation")
    assert (escalation.organisation.code, escalation.required_role) == ("mansfield_vpp", "manager")


def test_a_partner_providing_the_service_comes_first(county):
    orgs, users = county
    areas.provide("vpp", "ashfield_vpp", ["mansfield"])  # both now provide it in Mansfield...
    case = make_case(users["lead"], case_type="hate_crime", area="mansfield",
                     organisation_ids=[orgs["ashfield_vpp"].id])  # ...but Ashfield's is on the case
    tasks.start(users["lead"], case, "routing")
    db.session.commit()
    assert _item(case, "panel_step").organisation.code == "ashfield_vpp"


@pytest.mark.parametrize("area, reason", [
    ("city", "No organisation provides Vulnerable persons panel in Nottingham City — add one in "
             "Reference data → Services."),
    (None, "No organisation provides Vulnerable persons panel in every area — set the case's area, or add a "
           "provider in Reference data → Services."),
])
def test_no_provider_leaves_the_step_unassigned_with_a_reason(county, area, reason):
    orgs, users = county
    case, instance = _start(users["lead"], area)
    item = _item(case, "panel_step")
    assert instance.status is InstanceStatus.RUNNING
    assert item.organisation is None and item.unassigned_reason == reason


def test_two_providers_ask_the_lead_to_choose_on_the_case_page(county, client, login):
    orgs, users = county
    areas.provide("vpp", "ashfield_vpp", ["mansfield"])
    case, _ = _start(users["lead"], "mansfield")
    item = _item(case, "panel_step")
    assert item.organisation is None
    assert item.unassigned_reason == ("Two organisations provide Vulnerable persons panel in Mansfield (Ashfield VPP, "
                                      "Mansfield VPP): choose one on the case page.")
    # The lead organisation sees the reason and a choice of the providers first, then everyone else.
    login(users["council"].email)
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert "choose one on the case page" in page and f'id="assign-{item.id}"' in page
    options = page.split(f'id="assign-{item.id}"', 1)[1].split("</select>", 1)[0]
    assert options.index("Ashfield VPP") < options.index("Mansfield VPP") < options.index("Mansfield District")
    response = client.post(f"/admin/cases/{case.id}/steps/{item.id}/assign/",
                           data={"organisation": orgs["mansfield_vpp"].id})
    assert response.status_code == 302
    item = _item(case, "panel_step")
    assert item.organisation.code == "mansfield_vpp" and item.unassigned_reason is None
    assert "mansfield_vpp" in {o.organisation.code for o in case.organisations}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assign")) is not None
    # ...and the process moves on once the panel does it.
    tasks.complete(users["panel"], item, {"note": "done"})
    db.session.commit()
    assert _item(case, "escalation").organisation.code == "mansfield_vpp"


def test_only_the_lead_organisation_assigns_and_only_open_unassigned_steps(county, client, login):
    orgs, users = county
    areas.provide("vpp", "ashfield_vpp", ["mansfield"])
    case, _ = _start(users["lead"], "mansfield")
    item = _item(case, "panel_step")
    city_homes = make_user(orgs["city_homes"], "practitioner")  # a partner, not the lead
    login(city_homes.email)
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert f'id="assign-{item.id}"' not in page
    assert client.post(f"/admin/cases/{case.id}/steps/{item.id}/assign/",
                       data={"organisation": orgs["mansfield_vpp"].id}).status_code == 403
    login(users["council"].email)
    bad = client.post(f"/admin/cases/{case.id}/steps/{item.id}/assign/", data={"organisation": "999"},
                      follow_redirects=True)
    assert "choose an active organisation" in bad.get_data(as_text=True)
    assert _item(case, "panel_step").organisation_id is None
    client.post(f"/admin/cases/{case.id}/steps/{item.id}/assign/", data={"organisation": orgs["ashfield_vpp"].id})
    again = client.post(f"/admin/cases/{case.id}/steps/{item.id}/assign/",
                        data={"organisation": orgs["mansfield_vpp"].id}, follow_redirects=True)
    assert "already assigned to Ashfield VPP" in again.get_data(as_text=True)


def test_assign_over_the_api(county, client):
    from casework import tokens

    orgs, users = county
    areas.provide("vpp", "ashfield_vpp", ["mansfield"])
    case, _ = _start(users["lead"], "mansfield")
    item = _item(case, "panel_step")
    lead, panel = tokens.issue(users["lead"]), tokens.issue(users["panel"])
    db.session.commit()

    def post(token, body):
        return client.post(f"/api/v1/tasks/{item.id}/assign", json=body, headers={"Authorization": f"Bearer {token}"})

    listed = client.get(f"/api/v1/tasks?case={case.id}", headers={"Authorization": f"Bearer {lead}"}).json
    (row,) = [t for t in listed if t["bpmn_id"] == "panel_step"]
    assert row["organisation"] is None and row["unassigned_reason"].startswith("Two organisations provide")
    assert post(lead, {"organisation": "nope"}).status_code == 422
    assert post(lead, {"organisation": "nope"}).json["errors"] == {"organisation": "no active organisation with code 'nope'"}
    assert post(panel, {"organisation": "mansfield_vpp"}).status_code == 404  # the panel cannot see the case yet
    done = post(lead, {"organisation": "mansfield_vpp"})
    assert done.status_code == 200 and done.json["organisation"] == "mansfield_vpp"
    assert post(lead, {"organisation": "ashfield_vpp"}).status_code == 409


def test_escalation_without_a_manager_goes_to_leads_then_to_anyone(county):
    orgs, users = county
    case, _ = _start(users["lead"], "ashfield")  # Ashfield's panel has no users at all
    item = _item(case, "panel_step")
    assert item.organisation.code == "ashfield_vpp"
    outsider = make_user(orgs["ashfield_vpp"], "practitioner")
    tasks.complete(outsider, item, {"note": "seen"})
    db.session.commit()
    escalation = _item(case, "escalation")
    assert (escalation.organisation.code, escalation.required_role) == ("ashfield_vpp", None)  # anyone
    lead = make_user(orgs["ashfield_vpp"], "lead")
    case2, _ = _start(users["lead"], "ashfield")
    tasks.complete(outsider, _item(case2, "panel_step"), {"note": "seen"})
    db.session.commit()
    assert _item(case2, "escalation").required_role == "lead"  # no manager: the leads
    tasks.complete(lead, _item(case2, "escalation"), {})
    db.session.commit()


def test_a_failed_step_is_retried_once_its_cause_is_fixed(ctx, client, login):
    areas.create_area("mansfield", "Mansfield")
    areas.create_service("vpp", "Vulnerable persons panel")
    council = make_org("mansfield_council", "council", "Mansfield District Council")
    lead, practitioner = make_user(council, "practitioner", "lead"), make_user(council, "practitioner")
    processes.deploy((DATA / "routing.bpmn").read_text())
    db.session.commit()
    case = make_case(lead, case_type="hate_crime", area="mansfield")
    instance = tasks.start(lead, case, "routing")
    db.session.commit()
    assert instance.status is InstanceStatus.ERROR
    assert "there is no active organisation 'city_homes'" in instance.error_message
    login(practitioner.email)  # not a lead: no retry button, and the action is refused
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert "Retry the failed step" not in page
    assert client.post(f"/admin/cases/{case.id}/processes/{instance.id}/retry/").status_code == 403
    login(lead.email)
    page = client.get(f"/admin/cases/details/?id={case.id}").get_data(as_text=True)
    assert "Retry the failed step" in page
    failed_again = client.post(f"/admin/cases/{case.id}/processes/{instance.id}/retry/", follow_redirects=True)
    assert "The step failed again" in failed_again.get_data(as_text=True)
    make_org("city_homes", "housing", "Nottingham City Homes")  # the cause is fixed
    response = client.post(f"/admin/cases/{case.id}/processes/{instance.id}/retry/", follow_redirects=True)
    assert "The failed step ran again" in response.get_data(as_text=True)
    db.session.expire_all()
    instance = db.session.get(WorkflowInstance, instance.id)
    assert instance.status is InstanceStatus.RUNNING and instance.error_message is None
    assert "city_homes" in {o.organisation.code for o in instance.case.organisations}
    item = _item(case, "panel_step")
    assert item.organisation is None and "No organisation provides" in item.unassigned_reason
    retries = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "retry_process")).all()
    assert [r.detail_dict["status"] for r in retries] == ["error", "running"]
    again = client.post(f"/admin/cases/{case.id}/processes/{instance.id}/retry/", follow_redirects=True)
    assert "not stopped with an error" in again.get_data(as_text=True)


def test_changing_the_case_area_reroutes_waiting_steps(county, client, login):
    orgs, users = county
    case, _ = _start(users["lead"], "city")
    assert _item(case, "panel_step").organisation is None
    login(users["council"].email)
    response = client.post(f"/admin/cases/edit/?id={case.id}", data={
        "case_type": "hate_crime", "area": "ashfield", "title": case.title, "summary": "", "status": "open",
        "risk_level": case.risk_level.value, "version": case.version})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert _item(case, "panel_step").organisation.code == "ashfield_vpp"


def test_routing_lint(ctx):
    text = (DATA / "routing.bpmn").read_text()
    parsed = processes.check(text)  # no service in reference data yet: a warning, not an error
    assert any("“vpp” is not a service" in w.message for w in parsed.warnings)
    areas.create_service("vpp", "Vulnerable persons panel")
    assert not processes.check(text).warnings
    with pytest.raises(processes.DiagramError, match="name the service"):
        processes.check(text.replace('candidateGroups="service:vpp"', 'candidateGroups="service:"'))
    with pytest.raises(processes.DiagramError, match="“boss” is not a role"):
        processes.check(text.replace("service:vpp:manager", "service:vpp:boss"))


def test_the_routing_check_shows_who_gets_each_step_and_every_gap(county, client, login):
    from models import ProcessDefinition

    orgs, users = county
    areas.provide("vpp", "ashfield_vpp", ["city"])
    areas.provide("vpp", "mansfield_vpp", ["city"])  # two providers in the City: a gap
    db.session.commit()
    login(users["council"].email)  # a practitioner: not for them
    assert client.get("/admin/processes/routing/").status_code == 404
    login(users["lead"].email)
    page = client.get("/admin/processes/routing/?key=routing").get_data(as_text=True)
    table = page.split('id="routing"', 1)[1]
    rows = {r.split("<code", 1)[1].split("</code>")[0].split(">")[-1]: r for r in table.split("<tr>")[2:]}
    panel, escalation = rows["panel_step"], rows["escalation"]
    cells = panel.split("<td")[2:]  # areas by name: Ashfield, Mansfield, Nottingham City
    assert "Ashfield VPP: nobody active can do it" in cells[0] and "data-gap" in cells[0]  # no users there
    assert "Mansfield VPP" in cells[1] and "data-gap" not in cells[1]
    assert "2 organisations provide Vulnerable persons panel in Nottingham City" in cells[2] and "data-gap" in cells[2]
    # Ashfield's panel has nobody at all; Mansfield's has a manager, so the escalation reaches someone there.
    esc = escalation.split("<td")[2:]
    assert "Ashfield VPP: nobody active can do it" in esc[0] and "data-gap" in esc[0]
    assert "Mansfield VPP (managers)" in esc[1]
    assert "gaps" in page and client.get("/admin/processes/routing/?key=nope").status_code == 404
    # The designer runs the same check on a draft before it is deployed.
    definition = processes.latest("routing")
    response = client.post("/admin/designer/new/", data={"from": definition.id})
    draft_url = response.headers["Location"]
    draft = client.get(draft_url.rstrip("/") + "/routing").get_data(as_text=True)
    assert "Routing check of the draft: routing" in draft and "Mansfield VPP" in draft
    assert isinstance(definition, ProcessDefinition)


def test_escalation_without_managers_is_a_gap_naming_the_fallback(county, client, login):
    orgs, users = county
    db.session.delete(users["panel_manager"])
    make_user(orgs["mansfield_vpp"], "lead")
    db.session.commit()
    login(users["lead"].email)
    page = client.get("/admin/processes/routing/?key=routing").get_data(as_text=True)
    assert "Mansfield VPP (its leads)" in page and "nobody active is a manager there" in page


def test_cases_take_an_area_over_the_api_and_refuse_an_unknown_one(county, client):
    from casework import tokens
    from models import Case

    orgs, users = county
    token = tokens.issue(users["council"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/cases", json={"case_type": "hate_crime", "title": "t", "area": "mansfield"},
                       headers=headers)
    assert made.status_code == 201
    assert client.get(f"/api/v1/cases/{made.json['id']}", headers=headers).json["area"] == "mansfield"
    before = db.session.scalar(select(func.count()).select_from(Case))
    for bad in ("atlantis", 7):
        refused = client.post("/api/v1/cases", json={"case_type": "hate_crime", "title": "t", "area": bad},
                              headers=headers)
        assert refused.status_code == 422 and "is not an area" in refused.json["errors"]["area"]
    assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_team_work_shows_the_gap_to_the_lead_organisation(county, client, login):
    orgs, users = county
    case, _ = _start(users["lead"], "city")
    login(users["council"].email)
    page = client.get("/admin/team_work/").get_data(as_text=True)
    assert "No organisation provides Vulnerable persons panel in Nottingham City" in page
    assert "Assign on the case page" in page


def test_a_routed_step_waits_when_no_agreement_covers_the_share(county, app):
    """Under ISA_ENFORCEMENT=enforce routing never shares a case on its own: the step waits, saying why."""
    from casework import agreements

    app.config["ISA_ENFORCEMENT"] = "enforce"
    orgs, users = county
    case, instance = _start(users["lead"], "mansfield")
    assert instance.status is InstanceStatus.RUNNING                     # not an error in the process
    item = _item(case, "panel_step")
    assert item.organisation_id is None
    assert item.unassigned_reason.startswith("Mansfield VPP cannot be given this step: no information-sharing")
    assert "mansfield_vpp" not in {o.organisation.code for o in case.organisations}
    agreements.create("County ISA", ["mansfield_council", "mansfield_vpp", "city_homes"], [], "2020-01-01",
                      "2099-12-31", approve_all=True)
    db.session.commit()
    case2, _ = _start(users["lead"], "mansfield")
    assert _item(case2, "panel_step").organisation.code == "mansfield_vpp"
