"""The managers' Dashboard: the numbers shown, filters, access rules, audit, no workflow loading."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import event, select

from models import AuditEvent, Case, CaseFact, Organisation, User, WorkItem, db, utcnow
from models.enums import CaseStatus
from reporting import dashboard
from tests.factories import make_case, make_org, make_user
from workflows import processes, tasks

DATA = Path(__file__).resolve().parents[1] / "data"
URL = "/admin/dashboard/"


def _at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def _fact(case: Case, kind: str, code: str, status: str, *, owner: Organisation | None = None,
          due: datetime | None = None, completed: datetime | None = None, recorded: datetime | None = None) -> None:
    db.session.add(CaseFact(case_id=case.id, kind=kind, code=code, status=status, due_at=due, completed_at=completed,
                            owner_organisation_id=owner.id if owner else None,
                            recorded_at=recorded or completed or _at("2025-03-01")))


def _item(case: Case, user, org: Organisation, due: datetime | None) -> None:
    tasks.start(user, case, "one_step")
    db.session.flush()
    item = db.session.scalar(select(WorkItem).where(WorkItem.case_id == case.id))
    item.organisation_id, item.due_at = org.id, due


@pytest.fixture
def world(ctx):
    """Police A leads three visible open cases (one with Victim Services B), one closed and one restricted;
    Council C has a case with facts and overdue work that Police A's manager must never count."""
    police = make_org("police_a", "police", "Police A")
    vs = make_org("vs_b", "victim_services", "Victim Services B")
    council = make_org("council_c", "council", "Council C")
    pc = make_user(police, email="pc@a.example.org")
    other_pc = make_user(police, email="pc2@a.example.org")
    make_user(police, "manager", email="mgr@a.example.org")
    make_user(police, "lead", email="lead@a.example.org")
    make_user(vs, "manager", email="mgr@b.example.org")
    cc = make_user(council, email="asb@c.example.org")
    make_user(council, "manager", email="mgr@c.example.org")
    make_user(police, "auditor", email="auditor@a.example.org")
    make_user(police, "admin", email="admin@a.example.org")
    processes.deploy((DATA / "one_step.bpmn").read_text(), pc)

    a = make_case(pc, title="Burglary")
    b = make_case(pc, title="Assault", organisation_ids=[vs.id])
    asb = make_case(pc, "asb", title="Noise")
    closed = make_case(pc, title="Closed one")
    secret = make_case(other_pc, title="Restricted", restricted=True)
    theirs = make_case(cc, title="Council case")
    for case, day in ((a, "2025-01-10"), (b, "2025-03-05"), (asb, "2025-03-20"), (closed, "2025-01-02"),
                      (secret, "2025-01-03"), (theirs, "2025-01-04")):
        case.opened_at = _at(day)
    closed.status = CaseStatus.CLOSED

    now = utcnow()
    _item(a, pc, police, now - timedelta(days=1))
    _item(b, pc, vs, now + timedelta(days=3))
    _item(asb, pc, police, None)
    _item(secret, other_pc, police, now - timedelta(days=2))
    _item(theirs, cc, council, now - timedelta(days=5))

    _fact(a, "entitlement", "R1", "met", owner=police, due=_at("2025-01-12"), completed=_at("2025-01-11"))
    _fact(a, "entitlement", "R2", "met", owner=police, due=_at("2025-01-12"), completed=_at("2025-01-14"))
    _fact(a, "entitlement", "R3", "missed", owner=police, due=_at("2025-01-12"), completed=_at("2025-01-13"))
    _fact(a, "entitlement", "R4", "due", owner=police, due=now - timedelta(days=1), recorded=_at("2025-01-10"))
    _fact(a, "entitlement", "R10", "due", owner=police, due=now + timedelta(days=9), recorded=_at("2025-01-10"))
    _fact(a, "entitlement", "R5", "not_applicable", completed=_at("2025-01-10"))
    _fact(b, "entitlement", "R1", "met", owner=vs, completed=_at("2025-03-06"))      # no due time: on time
    _fact(a, "referral", "victim_services", "open", recorded=_at("2025-01-10"))
    _fact(b, "referral", "victim_services", "support_plan", completed=_at("2025-03-07"))
    _fact(a, "rj_outcome", "rj", "agreement_completed", completed=_at("2025-02-01"))
    _fact(b, "panel_action", "act-1", "open", owner=police, due=now - timedelta(days=1), recorded=_at("2025-03-08"))
    _fact(b, "panel_action", "act-2", "done", owner=vs, completed=_at("2025-03-09"))
    _fact(b, "panel_action", "act-3", "not_done", owner=police, completed=_at("2025-03-10"))
    for kind, code, status in (("entitlement", "R1", "missed"), ("referral", "victim_services", "declined"),
                               ("rj_outcome", "rj", "withdrawn"), ("panel_action", "act-9", "open")):
        _fact(theirs, kind, code, status, owner=council, completed=_at("2025-01-05"))
        _fact(secret, kind, code, status, owner=police, completed=_at("2025-01-05"))
    db.session.commit()
    return {"police": police.id, "vs": vs.id}


