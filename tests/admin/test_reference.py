"""Administrators manage organisations, users and reference data in the console; all audited."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, CaseType, Organisation, RoleGrant, User, db
from tests.factories import make_org, make_user


@pytest.fixture
def admin_user(ctx):
    return make_user(make_org("opcc", "other"), "admin", email="admin@opcc.example.org")


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_admin_creates_organisation(client, login, admin_user):
    login(admin_user.email)
    response = client.post("/admin/organisations/new/", data={"code": "notts_fire", "name": "Fire",
                                                             "type": "fire", "active": "y"})
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.code == "notts_fire"))
    assert org.type.value == "fire"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "organisation",
                                                       AuditEvent.object_id == str(org.id),
                                                       AuditEvent.user_id == admin_user.id))
    assert event.action == "create" and "code" in event.detail_dict["changed"]


def test_duplicate_organisation_code_is_refused(client, login, admin_user):
    login(admin_user.email)
    before = _count(Organisation)
    response = client.post("/admin/organisations/new/", data={"code": "opcc", "name": "Again", "type": "other"})
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True).lower()
    assert _count(Organisation) == before


def test_admin_creates_user_whose_roles_a_second_admin_approves(client, login, admin_user):
    second = make_user(admin_user.organisation, "admin", email="second@opcc.example.org")
    login(admin_user.email)
    response = client.post("/admin/users/new/", data={
        "email": "New@Example.org", "name": "New Person", "organisation": str(admin_user.organisation_id),
        "active": "y", "role_codes": ["practitioner", "manager"], "new_password": "a-long-enough-password"})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert "waits for another admin" in client.get("/admin/users/").get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert user.roles == set() and user.password_hash and "a-long" not in user.password_hash
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == user.id))
    # The admin who asked cannot approve it.
    client.post("/admin/role_requests/action/", data={"action": "approve", "rowid": [str(grant.id)]})
    db.session.expire_all()
    assert db.session.get(RoleGrant, grant.id).status == "pending" and user.roles == set()
    login(second.email)
    assert "new@example.org" in client.get("/admin/role_requests/").get_data(as_text=True)
    client.post("/admin/role_requests/action/", data={"action": "approve", "rowid": [str(grant.id)]})
    db.session.expire_all()
    assert {r.value for r in db.session.get(User, user.id).roles} == {"practitioner", "manager"}
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "request_roles" in actions and "approve_roles" in actions


def test_an_admin_cannot_give_themselves_casework_roles(client, login, admin_user):
    second = make_user(admin_user.organisation, "admin", email="second@opcc.example.org")
    login(admin_user.email)
    form = {"email": admin_user.email, "name": "Admin", "organisation": str(admin_user.organisation_id),
            "active": "y", "role_codes": ["admin", "practitioner"]}
    assert client.post(f"/admin/users/edit/?id={admin_user.id}", data=form).status_code == 302
    db.session.expire_all()
    assert {r.value for r in db.session.get(User, admin_user.id).roles} == {"admin"}
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.status == "pending"))
    login(second.email)
    client.post("/admin/role_requests/action/", data={"action": "refuse", "rowid": [str(grant.id)]})
    db.session.expire_all()
    assert db.session.get(RoleGrant, grant.id).status == "refused"
    assert {r.value for r in db.session.get(User, admin_user.id).roles} == {"admin"}
    # Removing a role needs nobody else (least privilege).
    form["role_codes"] = ["practitioner"]
    pc = make_user(admin_user.organisation, "practitioner", "manager", email="pc@opcc.example.org")
    form.update(email=pc.email, name="PC")
    assert client.post(f"/admin/users/edit/?id={pc.id}", data=form).status_code == 302
    db.session.expire_all()
    assert {r.value for r in db.session.get(User, pc.id).roles} == {"practitioner"}


@pytest.mark.parametrize("change, message", [({"role_codes": []}, "at least one role"),
                                             ({"email": "admin@opcc.example.org"}, "already exists"),
                                             ({"role_codes": ["emperor"]}, "Not a valid choice"),
                                             ({"email": "bad"}, "not a valid e-mail")])
def test_bad_user_input(client, login, admin_user, change, message):
    login(admin_user.email)
    before = _count(User)
    data = {"email": "x@example.org", "name": "X", "organisation": str(admin_user.organisation_id),
            "role_codes": ["practitioner"], "new_password": "a-long-enough-password", **change}
    response = client.post("/admin/users/new/", data=data)
    assert message.lower() in response.get_data(as_text=True).lower()
    assert _count(User) == before


def test_case_types_are_editable_reference_data(client, login, admin_user):
    login(admin_user.email)
    ct = db.session.get(CaseType, "asb")
    response = client.post("/admin/case_types/edit/?id=asb", data={"code": "asb", "name": "ASB (renamed)",
                                                                   "active": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CaseType, "asb").name == "ASB (renamed)"
    assert ct is not None


def test_nobody_can_delete_organisations_or_users(client, login, admin_user):
    login(admin_user.email)
    before = (_count(Organisation), _count(User))
    client.post("/admin/organisations/delete/", data={"id": str(admin_user.organisation_id)})
    client.post("/admin/users/delete/", data={"id": str(admin_user.id)})
    assert (_count(Organisation), _count(User)) == before


def test_practitioner_reads_directory_but_cannot_change_it(client, login, ctx):
    org = make_org("police_x", "police", "Police X")
    pc = make_user(org, email="pc@x.example.org")
    login(pc.email)
    assert "Police X" in client.get("/admin/organisations/").get_data(as_text=True)
    assert client.post("/admin/organisations/new/", data={"code": "zz", "name": "Z", "type": "fire"}).status_code == 302
    assert _count(Organisation) == 1
    assert client.get("/admin/users/").status_code == 404
    assert client.get("/admin/case_types/").status_code == 404


def test_admin_manages_areas_services_and_who_provides_them(client, login, admin_user):
    from models import Area, Service, ServiceProvision

    panel = make_org("mansfield_vpp", "panel", "Mansfield VPP")
    login(admin_user.email)
    assert client.post("/admin/areas/new/", data={"code": "mansfield", "name": "Mansfield", "active": "y"}) \
        .status_code == 302
    assert client.post("/admin/services/new/", data={"code": "vpp", "name": "Vulnerable persons panel",
                                                     "active": "y"}).status_code == 302
    again = client.post("/admin/areas/new/", data={"code": "mansfield", "name": "Twice", "active": "y"})
    assert again.status_code == 200 and "Already exists" in again.get_data(as_text=True)
    assert client.post("/admin/provision/new/", data={"service": "vpp", "organisation": str(panel.id),
                                                      "area": "mansfield"}).status_code == 302
    everywhere = client.post("/admin/provision/new/", data={"service": "vpp", "organisation": str(panel.id)})
    assert everywhere.status_code == 302
    duplicate = client.post("/admin/provision/new/", data={"service": "vpp", "organisation": str(panel.id)})
    assert duplicate.status_code == 200 and "already provides" in duplicate.get_data(as_text=True)
    assert (_count(Area), _count(Service), _count(ServiceProvision)) == (1, 1, 2)
    listing = client.get("/admin/provision/").get_data(as_text=True)
    assert "Every area" in listing and "Mansfield VPP" in listing
    assert {e.object_type for e in db.session.scalars(select(AuditEvent).where(AuditEvent.user_id == admin_user.id))} \
        >= {"area", "service", "service_provision"}


def test_practitioners_cannot_change_routing_reference_data(client, login, ctx):
    user = make_user(make_org("notts_police", "police"), "practitioner")
    login(user.email)
    assert client.get("/admin/areas/").status_code == 404  # invisible, as every screen a role may not open
    assert client.post("/admin/provision/new/", data={"service": "vpp"}).status_code == 404


def test_an_admin_invites_a_user_who_sets_their_own_password(client, login, admin_user, smtp, app):
    """With mail configured, a new user is invited by e-mail (a real SMTP server in the test): the link sets the
    password once, and is refused afterwards; without mail, an initial password is needed."""
    import re

    from casework import mail

    login(admin_user.email)
    response = client.post("/admin/users/new/", data={
        "email": "invited@example.org", "name": "Invited Person", "organisation": str(admin_user.organisation_id),
        "active": "y", "role_codes": ["practitioner"], "new_password": ""}, follow_redirects=True)
    assert "is invited" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "invited@example.org"))
    mail.send_due()
    (message,) = smtp.to("invited@example.org")
    link = re.search(r"https://casebook\.example\.org(/set-password/\S+)", message.get_content()).group(1)
    client.post("/logout")
    form = client.get(link)
    assert form.status_code == 200 and "invited@example.org" in form.get_data(as_text=True)
    weak = client.post(link, data={"password": "password1234", "again": "password1234"})
    assert weak.status_code == 400 and "too easy to guess" in weak.get_data(as_text=True)
    differ = client.post(link, data={"password": "correct horse battery staple", "again": "other"})
    assert "not the same" in differ.get_data(as_text=True)
    done = client.post(link, data={"password": "tangerine orbit wardrobe lantern", "again":
                                   "tangerine orbit wardrobe lantern"})
    assert done.status_code == 302
    assert client.get(link).status_code == 410   # works once
    signed_in = client.post("/login", data={"email": "invited@example.org",
                                            "password": "tangerine orbit wardrobe lantern"})
    assert signed_in.status_code == 302   # on to the second factor's enrolment
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash
    assert client.get("/set-password/not-a-token").status_code == 410


def test_without_mail_a_new_user_needs_an_initial_password(client, login, admin_user):
    login(admin_user.email)
    before = _count(User)
    response = client.post("/admin/users/new/", data={
        "email": "nomail@example.org", "name": "No Mail", "organisation": str(admin_user.organisation_id),
        "active": "y", "role_codes": ["practitioner"], "new_password": ""})
    assert "an initial password is required" in response.get_data(as_text=True)
    assert _count(User) == before
