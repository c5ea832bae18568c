"""A lead edits victim_referral in the browser designer; new cases get the change, older ones keep theirs."""
from __future__ import annotations

import re

from sqlalchemy import select

from casework import cases
from models import User, WorkflowInstance, WorkItem, db
from tests.e2e.conftest import log_in, shot
from workflows import tasks


def _open_victim_support_case(app, title: str) -> int:
    with app.app_context():
        pc = db.session.scalar(select(User).where(User.email == "practitioner@police.demo"))
        case = cases.open_case(pc, case_type="victim_support", title=title)
        tasks.start_mapped(pc, case)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def _record_step(app, case_id: int) -> tuple[int, int]:
    with app.app_context():
        item = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case_id,
                                                        WorkItem.process_key == "victim_referral",
                                                        WorkItem.bpmn_id == "record_report"))
        version = db.session.get(WorkflowInstance, item.instance_id).definition.version
        db.session.remove()
    return item.id, version


def test_lead_changes_a_form_in_the_designer(page, live_app):
    _base, app = live_app
    old_case = _open_victim_support_case(app, "Opened before the change")
    log_in(page, "lead@victims.demo")
    page.get_by_role("link", name="Processes").click()
    page.get_by_role("button", name="Edit in designer: victim_referral").click()
    page.locator(".designer[data-ready='true']").wait_for(timeout=20_000)
    page.locator('.djs-element[data-element-id="record_report"]').first.click()
    page.get_by_role("button", name="All BPMN properties (advanced)").click()   # the full Camunda panel
    group = page.locator(".bio-properties-panel-group",
                         has=page.locator(".bio-properties-panel-group-header-title", has_text="Form fields"))
    group.locator("button.bio-properties-panel-group-header-button.bio-properties-panel-add-entry").click()
    new_id = group.locator("input[id$='-formFieldID']").last
    new_id.fill("referral_priority")
    group.locator("input[id$='-formFieldLabel']").last.fill("Referral priority")
    group.locator("select[id$='-formFieldType']").last.select_option("string")
    # Relabel the first field through the panel too.
    group.locator(".bio-properties-panel-collapsible-entry-header", has_text="crime_reference").first.click()
    first_label = page.locator("#bio-properties-panel-record_report-formField-0-formFieldLabel")
    first_label.fill("Police crime reference (CRN)")
    first_label.press("Tab")
    shot(page, "designer-editing-form-field")
    page.get_by_role("button", name="Validate").click()
    page.get_by_text("Valid: ready to deploy.").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())   # "Deploy this version?"
    page.get_by_role("button", name="Deploy").click()   # without a note: refused, nothing deployed
    page.get_by_text("say what changed and why").wait_for()
    page.get_by_label("What changed (needed to deploy)").fill("Relabelled the crime reference field")
    page.once("dialog", lambda dialog: dialog.accept())   # "Deploy this version?"
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text(re.compile(r"Deployed victim_referral version 2\. It takes effect when a lead of another")
                     ).wait_for()
    shot(page, "designer-deployed")
    page.get_by_role("button", name="Log out").click()
    # Four eyes: a lead of another organisation approves the new version before new cases get it.
    log_in(page, "lead@police.demo")
    page.get_by_role("link", name="Processes").click()
    page.get_by_role("button", name="Approve victim_referral v2").click()
    page.get_by_text("victim_referral v2 approved. New cases use it from now on.").wait_for()
    shot(page, "deploy-approved")
    page.get_by_role("button", name="Log out").click()

    new_case = _open_victim_support_case(app, "Opened after the change")
    new_item, new_version = _record_step(app, new_case)
    old_item, old_version = _record_step(app, old_case)
    assert (new_version, old_version) == (2, 1)
    log_in(page, "practitioner@police.demo")
    page.goto(f"/admin/my_work/{new_item}/")
    assert page.get_by_label("Referral priority").is_visible()
    assert page.get_by_label("Police crime reference (CRN)").is_visible()
    shot(page, "new-case-has-new-field")
    page.goto(f"/admin/my_work/{old_item}/")
    assert page.get_by_label("Referral priority").count() == 0
    assert page.get_by_label("Police crime reference (CRN)").count() == 0
    assert page.get_by_label("Crime reference number").is_visible()
    shot(page, "older-case-keeps-its-version")


def test_practitioners_cannot_reach_the_designer(page, live_app):
    log_in(page, "practitioner@police.demo")
    response = page.goto("/admin/processes/")
    assert response.status == 404
    assert page.goto("/admin/designer/1/").status == 404


def test_validation_messages_select_the_element(page, live_app):
    log_in(page, "lead@victims.demo")
    page.get_by_role("link", name="Processes").click()
    page.get_by_role("button", name="Edit in designer: victim_referral").click()
    page.locator(".designer[data-ready='true']").wait_for(timeout=20_000)
    page.locator('.djs-element[data-element-id="record_report"]').first.click()
    page.get_by_role("button", name="All BPMN properties (advanced)").click()   # the full Camunda panel
    page.locator(".bio-properties-panel-group-header", has_text="User assignment").click()
    groups = page.locator("#bio-properties-panel-candidateGroups")
    groups.fill("spaceforce")
    groups.press("Tab")
    page.locator('.djs-element[data-element-id="start"]').first.click()   # select something else
    page.get_by_role("button", name="Validate").click()
    link = page.locator("#problem-list a[data-element-id='record_report']")
    link.wait_for()
    assert "spaceforce" in page.locator("#problem-list").inner_text()
    assert page.locator(".djs-element.cb-error[data-element-id='record_report']").count() == 1
    link.click()
    page.locator(".djs-element.selected[data-element-id='record_report']").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Not deployed: fix the problems below").wait_for()
    shot(page, "designer-validation-links")
    _base, app = live_app
    with app.app_context():
        from models import ProcessDefinition

        versions = db.session.scalars(select(ProcessDefinition.version).where(
            ProcessDefinition.key == "victim_referral")).all()
        db.session.remove()
    assert versions == [1]   # nothing live changed