def _page(client, query: str = "", status: int = 200) -> lxml.html.HtmlElement:
    response = client.get(URL + query)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return lxml.html.fromstring(response.get_data(as_text=True))


def table(doc: lxml.html.HtmlElement, table_id: str) -> dict[str, list[int]]:
    """Rows of a dashboard table as {row heading: [numbers]}; {} when the panel says it is empty."""
    found = doc.get_element_by_id(f"table-{table_id}", None)
    if found is None:
        assert doc.xpath(f'//*[@data-empty="{table_id}"]'), f"panel {table_id} missing"
        return {}
    return {tr.xpath("./th")[0].text_content().strip(): [int(td.text_content()) for td in tr.xpath("./td")]
            for tr in found.xpath("./tbody/tr")}


def headline(doc: lxml.html.HtmlElement) -> dict[str, int]:
    return {el.get("data-headline"): int(el.text_content()) for el in doc.xpath("//*[@data-headline]")}


def test_manager_sees_the_numbers_for_visible_cases_only(client, login, world):
    """Are the counts right, and are another organisation's and restricted cases left out?"""
    login("mgr@a.example.org")
    doc = _page(client)
    assert table(doc, "open-by-type") == {"Victim support": [2], "Anti-social behaviour": [1]}
    assert table(doc, "open-by-agency") == {"Police A": [3]}
    assert table(doc, "work-by-agency") == {"Police A": [1, 0, 1, 2], "Victim Services B": [0, 1, 0, 1]}
    assert table(doc, "entitlements") == {"Met on time": [2], "Met late": [1], "Missed": [1], "Due": [1],
                                          "Due, overdue": [1], "Not applicable": [1],
                                          "Declined, no contact or deferred": [0]}
    assert table(doc, "entitlements-by-right") == {
        "R1": [2, 0, 0, 0, 0, 0, 0], "R2": [0, 1, 0, 0, 0, 0, 0], "R3": [0, 0, 1, 0, 0, 0, 0],
        "R4": [0, 0, 0, 0, 1, 0, 0], "R5": [0, 0, 0, 0, 0, 1, 0], "R10": [0, 0, 0, 1, 0, 0, 0]}
    assert list(table(doc, "entitlements-by-right")) == ["R1", "R2", "R3", "R4", "R5", "R10"]
    assert table(doc, "referrals") == {"Open": [1], "Support plan": [1]}
    assert table(doc, "rj-outcomes") == {"Agreement completed": [1]}
    assert table(doc, "panel-actions") == {"Police A": [1, 0, 1, 1], "Victim Services B": [0, 1, 0, 0]}
    assert headline(doc) == {"Open cases": 3, "Overdue work items": 1, "Entitlements met on time": 2,
                             "Entitlements missed": 1}
    text = lxml.html.tostring(doc, encoding="unicode")
    assert "Council" not in "".join(doc.xpath("//table//text()")) and "Restricted" not in text


