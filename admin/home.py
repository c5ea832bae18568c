"""The console's home screen: what needs the user's attention, by role."""
from __future__ import annotations

from flask_admin import AdminIndexView, expose
from flask_login import current_user
from sqlalchemy import func, select

import access
from admin.base import _deny
from models import AuditEvent, Case, Organisation, Person, User, db
from models.enums import CaseStatus, RiskLevel, Role


class HomeView(AdminIndexView):
    """Logged-in users only; anonymous visitors go to the login page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return _deny(name, **kwargs)

    @expose("/")
    def index(self):
        stats: dict[str, int] = {}
        recent: list[Case] = []
        if current_user.has_role(*access.CASEWORK):
            visible = access.clause(current_user, Case)
            stats["Open cases"] = db.session.scalar(
                select(func.count()).select_from(Case).where(visible, Case.status == CaseStatus.OPEN))
            stats["High risk, open"] = db.session.scalar(
                select(func.count()).select_from(Case).where(visible, Case.status == CaseStatus.OPEN,
                                                             Case.risk_level == RiskLevel.HIGH))
            stats["People you can see"] = db.session.scalar(
                select(func.count()).select_from(Person).where(access.clause(current_user, Person)))
            recent = db.session.scalars(select(Case).where(visible).order_by(Case.opened_at.desc())
                                        .limit(10)).all()
        if current_user.has_role(Role.ADMIN):
            stats["Organisations"] = db.session.scalar(select(func.count()).select_from(Organisation))
            stats["Users"] = db.session.scalar(select(func.count()).select_from(User))
        if current_user.has_role(Role.AUDITOR):
            stats["Audit events"] = db.session.scalar(select(func.count()).select_from(AuditEvent))
            stats["Cases (metadata)"] = db.session.scalar(select(func.count()).select_from(Case))
        return self.render("admin/index.html", stats=stats, recent=recent)
