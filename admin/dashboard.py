"""The managers' Dashboard: workload and performance counts with charts, filtered by GET parameters."""
from __future__ import annotations

from flask import request
from flask_admin import Admin, expose
from flask_login import current_user

import access
from admin.base import SecureView
from casework import calendar
from casework.errors import InvalidInput
from models import audit, db
from reporting import dashboard, snapshots


class DashboardView(SecureView):
    """Managers and leads; every figure is limited to what access.clause lets the user see."""

    area = access.Area.DASHBOARD

    @expose("/")
    def index(self):
        raw = {k: (request.args.get(k) or "").strip()[: dashboard.MAX_PARAM] for k in dashboard.FILTER_FIELDS}
        errors: dict[str, str] = {}
        data = None
        try:
            filters = dashboard.parse_filters(raw)
            data = snapshots.view(current_user, filters)
            detail = filters.as_dict()
            raw.update(detail)  # dates typed as DD/MM/YYYY come back as YYYY-MM-DD, which date inputs need
        except InvalidInput as exc:
            errors = exc.fields
            detail = {**{k: v for k, v in raw.items() if v}, "refused": sorted(errors)}
        audit.record("view", user=current_user, object_type="dashboard", detail=detail or {"filters": "none"})
        db.session.commit()
        organisations, case_types = dashboard.choices()
        as_of = data.as_of.astimezone(calendar.load().zone).strftime("%d/%m/%Y %H:%M") if data and data.as_of else ""
        return self.render("dashboard/index.html", data=data, raw=raw, errors=errors, as_of=as_of,
                           organisations=organisations, case_types=case_types), 400 if errors else 200


def add_views(console: Admin) -> None:
    """Add the Dashboard to the console menu."""
    console.add_view(DashboardView(name="Dashboard", endpoint="dashboard"))