def test_each_panel_has_an_accessible_chart_above_its_table(client, login, world):
    login("mgr@a.example.org")
    doc = _page(client)
    for panel in ("open-by-type", "open-by-agency", "work-by-agency", "entitlements", "referrals", "rj-outcomes",
                  "panel-actions"):
        svg = doc.xpath(f'//section[@id="panel-{panel}"]//*[local-name()="svg"]')
        assert len(svg) == 1, panel
        assert svg[0].get("role") == "img"
        title_id, desc_id = svg[0].get("aria-labelledby").split()
        assert doc.get_element_by_id(title_id).text_content() == \
            doc.xpath(f'//section[@id="panel-{panel}"]//h2')[0].text_content()
        assert doc.get_element_by_id(desc_id).text_content()
        assert doc.xpath(f'//section[@id="panel-{panel}"]//table/caption')
    desc = doc.get_element_by_id("chart-work-by-agency-desc").text_content()
    assert desc == "Police A: overdue 1, due 0, no due date 1; Victim Services B: overdue 0, due 1, no due date 0"
    bars = doc.xpath('//*[@data-chart="chart-open-by-type"]/*[local-name()="rect"]/*[local-name()="title"]')
    assert [b.text for b in bars] == ["Victim support · Open cases: 2", "Anti-social behaviour · Open cases: 1"]


def test_case_type_filter(client, login, world):
    login("mgr@a.example.org")
    doc = _page(client, "?case_type=asb")
    assert table(doc, "open-by-type") == {"Anti-social behaviour": [1]}
    assert table(doc, "work-by-agency") == {"Police A": [0, 0, 1, 1]}
    assert table(doc, "entitlements") == {} and table(doc, "panel-actions") == {}
    assert doc.xpath('//select[@name="case_type"]/option[@selected]')[0].get("value") == "asb"


def test_organisation_filter(client, login, world):
    """Victim Services B: cases it takes part in, work assigned to it, facts it owns or on its cases."""
    login("mgr@a.example.org")
    doc = _page(client, "?organisation=vs_b")
    assert table(doc, "open-by-type") == {"Victim support": [1]}
    assert table(doc, "open-by-agency") == {"Police A": [1]}
    assert table(doc, "work-by-agency") == {"Victim Services B": [0, 1, 0, 1]}
    assert table(doc, "entitlements-by-right") == {"R1": [1, 0, 0, 0, 0, 0, 0]}
    assert table(doc, "referrals") == {"Support plan": [1]}
    assert table(doc, "rj-outcomes") == {}
    assert table(doc, "panel-actions") == {"Victim Services B": [0, 1, 0, 0]}


def test_an_invisible_organisation_filter_shows_nothing_of_theirs(client, login, world):
    login("mgr@a.example.org")
    doc = _page(client, "?organisation=council_c")
    assert all(table(doc, t) == {} for t in ("open-by-type", "work-by-agency", "entitlements", "referrals",
                                            "rj-outcomes", "panel-actions"))
    assert set(headline(doc).values()) == {0}


def test_date_range_filters_cases_by_opening_and_facts_by_completion(client, login, world):
    login("mgr@a.example.org")
    doc = _page(client, "?from=2025-01-01&to=2025-01-31")
    assert table(doc, "open-by-type") == {"Victim support": [1]}           # case A only
    assert table(doc, "work-by-agency") == {"Police A": [1, 0, 0, 1]}
    # Rights that fell due in January (or, with no due time, were met or recorded then), as the 6-monthly
    # report counts them: R4 and R10 fall due now, not in January.
    assert table(doc, "entitlements") == {"Met on time": [1], "Met late": [1], "Missed": [1], "Due": [0],
                                          "Due, overdue": [0], "Not applicable": [1],
                                          "Declined, no contact or deferred": [0]}
    assert table(doc, "referrals") == {"Open": [1]}
    assert table(doc, "rj-outcomes") == {}                                    # completed 1 February
    uk = _page(client, "?from=01/03/2025&to=31/03/2025")
    assert table(uk, "open-by-type") == {"Victim support": [1], "Anti-social behaviour": [1]}
    assert table(uk, "panel-actions") == {"Police A": [1, 0, 1, 1], "Victim Services B": [0, 1, 0, 0]}
    assert uk.xpath('//input[@name="from"]')[0].get("value") == "2025-03-01"     # what a date input needs


