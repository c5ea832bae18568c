"""The Flask-Admin console: every screen, in menu order, added in one place."""
from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from admin import auth
from admin.cases import CaseRegisterView, CaseView
from admin.home import HomeView
from admin.people import PersonView
from admin.reference import AgreementView, AuditView, CaseTypeView, OrganisationView, UserView
from models import AuditEvent, Case, CaseType, InformationSharingAgreement, Organisation, Person, User, db


def init_app(app: Flask) -> None:
    """Build a fresh Admin for this app (views are bound to one Admin instance)."""
    console = Admin(name="Casebook", url="/admin", theme=Bootstrap4Theme(swatch="default", fluid=True),
                    index_view=HomeView(name="Home", url="/admin", menu_icon_type="fa",
                                        menu_icon_value="fa-home"))
    console.add_view(CaseView(Case, db, name="Cases", endpoint="cases"))
    console.add_view(PersonView(Person, db, name="People", endpoint="people"))
    console.add_view(CaseRegisterView(Case, db, name="Case register", endpoint="case_register"))
    console.add_view(OrganisationView(Organisation, db, name="Organisations", endpoint="organisations"))
    console.add_view(UserView(User, db, name="Users", endpoint="users"))
    console.add_view(CaseTypeView(CaseType, db, name="Case types", endpoint="case_types",
                                  category="Reference data"))
    console.add_view(AgreementView(InformationSharingAgreement, db, name="Information-sharing agreements",
                                   endpoint="agreements", category="Reference data"))
    console.add_view(AuditView(AuditEvent, db, name="Audit", endpoint="audit"))
    console.init_app(app)
    auth.init_app(app)
