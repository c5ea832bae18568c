"""The managers' Dashboard: workload and performance counts with charts, filtered by GET parameters."""
from __future__ import annotations

from flask import abort, request
from flask_admin import Admin, expose
from flask_login import current_user

import access
from admin.base import SecureView
from casework import calendar, validate
from casework.errors import InvalidInput, NotFound
from models import audit, db, utcnow
from reporting import dashboard, drill, snapshots


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
                           organisations=organisations, case_types=case_types, lists=dashboard.HEADLINE_LISTS,
                           filter_args={k: v for k, v in raw.items() if v}), 400 if errors else 200

    @expose("/cases/")
    def cases(self):
        """The cases (work items, facts) behind one figure, under the same filters; live, a page at a time."""
        raw = {k: (request.args.get(k) or "").strip()[: dashboard.MAX_PARAM] for k in dashboard.FILTER_FIELDS}
        panel = (request.args.get("panel") or "")[:40]
        row = (request.args.get("row") or "")[:64]
        column = validate.whole_number(request.args.get("column") or "0", maximum=20)
        page = validate.whole_number(request.args.get("page") or "1", maximum=drill.MAX_PAGE) or 1
        try:
            filters = dashboard.parse_filters(raw)
            if column is None:
                raise NotFound("no such column on the dashboard")
            found, rows, more = drill.page_of(current_user, filters, panel, row, column, page, utcnow())
        except InvalidInput as exc:
            return self.render("dashboard/cases.html", errors=exc.fields, found=None, rows=[], raw=raw,
                               filter_args={}), 400
        except NotFound:
            abort(404)
        audit.record("view", user=current_user, object_type="dashboard_list",
                     detail={"panel": panel, "row": row, "column": column, "page": page, **filters.as_dict()})
        db.session.commit()
        args = {**{k: v for k, v in raw.items() if v}, "panel": panel, "row": row, "column": column}
        return self.render("dashboard/cases.html", errors={}, found=found, rows=rows, raw=raw, page=page,
                           filter_args={k: v for k, v in raw.items() if v},
                           more=more, args=args, content=bool(current_user.roles & access.CASEWORK),
                           start=(page - 1) * drill.PAGE)


def add_views(console: Admin) -> None:
    """Add the Dashboard to the console menu."""
    console.add_view(DashboardView(name="Dashboard", endpoint="dashboard"))