def test_a_range_that_matches_nothing_gives_empty_panels(client, login, world):
    login("mgr@a.example.org")
    doc = _page(client, "?from=2020-01-01&to=2020-12-31")
    assert all(table(doc, t) == {} for t in ("open-by-type", "open-by-agency", "work-by-agency", "entitlements",
                                            "entitlements-by-right", "referrals", "rj-outcomes", "panel-actions"))
    assert not doc.xpath('//*[local-name()="svg"]')


@pytest.mark.parametrize("query, field, message", [
    ("?from=2025-13-45", "from", "'2025-13-45' is not a date: use YYYY-MM-DD"),
    ("?to=yesterday", "to", "'yesterday' is not a date"),
    ("?from=2025-02-01&to=2025-01-01", "to", "The 'to' date is before the 'from' date."),
    ("?organisation=nope", "organisation", "No organisation has the code 'nope'."),
    ("?case_type=%3Cscript%3E", "case_type", "No case type has the code '<script>'."),
])
def test_bad_filters_get_a_clear_message_not_a_500(client, login, world, query, field, message):
    login("mgr@a.example.org")
    response = client.get(URL + query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    doc = lxml.html.fromstring(html)
    error = doc.get_element_by_id(f"f-{field}-error").text_content()
    assert message in error
    assert doc.xpath(f'//*[@name="{field}"]')[0].get("aria-invalid") == "true"
    if field in ("from", "to"):                  # shown as typed, so the user can see what to correct
        box = doc.xpath(f'//input[@name="{field}"]')[0]
        assert box.get("type") == "text" and box.get("value") == query.split(f"{field}=")[1].split("&")[0]
    assert not doc.xpath('//*[@data-headline]') and not doc.xpath("//table")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "dashboard")).one()
    assert event.detail_dict["refused"] == [field]


@pytest.mark.parametrize("email", ["pc@a.example.org", "auditor@a.example.org", "admin@a.example.org"])
def test_other_roles_get_404(client, login, world, email):
    login(email)
    assert client.get(URL).status_code == 404
    assert client.get(URL + "?from=2025-01-01").status_code == 404
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "dashboard")).all()


def test_anonymous_goes_to_login_and_leads_may_look(client, login, world):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login("lead@a.example.org")
    doc = _page(client)
    assert table(doc, "open-by-agency") == {"Police A": [3]}
    nav = lxml.html.fromstring(client.get("/admin/").get_data(as_text=True))
    assert nav.xpath('//a[contains(@href, "/admin/dashboard/")]')
    login("pc@a.example.org")
    nav = lxml.html.fromstring(client.get("/admin/").get_data(as_text=True))
    assert not nav.xpath('//a[contains(@href, "/admin/dashboard/")]')


def test_another_manager_counts_their_own_cases(client, login, world):
    """Council C's manager sees the council case (and its overdue work), nothing of Police A's."""
    login("mgr@c.example.org")
    doc = _page(client)
    assert table(doc, "open-by-agency") == {"Council C": [1]}
    assert table(doc, "work-by-agency") == {"Council C": [1, 0, 0, 1]}
    assert table(doc, "entitlements") == {"Met on time": [0], "Met late": [0], "Missed": [1], "Due": [0],
                                          "Due, overdue": [0], "Not applicable": [0],
                                          "Declined, no contact or deferred": [0]}
    assert table(doc, "panel-actions") == {"Council C": [1, 0, 0, 0]}


def test_each_page_view_is_audited_once_with_its_filters(client, login, world):
    login("mgr@a.example.org")
    before = len(db.session.scalars(select(AuditEvent)).all())
    _page(client, "?from=2025-01-01&organisation=vs_b&case_type=victim_support")
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[before:]
    assert [(e.action, e.object_type, e.user_email) for e in events] == [("view", "dashboard", "mgr@a.example.org")]
    assert events[0].detail_dict == {"from": "2025-01-01", "organisation": "vs_b", "case_type": "victim_support"}
    _page(client)
    assert db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first().detail_dict == \
        {"filters": "none"}


