"""The access matrix: role x own / other / restricted / partner case, for list, view and edit."""
from __future__ import annotations

import pytest

from models import db
from tests.factories import make_case, make_org, make_person, make_user

ROLES = ["practitioner", "manager", "lead", "auditor", "admin"]


@pytest.fixture
def world(ctx):
    """Org A (police) and org B (council); cases owned by each, a restricted one, and a shared one."""
    a, b = make_org("org_a", "police"), make_org("org_b", "council")
    users = {role: make_user(a, role, email=f"{role}@a.example.org") for role in ROLES}
    author_a = make_user(a, "practitioner", email="author@a.example.org")
    author_b = make_user(b, "practitioner", email="author@b.example.org")
    p_a = make_person(author_a, "Own", "Person")
    p_b = make_person(author_b, "Other", "Person")
    p_shared = make_person(author_b, "Shared", "Person")
    cases = {
        "own": make_case(author_a, title="own case", participants=[(p_a.id, "victim")]),
        "other": make_case(author_b, title="other case", participants=[(p_b.id, "victim")]),
        "restricted": make_case(author_a, title="restricted case", restricted=True),
        "partner": make_case(author_b, title="partner case", organisation_ids=[a.id],
                             participants=[(p_shared.id, "witness")]),
    }
    ids = {k: c.id for k, c in cases.items()}
    people_ids = {"own": p_a.id, "other": p_b.id, "shared": p_shared.id}
    emails = {r: u.email for r, u in users.items()}
    db.session.remove()
    return {"users": emails, "cases": ids, "people": people_ids}


CASEWORK_EXPECT = {  # case -> (listed, view status, edit status)
    "own": (True, 200, 200),
    "other": (False, 404, 404),
    "restricted": (False, 404, 404),
    "partner": (True, 200, 403),
}


@pytest.mark.parametrize("role", ["practitioner", "manager", "lead"])
@pytest.mark.parametrize("which", list(CASEWORK_EXPECT))
def test_casework_roles(client, login, world, role, which):
    """Do practitioners, managers and leads see exactly their organisation's cases?"""
    login(world["users"][role])
    listed, view, edit = CASEWORK_EXPECT[which]
    case_id = world["cases"][which]
    page = client.get("/admin/cases/").get_data(as_text=True)
    assert (f"{which} case" in page) is listed
    assert client.get(f"/admin/cases/details/?id={case_id}").status_code == view
    assert client.get(f"/admin/cases/edit/?id={case_id}").status_code == edit
    before = client.get(f"/admin/cases/details/?id={case_id}")
    posted = client.post(f"/admin/cases/{case_id}/notes/", data={"note-body": "hello"})
    assert posted.status_code == (302 if view == 200 else 404)
    assert before.status_code == view


@pytest.mark.parametrize("which", list(CASEWORK_EXPECT))
def test_auditor_sees_metadata_only(client, login, world, which):
    """Can an auditor read every case's metadata but never its content or edit it?"""
    login(world["users"]["auditor"])
    case_id = world["cases"][which]
    assert client.get("/admin/cases/").status_code == 404
    register = client.get("/admin/case_register/").get_data(as_text=True)
    assert f"{which} case" not in register  # titles are content
    meta = client.get(f"/admin/case_register/details/?id={case_id}")
    assert meta.status_code == 200
    assert f"{which} case" not in meta.get_data(as_text=True)
    assert client.get(f"/admin/cases/details/?id={case_id}").status_code == 404
    assert client.get(f"/admin/cases/edit/?id={case_id}").status_code == 404
    assert client.post(f"/admin/cases/{case_id}/notes/", data={"note-body": "x"}).status_code == 404


@pytest.mark.parametrize("which", list(CASEWORK_EXPECT))
def test_admin_sees_no_case_content(client, login, world, which):
    """Does an administrator manage the directory without seeing cases or people?"""
    login(world["users"]["admin"])
    case_id = world["cases"][which]
    assert client.get("/admin/cases/").status_code == 404
    assert client.get("/admin/case_register/").status_code == 404
    assert client.get(f"/admin/cases/details/?id={case_id}").status_code == 404
    assert client.get(f"/admin/cases/edit/?id={case_id}").status_code == 404
    assert client.get("/admin/people/").status_code == 404
    assert client.get("/admin/users/").status_code == 200
    assert client.get("/admin/organisations/new/").status_code == 200


PEOPLE_EXPECT = {"own": (200, 200), "other": (404, 404), "shared": (200, 403)}


@pytest.mark.parametrize("role", ["practitioner", "manager", "lead"])
@pytest.mark.parametrize("which", list(PEOPLE_EXPECT))
def test_people_visibility(client, login, world, role, which):
    """Is a person visible to the registering organisation and to whoever sees a case they are on?"""
    login(world["users"][role])
    view, edit = PEOPLE_EXPECT[which]
    pid = world["people"][which]
    assert client.get(f"/admin/people/details/?id={pid}").status_code == view
    assert client.get(f"/admin/people/edit/?id={pid}").status_code == edit
    listing = client.get("/admin/people/?search=Person").get_data(as_text=True)   # everyone is "… Person"
    assert ({"own": "Own", "other": "Other", "shared": "Shared"}[which] in listing) is (view == 200)


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_people_hidden_from_auditor_and_admin(client, login, world, role):
    login(world["users"][role])
    assert client.get("/admin/people/").status_code == 404
    assert client.get(f"/admin/people/details/?id={world['people']['own']}").status_code == 404


@pytest.mark.parametrize("role", ["practitioner", "manager", "lead", "admin"])
def test_audit_log_only_for_auditors(client, login, world, role):
    login(world["users"][role])
    assert client.get("/admin/audit/").status_code == 404


def test_named_user_sees_restricted_case(client, login, world, ctx):
    """Does naming a user on a restricted case (and only that) open it to them?"""
    from casework import cases
    from models import Case, User

    case = db.session.get(Case, world["cases"]["restricted"])
    owner = db.session.get(User, case.opened_by_id)
    cases.add_member(owner, case, world["users"]["manager"])
    db.session.commit()
    login(world["users"]["manager"])
    assert client.get(f"/admin/cases/details/?id={case.id}").status_code == 200
    login(world["users"]["practitioner"])
    assert client.get(f"/admin/cases/details/?id={case.id}").status_code == 404


def test_anonymous_is_sent_to_login(client, world):
    for url in ("/", "/admin/", "/admin/cases/", f"/admin/cases/details/?id={world['cases']['own']}",
                "/admin/audit/", "/admin/users/"):
        response = client.get(url, follow_redirects=True)
        assert response.request.path == "/login", url


def test_garbage_ids_are_404(client, login, world):
    login(world["users"]["practitioner"])
    for url in ("/admin/cases/details/?id=abc", "/admin/cases/details/", "/admin/cases/details/?id=999999",
                "/admin/people/details/?id=-1"):
        assert client.get(url).status_code == 404, url
