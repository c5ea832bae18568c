"""The Flask-Admin console: every screen, in menu order, added in one place."""
from __future__ import annotations

import secrets

from flask import Flask, g, request
from flask_login import current_user
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from admin import account, auth, dashboard, documents, imports, meetings, notifications, reports, retention, share_requests
from admin.retention import RetentionRuleView
from admin.cases import CaseRegisterView, CaseView
from admin.designer import DesignerView
from admin.home import HomeView
from admin.people import PersonView
from admin.processes import ProcessesView
from admin.letters import LetterTemplatesView
from admin.reference import (AgreementView, ApiTokenView, RoleGrantView, AreaView, AuditView, CaseTypeProcessView, CaseTypeView,
                             CodeEntitlementView, MeetingTypeView, OrganisationView,
                             ServiceProvisionView, ServiceView, SettingView, UserView)
from admin.work import MyWorkView, TeamWorkView, counts_for_menu, forget_menu_counts
from models import (ApiToken, Area, AuditEvent, RetentionRule, RoleGrant, Case, CaseType, CaseTypeProcess, CodeEntitlement, MeetingType,
                    InformationSharingAgreement, Organisation,
                    Person, Service, ServiceProvision, Setting, User, WorkItem, db)


def csp_nonce() -> str:
    """This request's nonce for inline scripts (Flask-Admin's templates and the CSP header share it)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_app(app: Flask) -> None:
    """Build a fresh Admin for this app (views are bound to one Admin instance)."""

    @app.before_request
    def _changes_recount() -> None:
        # A change by the user (a claim, a completion, a new case) may change their work counts.
        if request.method not in ("GET", "HEAD") and current_user.is_authenticated:
            forget_menu_counts(current_user.id)

    console = Admin(name="Casebook", url="/admin", theme=Bootstrap4Theme(swatch="default", fluid=True),
                    csp_nonce_generator=csp_nonce,
                    index_view=HomeView(name="Home", url="/admin", menu_icon_type="fa",
                                        menu_icon_value="fa-home"))
    my_work = MyWorkView(WorkItem, db, name="My work", endpoint="my_work")
    team_work = TeamWorkView(WorkItem, db, name="Team work", endpoint="team_work")
    console.add_view(my_work)
    console.add_view(team_work)
    console.add_view(CaseView(Case, db, name="Cases", endpoint="cases"))
    console.add_view(PersonView(Person, db, name="People", endpoint="people"))
    console.add_view(CaseRegisterView(Case, db, name="Case register", endpoint="case_register"))
    console.add_view(OrganisationView(Organisation, db, name="Organisations", endpoint="organisations"))
    console.add_view(UserView(User, db, name="Users", endpoint="users"))
    console.add_view(RoleGrantView(RoleGrant, db, name="Role requests", endpoint="role_requests"))
    console.add_view(ApiTokenView(ApiToken, db, name="API tokens", endpoint="api_tokens"))
    console.add_view(CaseTypeView(CaseType, db, name="Case types", endpoint="case_types",
                                  category="Reference data"))
    console.add_view(AreaView(Area, db, name="Areas", endpoint="areas", category="Reference data"))
    console.add_view(ServiceView(Service, db, name="Services", endpoint="services", category="Reference data"))
    console.add_view(ServiceProvisionView(ServiceProvision, db, name="Who provides what where", endpoint="provision",
                                          category="Reference data"))
    console.add_view(SettingView(Setting, db, name="Settings", endpoint="settings", category="Reference data"))
    console.add_view(AgreementView(InformationSharingAgreement, db, name="Information-sharing agreements",
                                   endpoint="agreements", category="Reference data"))
    console.add_view(ProcessesView(name="Processes", endpoint="processes"))
    console.add_view(DesignerView(name="Designer", endpoint="designer"))
    console.add_view(LetterTemplatesView(name="Letter templates", endpoint="letter_templates"))
    console.add_view(RetentionRuleView(RetentionRule, db, name="Retention rules", endpoint="retention_rules",
                                       category="Reference data"))
    console.add_view(CaseTypeProcessView(CaseTypeProcess, db, name="Processes by case type",
                                         endpoint="case_type_processes", category="Reference data"))
    console.add_view(CodeEntitlementView(CodeEntitlement, db, name="Victims' Code entitlements",
                                         endpoint="code_entitlements", category="Reference data"))
    console.add_view(MeetingTypeView(MeetingType, db, name="Meeting types", endpoint="meeting_types",
                                     category="Reference data"))
    console.add_view(AuditView(AuditEvent, db, name="Audit", endpoint="audit"))
    dashboard.add_views(console)
    reports.add_views(console)
    imports.add_views(console)
    notifications.add_views(console, app)
    account.add_views(console)
    retention.add_views(console)
    share_requests.add_views(console)
    meetings.add_views(console)
    documents.add_views(console)
    counts_for_menu([my_work, team_work])
    console.init_app(app)
    auth.init_app(app)