def test_the_page_never_loads_workflow_state(client, login, world, monkeypatch):
    from workflows import engine

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard deserialized a workflow")

    monkeypatch.setattr(engine, "loads", refuse)
    monkeypatch.setattr(engine, "start", refuse)
    login("mgr@a.example.org")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        doc = _page(client)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert table(doc, "work-by-agency")["Police A"] == [1, 0, 1, 2]
    assert statements and not [s for s in statements if "workflow_instance" in s]   # not even the table


def test_build_is_scoped_for_any_caller(ctx, world):
    """The service itself refuses roles without the Dashboard and scopes the rest (not only the view)."""
    police = db.session.scalar(select(Organisation).where(Organisation.code == "police_a"))
    practitioner = db.session.scalar(select(User).where(User.email == "pc@a.example.org"))
    assert dashboard.build(practitioner, dashboard.Filters()).tables == []
    manager = db.session.scalar(select(User).where(User.email == "mgr@b.example.org"))
    result = dashboard.build(manager, dashboard.Filters(organisation=police))
    tables = {t.id: t for t in result.tables}
    # Victim Services B takes part in case B only; its work item is Victim Services B's, not Police A's.
    assert tables["open-by-agency"].rows == [("Police A", (1,))]
    assert tables["work-by-agency"].rows == []
    assert tables["panel-actions"].rows == [("Police A", (1, 0, 1, 1))]


def test_every_figure_links_to_the_cases_it_counts(client, login, world):
    """Each non-zero figure (headline and table cell) links to a list with exactly that many rows, all of them
    cases the manager may see; nonsense panels, rows and columns are 404 and the list is audited."""
    login("mgr@a.example.org")
    for query in ("", "?from=2025-01-01&to=2025-01-31"):
        doc = _page(client, query)
        links = doc.xpath('//*[@id="headline"]//a | //table[starts-with(@id, "table-")]//td/a')
        assert len(links) > 15
        for link in links:
            listed = lxml.html.fromstring(client.get(link.get("href")).get_data(as_text=True))
            rows = listed.xpath('//table[@id="drill-list"]/tbody/tr')
            assert len(rows) == int(link.text_content()), link.get("href")
            text = listed.text_content()
            assert "Restricted" not in text and "Council case" not in text
    doc = _page(client)
    overdue = doc.xpath('//*[@data-headline="Overdue work items"]/a')[0].get("href")
    listed = client.get(overdue).get_data(as_text=True)
    assert "Overdue work" in listed and "Restricted" not in listed
    for bad in ("panel=nothing", "panel=work-by-agency&column=9", "panel=open-by-agency&row=x",
                "panel=entitlements&row=nonsense"):
        assert client.get(f"{URL}cases/?{bad}").status_code == 404
    assert client.get(f"{URL}cases/?panel=open-by-type&from=31/02/2025").status_code == 400
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "dashboard_list")) is not None


def test_the_victims_code_figures_agree_with_the_six_monthly_report(client, login, world, tmp_path):
    """Same period, same cases: the dashboard's entitlements and the report's Victims' Code sheet count the same
    rights (the report folds met late, missed and overdue into one figure and leaves out not applicable)."""
    from openpyxl import load_workbook

    from reporting import exports
    from reporting.exports.filters import parse

    login("mgr@a.example.org")
    doc = _page(client, "?from=2025-01-01&to=2025-06-30")
    figures = {name: values[0] for name, values in table(doc, "entitlements").items()}
    manager = db.session.scalar(select(User).where(User.email == "mgr@a.example.org"))
    out = tmp_path / "report.xlsx"
    exports.run("performance_report", manager, parse({"from": "2025-01-01", "to": "2025-06-30"}), str(out))
    book = load_workbook(out, read_only=True)
    headlines = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=4, values_only=True) if len(row) > 1}
    assert headlines["Victims' Code rights due"] == sum(figures.values()) - figures["Not applicable"]
    assert headlines["Victims' Code rights missed or late"] == \
        figures["Met late"] + figures["Missed"] + figures["Due, overdue"]
