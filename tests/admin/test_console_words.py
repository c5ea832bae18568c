"""Flask-Admin's own screens in the console's words: enum choices and filters as labels, pick-lists for
organisations and case types, error summaries on create/edit forms, a named action column."""
from __future__ import annotations

import json
import re

import lxml.html

from casework import cases
from models import Organisation, db
from models.enums import OrgType
from tests.factories import make_case, make_org, make_user


def _doc(client, url: str) -> lxml.html.HtmlElement:
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml.html.fromstring(response.get_data(as_text=True))


def _filters(client, url: str) -> dict:
    html = client.get(url).get_data(as_text=True)
    raw = re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)
    return json.loads(raw.replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'"))


def test_editing_an_organisation_keeps_its_type_and_shows_types_in_words(client, login, ctx):
    """The type select shows words and the organisation's own type selected: saving the form as shown must not
    turn a council into the first option (Flask-Admin coerced enums to their names, which matched nothing)."""
    admin_org = make_org("opcc", "other", "OPCC")
    make_user(admin_org, "admin", email="admin@opcc.example.org")
    council = make_org("council_x", "council", "Council X")
    login("admin@opcc.example.org")
    doc = _doc(client, f"/admin/organisations/edit/?id={council.id}")
    options = {o.get("value"): o.text_content() for o in doc.xpath('//select[@name="type"]/option')}
    assert options["rj_service"] == "Restorative justice service" and options["victim_services"] == "Victim services"
    selected = doc.xpath('//select[@name="type"]/option[@selected]/@value')
    assert selected == ["council"]
    form = {i.get("name"): i.get("value") or "" for i in doc.xpath("//form//input[@name]") if i.get("type") != "checkbox"}
    form.update(name="Council X (renamed)", type=selected[0], active="y")
    assert client.post(f"/admin/organisations/edit/?id={council.id}", data=form).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Organisation, council.id)
    assert (saved.name, saved.type) == ("Council X (renamed)", OrgType.COUNCIL)


def test_flask_admin_forms_summarise_their_errors(client, login, ctx):
    admin_org = make_org("opcc2", "other", "OPCC")
    make_user(admin_org, "admin", email="admin2@opcc.example.org")
    login("admin2@opcc.example.org")
    response = client.post("/admin/organisations/new/", data={"code": "", "name": "", "type": "police"})
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    (summary,) = doc.xpath('//*[@id="form-error-summary"]')
    assert "Nothing was saved" in summary.text_content()
    assert {a.get("href") for a in summary.xpath(".//a")} == {"#code", "#name"}
    assert db.session.query(Organisation).filter_by(name="").count() == 0
    listing = _doc(client, "/admin/organisations/")
    headers = [th.text_content().strip() for th in listing.xpath("//table//thead//th")]
    assert headers[0] == "Actions" and "" not in headers


def test_lists_filter_from_pick_lists(client, login, ctx):
    police = make_org("pol_w", "police", "Police W")
    other = make_org("vs_w", "victim_services", "Victims W")
    pc = make_user(police, email="pc@pol-w.example.org")
    vs = make_user(other, email="pc@vs-w.example.org")
    mine = make_case(pc, title="Led by police")
    theirs = make_case(vs, title="Led by victim services")
    cases.add_organisation(vs, theirs, police.id)   # the police see it too, led by victim services
    db.session.commit()
    login(pc.email)
    groups = _filters(client, "/admin/cases/")
    organisations = dict(groups["Lead organisation"][0]["options"])
    types = dict(groups["Case type"][0]["options"])
    assert organisations[str(police.id)] == "Police W" and "victim_support" in types
    assert "Risk level" in groups and "Risk Level" not in groups
    arg = groups["Lead organisation"][0]["arg"]
    page = client.get(f"/admin/cases/?flt0_{arg}={police.id}").get_data(as_text=True)
    assert mine.reference in page and theirs.reference not in page
    work = _filters(client, "/admin/my_work/")
    assert "Process" in work and "Case type" in work and "case / Case / Case Type Code" not in work


def test_id_filters_take_numbers_only(client, login, ctx):
    """An id filter with text or a number beyond the column's range is ignored, never a server error (PostgreSQL
    refuses to compare an integer column with text)."""
    org = make_org("opcc3", "other", "OPCC")
    make_user(org, "auditor", email="aud@opcc3.example.org")
    login("aud@opcc3.example.org")
    groups = _filters(client, "/admin/audit/")
    for name in ("Case id", "User id", "Organisation"):
        arg = groups[name][0]["arg"]
        for value in ("abc", "99999999999", "-1", str(org.id)):
            assert client.get(f"/admin/audit/?flt0_{arg}={value}").status_code == 200, (name, value)
