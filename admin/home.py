"""The console's home screen: what needs the user's attention, by role."""
from __future__ import annotations

from flask_admin import AdminIndexView, expose
from flask_login import current_user
from sqlalchemy import func, select

import access
from admin.base import _deny, count_upto
from models import AuditHead, Case, Organisation, Person, User, db
from models.enums import CaseStatus, RiskLevel, Role


HOME_CAP = 100


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
            # Counted up to a cap ("100+"): the home page costs what it shows, however many cases there are
            # (the Dashboard has the organisation's full figures).
            visible = access.clause(current_user, Case)
            open_cases = select(Case.id).where(visible, Case.status == CaseStatus.OPEN)
            stats["Open cases"] = count_upto(open_cases, HOME_CAP)
            stats["High risk, open"] = count_upto(open_cases.where(Case.risk_level == RiskLevel.HIGH), HOME_CAP)
            stats["People your organisation registered"] = count_upto(
                select(Person.id).where(Person.registered_by_org_id == current_user.organisation_id), HOME_CAP)
            recent = db.session.scalars(select(Case).where(visible).order_by(Case.opened_at.desc(), Case.id.desc())
                                        .limit(10)).all()
        if current_user.has_role(Role.ADMIN):
            stats["Organisations"] = db.session.scalar(select(func.count()).select_from(Organisation))
            stats["Users"] = db.session.scalar(select(func.count()).select_from(User))
        if current_user.has_role(Role.AUDITOR):
            stats["Audit events"] = db.session.scalar(select(AuditHead.count))   # kept by every append
            stats["Cases (metadata)"] = count_upto(select(Case.id))
        return self.render("admin/index.html", stats=stats, recent=recent)
