"""Administration screens: organisations, users, case types, areas, services and who provides them,
information-sharing agreements; and audit."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, g, redirect, request, url_for
from markupsafe import Markup
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user
from sqlalchemy import func, inspect, select
from wtforms import PasswordField, SelectMultipleField
from wtforms.validators import Length, Optional, ValidationError

import access
from admin.base import ORGANISATIONS, IdEquals, LazyOptions, ScopedModelView
from admin.forms import TypedDateField, opts
from casework import agreements, calendar, directory, invites, mfa, sessions, sso, tokens, validate
from casework.errors import Conflict, InvalidInput, NotPermitted
from models import (ApiToken, AuditEvent, AuditVerification, Case, CaseTypeProcess, InformationSharingAgreement, Organisation, RoleGrant, Service,
                    ServiceProvision, User, audit, db)
from models.enums import Role, choices, label


def _enum(view, context, model, name) -> str:
    return label(getattr(model, name).value)


def _clean_code_and_name(model) -> None:
    """Reference rows: a valid code and a name within limits, or a message on the form."""
    try:
        model.code = validate.code(model.code)
        model.name = validate.text(model.name, "name", 120)
    except InvalidInput as exc:
        raise ValidationError(str(exc)) from None


class OrganisationView(ScopedModelView):
    area = access.Area.ORGANISATIONS
    audit_type = "organisation"
    column_list = ("code", "name", "type", "area", "mailbox", "active")
    column_labels = {"mailbox": "Shared mailbox"}
    column_searchable_list = ("code", "name")
    column_filters = ("type", "active")
    column_default_sort = ("name", False)
    column_formatters = {"type": _enum}
    form_columns = ("code", "name", "type", "area", "mailbox", "active", "sso_issuer", "sso_client_id",
                    "new_sso_secret", "sso_email_claim")
    form_args = {"code": {"description": "Lowercase letters, digits, _ and - (e.g. notts_police)."},
                 "mailbox": {"label": "Shared mailbox",
                             "description": "A team address that also gets the organisation's notifications by "
                                            "e-mail (optional)."},
                 "sso_issuer": {"label": "Single sign-on: issuer",
                                "description": "The organisation's OpenID Connect provider (its issuer URL, e.g. "
                                               "https://login.microsoftonline.com/<tenant>/v2.0). Empty: password "
                                               "and authenticator app. Register "
                                               "<console>/login/sso/<code>/callback there as the redirect URI."},
                 "sso_client_id": {"label": "Single sign-on: client id"},
                 "sso_email_claim": {"label": "Single sign-on: e-mail claim",
                                     "description": "The claim that carries the user's e-mail (default email; "
                                                    "some providers use upn or preferred_username)."}}
    form_extra_fields = {
        "new_sso_secret": PasswordField("Single sign-on: client secret", validators=[Optional(), Length(max=255)],
                                        description="Leave blank to keep the current secret (never shown)."),
    }

    def on_model_change(self, form, model, is_created: bool) -> None:
        _clean_code_and_name(model)
        try:
            model.mailbox = validate.email(model.mailbox, "mailbox") if model.mailbox else None
            model.sso_issuer = sso.check_issuer(model.sso_issuer) if (model.sso_issuer or "").strip() else None
            model.sso_client_id = validate.text(model.sso_client_id, "sso_client_id", 255, required=False)
            model.sso_email_claim = validate.text(model.sso_email_claim, "sso_email_claim", 64, required=False)
            if form.new_sso_secret.data:
                model.sso_client_secret = form.new_sso_secret.data
            if model.sso_issuer and not model.sso_client_id:
                raise InvalidInput({"sso_client_id": "is required with an issuer"})
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None
        with db.session.no_autoflush:  # the new row is already in the session; don't find it
            duplicate = db.session.scalar(select(type(model).id).where(type(model).code == model.code,
                                                                       type(model).id != (model.id or 0)))
        if duplicate:
            raise ValidationError(f"code: an organisation with code {model.code!r} already exists")
        super().on_model_change(form, model, is_created)


class UserView(ScopedModelView):
    area = access.Area.USERS
    audit_type = "user"
    column_list = ("email", "name", "organisation", "role_rows", "active", "mfa_enrolled_at", "last_login_at",
                   "locked_until")
    column_labels = {"role_rows": "Roles", "last_login_at": "Last login", "locked_until": "Locked until",
                     "mfa_enrolled_at": "Second factor"}
    column_formatters = {"role_rows": lambda v, c, m, n: ", ".join(sorted(label(r.role.value) for r in m.role_rows)),
                         "mfa_enrolled_at": lambda v, c, m, n: _factor(m)}
    column_searchable_list = ("email", "name")
    column_filters = ("active", IdEquals(User.organisation_id, "Organisation", options=ORGANISATIONS))
    column_default_sort = ("email", False)
    form_columns = ("email", "name", "organisation", "role_codes", "active", "new_password")
    form_extra_fields = {
        "role_codes": SelectMultipleField("Roles", choices=opts(choices(Role))),
        "new_password": PasswordField("New password", validators=[Optional(), Length(min=12, max=1024)],
                                      description="Leave blank to keep the current password, or for a new user "
                                                  "to invite them by e-mail to set their own (when mail is "
                                                  "configured)."),
    }

    def on_form_prefill(self, form, id) -> None:
        form.role_codes.data = sorted(r.value for r in self.get_one(id).roles)

    def on_model_change(self, form, model, is_created: bool) -> None:
        try:
            model.email = validate.email(model.email)
            model.name = validate.text(model.name, "name", 120)
            if not form.role_codes.data:
                raise InvalidInput({"role_codes": "at least one role is required"})
            if is_created and not form.new_password.data and not invites.mail_enabled():
                raise InvalidInput({"new_password": "an initial password is required (with a mail server "
                                                    "configured, leave it blank to invite them by e-mail)"})
            if form.new_password.data:
                directory.check_password_strength(form.new_password.data, (model.email, model.name))
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None
        with db.session.no_autoflush:
            clash = db.session.scalar(select(User.id).where(func.lower(User.email) == model.email,
                                                            User.id != (model.id or 0)))
        if clash:
            raise ValidationError(f"email: a user with e-mail {model.email!r} already exists")
        wanted = {Role(r) for r in form.role_codes.data}
        deactivated = not is_created and inspect(model).attrs.active.history.deleted == [True] and not model.active
        if model.id == current_user.id and deactivated:
            raise ValidationError("active: another admin must deactivate your own account")
        if form.new_password.data:
            model.password_hash = directory.hash_password(form.new_password.data)
            model.failed_logins, model.locked_until = 0, None
        elif is_created:   # invited: nobody knows a password until they set one from the e-mail
            model.password_hash = invites.unusable_password()
        super().on_model_change(form, model, is_created)
        # New roles wait for a second admin (Users → Role requests); removals apply now.
        grant = directory.request_roles(model, wanted, current_user)
        if grant is not None:
            flash(f"Adding roles to {model.email} ({grant.roles.replace(',', ', ')}) waits for another admin's "
                  "approval under Role requests.", "info")
        # A leaver, or a password reset (perhaps because it leaked): whatever signed in as them stops now.
        reason = "account deactivated" if deactivated else "password reset" if form.new_password.data else None
        if reason and not is_created:
            sessions.end_all(model, current_user, reason)
            tokens.revoke_all(model, current_user, reason)

    def after_model_change(self, form, model, is_created: bool) -> None:
        super().after_model_change(form, model, is_created)
        if is_created and not form.new_password.data:
            invites.invite(model, current_user)
            db.session.commit()
            flash(f"{model.email} is invited: they get an e-mail to set their password (it works once, for "
                  f"{current_app.config['INVITE_LINK_HOURS']} hours).", "success")

    @action("invite", "Send a set-your-password link", "E-mail the selected users a link to set a new password? "
            "Their current password stops working when they set one.")
    def send_invitations(self, ids: list[str]) -> None:
        """Invite again (a link that expired) or let someone who forgot their password set a new one."""
        if not invites.mail_enabled():
            flash("No mail server is configured: set a password for them instead.", "error")
            return
        users = [u for u in self._selected(ids) if u.active]
        for user in users:
            invites.invite(user, current_user)
        db.session.commit()
        flash(f"Sent a set-your-password link to {len(users)} user(s).", "success")

    @action("end_sessions", "End all sessions", "End every session of the selected users? They will have to log in "
            "again.")
    def end_sessions(self, ids: list[str]) -> None:
        """An admin signs the selected users out everywhere (a lost laptop, a suspected compromise)."""
        users = self._selected(ids)
        ended = sum(sessions.end_all(u, current_user, "ended by an admin") for u in users)
        db.session.commit()
        flash(f"Ended {ended} session(s) of {len(users)} user(s).", "success")

    @action("reset_mfa", "Reset second factor", "Reset the second factor of the selected users? They will set up an "
            "authenticator app again at their next login, and are signed out now.")
    def reset_mfa(self, ids: list[str]) -> None:
        """A lost or replaced phone: the user enrols again at the next login."""
        users = self._selected(ids)
        for user in users:
            mfa.reset(user, current_user)
        db.session.commit()
        flash(f"Reset the second factor of {len(users)} user(s); they set it up again at their next login.",
              "success")

    def _selected(self, ids: list[str]) -> list[User]:
        wanted = [n for n in map(validate.whole_number, ids) if n is not None]
        return list(self.get_query().filter(User.id.in_(wanted)))


class RoleGrantView(ScopedModelView):
    """Roles an admin asked to add: a second admin approves or refuses (never the one who asked, nor the person
    they are for)."""

    area = access.Area.USERS
    audit_type = "role_grant"
    read_only = True
    column_list = ("user.email", "roles", "requested_by.email", "requested_at", "status", "decided_by.email",
                   "decided_at")
    column_labels = {"user.email": "Account", "roles": "Roles asked for", "requested_by.email": "Asked by",
                     "requested_at": "Asked", "decided_by.email": "Decided by", "decided_at": "Decided"}
    column_filters = ("status",)
    column_default_sort = ("id", True)

    @action("approve", "Approve", "Give the selected accounts the roles asked for?")
    def approve(self, ids: list[str]) -> None:
        self._decide(ids, True)

    @action("refuse", "Refuse", "Refuse the selected requests?")
    def refuse(self, ids: list[str]) -> None:
        self._decide(ids, False)

    def _decide(self, ids: list[str], approve: bool) -> None:
        wanted = [n for n in map(validate.whole_number, ids) if n is not None]
        done = 0
        for grant in self.get_query().filter(RoleGrant.id.in_(wanted)):
            try:
                directory.decide_roles(grant, current_user, approve)
                done += 1
            except (NotPermitted, Conflict) as exc:
                flash(f"{grant.user.email}: {exc}", "error")
        db.session.commit()
        if done:
            flash(f"{'Approved' if approve else 'Refused'} {done} request(s).", "success")


class ApiTokenView(ScopedModelView):
    """Admins see every API token (owner, name, expiry, last use) and revoke any; owners use their account page."""

    area = access.Area.USERS
    audit_type = "api_token"
    read_only = True
    column_list = ("user.email", "label", "created_at", "expires_at", "last_used_at", "revoked")
    column_labels = {"user.email": "Owner", "label": "Name", "created_at": "Issued", "expires_at": "Expires",
                     "last_used_at": "Last used"}
    column_filters = ("revoked", "user.email")
    column_default_sort = ("id", True)

    @action("revoke", "Revoke", "Revoke the selected tokens? Programs using them are refused from now on.")
    def revoke(self, ids: list[str]) -> None:
        wanted = [n for n in map(validate.whole_number, ids) if n is not None]
        rows = list(self.get_query().filter(ApiToken.id.in_(wanted), ApiToken.revoked.is_(False)))
        for row in rows:
            tokens.revoke(row.user, row.id, current_user)
        db.session.commit()
        flash(f"Revoked {len(rows)} token(s).", "success")


def _factor(user: User) -> str:
    if user.mfa_enrolled_at:
        return f"set up {user.mfa_enrolled_at:%d/%m/%Y}"
    return "exempt (demo)" if user.mfa_exempt else "not set up"


class CodeNameView(ScopedModelView):
    """Reference rows keyed by a code, with a name and an active flag (retire, never delete)."""

    area = access.Area.REFERENCE
    column_list = ("code", "name", "active")
    form_columns = ("code", "name", "active")
    column_default_sort = ("name", False)
    column_searchable_list = ("code", "name")

    def on_model_change(self, form, model, is_created: bool) -> None:
        _clean_code_and_name(model)  # a taken code is refused by Flask-Admin's unique check on the key
        super().on_model_change(form, model, is_created)


class CaseTypeView(CodeNameView):
    audit_type = "case_type"


class AreaView(CodeNameView):
    """Where cases belong: districts, a city."""

    audit_type = "area"
    form_args = {"code": {"description": "Lowercase letters, digits, _ and - (e.g. mansfield)."}}


class ServiceView(CodeNameView):
    """What organisations provide; diagrams route steps to `service:<code>`."""

    audit_type = "service"
    form_args = {"code": {"description": "Used in diagrams as service:<code> (e.g. service:vpp)."}}


class ServiceProvisionView(ScopedModelView):
    """Which organisation provides which service where (no area: in every area)."""

    area = access.Area.REFERENCE
    audit_type = "service_provision"
    column_list = ("service", "organisation", "area")
    column_labels = {"area": "Area (blank: every area)", "service.name": "Service", "area.name": "Area"}
    column_formatters = {"area": lambda v, c, m, n: m.area.name if m.area else "Every area"}
    column_filters = ("service.name", IdEquals(ServiceProvision.organisation_id, "Organisation",
                                                  options=ORGANISATIONS), "area.name")
    column_default_sort = [("service_code", False)]
    form_columns = ("service", "organisation", "area")
    form_args = {"area": {"description": "Leave blank when the organisation provides the service everywhere."}}

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return access.can(current_user, access.Action.DELETE, self.model)

    def on_model_change(self, form, model, is_created: bool) -> None:
        if model.service is None or model.organisation is None:
            raise ValidationError("Choose a service and an organisation.")
        with db.session.no_autoflush:
            clash = db.session.scalar(select(ServiceProvision.id).where(
                ServiceProvision.service_code == model.service.code,
                ServiceProvision.organisation_id == model.organisation.id,
                ServiceProvision.area_code.is_(None) if model.area is None
                else ServiceProvision.area_code == model.area.code,
                ServiceProvision.id != (model.id or 0)))
        if clash:
            raise ValidationError(f"{model.organisation} already provides {model.service} in "
                                  f"{model.area or 'every area'}")
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model) -> None:
        audit.record("delete", user=current_user, object_type="service_provision", object_id=model.id,
                     detail={"service": model.service_code, "organisation": model.organisation.code,
                             "area": model.area_code or "every area"})


class SettingView(ScopedModelView):
    """Partnership defaults (lead times, default due dates): change the value, never the key."""

    area = access.Area.REFERENCE
    audit_type = "setting"
    can_create = False
    column_list = ("key", "value", "description")
    form_columns = ("value",)
    column_default_sort = ("key", False)

    def on_model_change(self, form, model, is_created: bool) -> None:
        number = validate.whole_number(model.value, 365)
        if number is None:
            raise ValidationError("value: a whole number of days or hours, from 0 to 365")
        model.value = str(number)
        super().on_model_change(form, model, is_created)


class CodeEntitlementView(ScopedModelView):
    """The Victims' Code as data: each entitlement's owner, trigger and working days (leads change them; a row is
    retired, never deleted, and a new Code version is added beside the old)."""

    area = access.Area.PROCESS_MAPPING   # leads, who change processes, change what the Code asks of them
    audit_type = "code_entitlement"
    column_list = ("version", "code", "right", "title", "owner_service", "trigger", "standard_days", "enhanced_days",
                   "offences", "min_sentence_months", "note", "active")
    column_labels = {"owner_service": "Owed by (service)", "standard_days": "Working days",
                     "enhanced_days": "Working days (Enhanced Rights)", "min_sentence_months": "Minimum sentence (months)",
                     "offences": "Only for offences"}
    column_searchable_list = ("code", "title", "trigger")
    column_filters = ("version", "right", "owner_service", "trigger", "active")
    column_default_sort = [("right", False), ("code", False)]
    form_columns = ("version", "code", "right", "title", "owner_service", "trigger", "standard_days",
                    "enhanced_days", "offences", "min_sentence_months", "source", "note", "active")
    form_args = {
        "trigger": {"description": "What starts the clock: report, event:arrest, event:interview, event:released, "
                                   "event:bail_rui, event:bail_changed, event:not_investigated, event:charged, "
                                   "event:not_charged, event:out_of_court, vrr_request, court:listing, "
                                   "court:bail_hearing, court:not_guilty_plea, court:outcome, court:sentence, "
                                   "court:appeal, vcs_referral."},
        "owner_service": {"description": "A service code (Reference data → Services): its provider in the case's "
                                         "area owes the entitlement."},
        "offences": {"description": "Offence categories, comma-separated; empty: every offence."},
        "standard_days": {"description": "Empty: no fixed deadline in the Code."},
    }

    def on_model_change(self, form, model, is_created: bool) -> None:
        for name in ("right", "standard_days", "enhanced_days", "min_sentence_months"):
            value = getattr(model, name)
            if value is not None and not (0 <= value <= (12 if name == "right" else 1200)):
                raise ValidationError(f"{name}: {value} is out of range")
        if model.right is None or model.right < 1:
            raise ValidationError("right: a number from 1 to 12")
        if db.session.get(Service, model.owner_service) is None:
            raise ValidationError(f"owner_service: there is no service {model.owner_service!r}")
        super().on_model_change(form, model, is_created)


class MeetingTypeView(ScopedModelView):
    """Kinds of panel meeting: the service whose providers hold them and the confidentiality statement every
    attendee accepts (leads change the wording to their panel's own; a type is retired, never deleted)."""

    area = access.Area.PROCESS_MAPPING
    audit_type = "meeting_type"
    can_delete = False
    column_list = ("code", "name", "service_code", "active")
    column_labels = {"service_code": "Held by providers of (service)"}
    form_columns = ("code", "name", "service_code", "confidentiality_statement", "active")
    form_args = {
        "code": {"description": "What diagrams name in a meeting step (camunda:property meeting=...)."},
        "service_code": {"description": "A service code (Reference data → Services): organisations providing it "
                                        "schedule these meetings."},
        "confidentiality_statement": {"description": "Shown to every attendee, who accepts it before the meeting."},
    }

    def on_model_change(self, form, model, is_created: bool) -> None:
        if db.session.get(Service, model.service_code) is None:
            raise ValidationError(f"service_code: there is no service {model.service_code!r}")
        if not (model.code or "").strip() or not (model.confidentiality_statement or "").strip():
            raise ValidationError("code and confidentiality statement are required")
        super().on_model_change(form, model, is_created)


class AgreementView(ScopedModelView):
    """Information-sharing agreements: admins record them; a manager of each party approves for it; in force once
    every party has and within its dates. Changing the parties, case types or dates sends it back to draft."""

    area = access.Area.AGREEMENTS
    audit_type = "isa"
    can_view_details = True
    column_list = ("name", "status", "organisations", "approvals", "case_types", "valid_from", "valid_to",
                   "review_on")
    column_labels = {"organisations": "Parties", "approvals": "Approved by", "case_types": "Case types",
                     "valid_from": "From", "valid_to": "To", "review_on": "Review on"}
    column_details_list = ("name", "status", "lawful_basis", "organisations", "approvals", "case_types",
                           "valid_from", "valid_to", "review_on", "created_at")
    column_formatters = {
        "status": lambda v, c, m, p: m.status(date.today()),
        "approvals": lambda v, c, m, p: "; ".join(
            f"{a.organisation.name} ({a.approved_by.name if a.approved_by else 'operator'}, "
            f"{a.approved_at:%d/%m/%Y})" for a in m.approvals) or "nobody yet",
        "case_types": lambda v, c, m, p: ", ".join(t.name for t in m.case_types) or "every case type",
        "valid_from": lambda v, c, m, p: f"{m.valid_from:%d/%m/%Y}",
        "valid_to": lambda v, c, m, p: f"{m.valid_to:%d/%m/%Y}" if m.valid_to else "open-ended",
        "review_on": lambda v, c, m, p: f"{m.review_on:%d/%m/%Y}" if m.review_on else "",
    }
    column_formatters_detail = column_formatters
    form_columns = ("name", "lawful_basis", "organisations", "case_types", "valid_from", "valid_to", "review_on")
    form_overrides = {"valid_from": TypedDateField, "valid_to": TypedDateField, "review_on": TypedDateField}
    form_args = {"valid_from": {"label": "In force from", "required": True,
                                "description": "The first day, as 01/04/2026."},
                 "valid_to": {"label": "In force until", "description": "The last day (empty: until ended)."},
                 "review_on": {"label": "Review on", "description": "When the parties review it."},
                 "organisations": {"label": "Parties", "description": "Two or more organisations."},
                 "case_types": {"description": "Empty: every case type."}}

    def on_model_change(self, form, model, is_created: bool) -> None:
        if model.valid_from is None:
            raise ValidationError("valid_from: the first day in force is required")
        if model.valid_to and model.valid_to < model.valid_from:
            raise ValidationError("valid_to: the agreement cannot end before it starts")
        if len(model.organisations) < 2:
            raise ValidationError("organisations: an agreement needs at least two parties")
        state = inspect(model)
        changed = [name for name in ("organisations", "case_types", "valid_from", "valid_to")
                   if state.attrs[name].history.has_changes()]
        if not is_created and changed:
            agreements.reset_approvals(model, f"changed: {', '.join(changed)}")
            flash(f"“{model.name}” changed ({', '.join(changed)}): it is a draft again until every party "
                  "approves it.", "warning")
        super().on_model_change(form, model, is_created)

    def is_action_allowed(self, name: str) -> bool:
        if name == "approve":   # each party's managers approve for it
            return current_user.has_role(Role.MANAGER)
        return super().is_action_allowed(name)

    @action("approve", "Approve for my organisation",
            "Approve these agreements for your organisation? Sharing under them starts once every party has.")
    def approve(self, ids: list[str]) -> None:
        wanted = [n for n in map(validate.whole_number, ids) if n is not None]
        done = 0
        for isa in self.get_query().filter(InformationSharingAgreement.id.in_(wanted)):
            try:
                done += agreements.approve(isa, current_user.organisation, current_user)
            except NotPermitted as exc:
                flash(str(exc), "error")
        db.session.commit()
        if done:
            flash(f"Approved {done} agreement(s) for {current_user.organisation.name}.", "success")


class CaseTypeProcessView(ScopedModelView):
    """Which processes start when a case of a type is opened (leads change it; admins see it). A mapping changes
    what every agency's cases do, so adding one and removing one both take effect only once a lead of another
    organisation approves; to change one, add the new mapping and remove the old."""

    area = access.Area.PROCESS_MAPPING
    audit_type = "case_type_process"
    column_list = ("case_type", "process_key", "position", "approval", "requested_by", "approved_by")
    column_labels = {"process_key": "Process key", "position": "Order", "approval": "Approval",
                     "requested_by": "Asked by", "approved_by": "Approved by"}
    column_formatters = {"approval": lambda v, c, m, p: APPROVAL_LABELS.get(m.approval, m.approval)}
    form_columns = ("case_type", "process_key", "position")
    form_args = {"process_key": {"description": "The process id of a deployed diagram, e.g. victim_referral. "
                                                "It starts with new cases once a lead of another organisation "
                                                "approves the mapping."}}
    column_default_sort = [("case_type_code", False), ("position", False)]
    can_edit = False

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return access.can(current_user, access.Action.DELETE, self.model)

    def on_model_change(self, form, model, is_created: bool) -> None:
        try:
            model.process_key = validate.text(model.process_key, "process_key", 255)
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None
        model.approval, model.requested_by_id = "pending", current_user.id
        super().on_model_change(form, model, is_created)

    def after_model_change(self, form, model, is_created: bool) -> None:
        flash(f"{model} waits for a lead of another organisation to approve it.", "info")

    @action("approve", "Approve", "Approve these requests (new mappings start with new cases; removed ones stop)?")
    def approve(self, ids: list[str]) -> None:
        self._decide(ids, True)

    @action("reject", "Reject", "Refuse these requests?")
    def reject(self, ids: list[str]) -> None:
        self._decide(ids, False)

    def _decide(self, ids: list[str], approve: bool) -> None:
        if not current_user.has_role(Role.LEAD):
            abort(403, "Only working-group leads approve mappings.")
        wanted = [n for n in map(validate.whole_number, ids) if n is not None]
        done = 0
        for row in self.get_query().filter(CaseTypeProcess.id.in_(wanted),
                                           CaseTypeProcess.approval.in_(("pending", "removal_pending"))):
            asker = row.requested_by
            if asker is not None and (asker.id == current_user.id or asker.organisation_id == current_user.organisation_id):
                flash(f"{row}: a lead of another organisation approves it.", "error")
                continue
            removal = row.approval == "removal_pending"
            what = ("approve_mapping_removal" if approve else "reject_mapping_removal") if removal \
                else ("approve_mapping" if approve else "reject_mapping")
            audit.record(what, user=current_user, object_type="case_type_process", object_id=row.id,
                         detail={"case_type": row.case_type_code, "process_key": row.process_key,
                                 "asked_by": asker.email if asker else None})
            if removal and approve:
                db.session.delete(row)
            else:
                # A refused removal leaves the mapping as it was: in effect.
                row.approval = ("approved" if approve else "rejected") if not removal else "approved"
                row.approved_by_id = current_user.id
            done += 1
        db.session.commit()
        if done:
            flash(f"{'Approved' if approve else 'Rejected'} {done} request(s).", "success")

    def delete_model(self, model) -> bool:
        """A mapping in effect is only asked to be removed (four eyes); one never approved goes at once."""
        if model.approval == "removal_pending":
            flash(f"{model}: its removal already waits for a lead of another organisation.", "info")
            return False
        if model.approval == "approved":
            model.approval, model.requested_by_id, model.approved_by_id = "removal_pending", current_user.id, None
            audit.record("request_mapping_removal", user=current_user, object_type="case_type_process",
                         object_id=model.id, detail={"case_type": model.case_type_code,
                                                     "process_key": model.process_key})
            db.session.commit()
            flash(f"{model} keeps starting with new cases until a lead of another organisation approves its "
                  "removal.", "info")
            return False
        return super().delete_model(model)

    def on_model_delete(self, model) -> None:
        audit.record("delete", user=current_user, object_type="case_type_process", object_id=model.id,
                     detail={"case_type": model.case_type_code, "process_key": model.process_key})


APPROVAL_LABELS = {"pending": "Waiting for approval", "approved": "In effect", "rejected": "Refused",
                   "removal_pending": "In effect; removal waiting for approval"}


def _audit_names() -> dict[tuple[str, int], str]:
    return getattr(g, "audit_names", {})


def _audit_case(case_id: int | None) -> Markup | str:
    """The case's reference, linked (an auditor sees every case)."""
    if not case_id:
        return ""
    reference = _audit_names().get(("case", case_id))
    if reference is None:   # a case since deleted by retention: its id is all the log keeps
        return f"case {case_id} (deleted)"
    return Markup('<a href="{}">{}</a>').format(url_for("cases.details_view", id=case_id), reference)


def _action_options() -> list[tuple[str, str]]:
    return sorted(((a, label(a)) for a in audit.ACTIONS), key=lambda pair: pair[1])


class AuditView(ScopedModelView):
    """Auditors list and filter the log; nobody can change it."""

    area = access.Area.AUDIT
    can_view_details = True
    column_list = ("id", "at", "user_email", "organisation_id", "action", "object_type", "object_id",
                   "case_id", "detail")
    column_labels = {"at": "When", "user_email": "User", "organisation_id": "Organisation", "object_type": "Object",
                     "object_id": "Object id", "case_id": "Case"}
    column_formatters = {
        "at": lambda v, c, m, n: calendar.local(m.at, "%d/%m/%Y %H:%M:%S"),
        "case_id": lambda v, c, m, n: _audit_case(m.case_id),
        "organisation_id": lambda v, c, m, n: _audit_names().get(("org", m.organisation_id), m.organisation_id or ""),
        "action": lambda v, c, m, n: label(m.action),
        "object_type": lambda v, c, m, n: label(m.object_type or ""),
    }
    # Equality filters only, each served by an index: a "contains" over millions of rows would read them all.
    # Action and organisation are pick-lists (from the code's list of actions and the directory).
    column_filters = ("at", FilterEqual(AuditEvent.user_email, "User"),
                      FilterEqual(AuditEvent.action, "Action", options=LazyOptions(_action_options)),
                      IdEquals(AuditEvent.organisation_id, "Organisation", options=ORGANISATIONS),
                      FilterEqual(AuditEvent.object_type, "Object"), FilterEqual(AuditEvent.object_id, "Object id"),
                      IdEquals(AuditEvent.case_id, "Case id"), IdEquals(AuditEvent.user_id, "User id"))
    column_default_sort = ("id", True)
    page_size = 50
    list_template = "audit/list.html"

    read_only = True

    @expose("/searched/")
    def searched(self):
        """Searches for a name (the log holds their keyed digest): the list filtered to them."""
        name = (request.args.get("name") or "").strip()
        if not name:
            flash("Type the name as it would have been searched for.", "error")
            return redirect(url_for(".index_view"))
        wanted = {"Action": "search", "Object id": audit.term_digest(name)}
        args = {}
        for position, (index, flt) in enumerate((i, f) for i, f in enumerate(self._filters)
                                                if isinstance(f, FilterEqual) and f.name in wanted):
            args[f"flt{position}_{self.get_filter_arg(index, flt)}"] = wanted[flt.name]
        audit.record("view", user=current_user, object_type="audit_log", detail={"searched_for": "digest"})
        db.session.commit()
        return redirect(url_for(".index_view", **args))

    @expose("/details/")
    def details_view(self):
        """One event in full; reading it is itself recorded."""
        audit.record("view", user=current_user, object_type="audit_event", object_id=request.args.get("id", "")[:64])
        page = super().details_view()
        db.session.commit()
        return page

    def get_list(self, *args, **kwargs):
        """A page of events, with the references and organisation names it shows fetched in two queries."""
        count, rows = super().get_list(*args, **kwargs)
        case_ids = {r.case_id for r in rows if r.case_id}
        org_ids = {r.organisation_id for r in rows if r.organisation_id}
        names: dict[tuple[str, int], str] = {}
        if case_ids:
            names.update({("case", i): ref for i, ref in db.session.execute(
                select(Case.id, Case.reference).where(Case.id.in_(case_ids)))})
        if org_ids:
            names.update({("org", i): name for i, name in db.session.execute(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))})
        g.audit_names = names
        return count, rows

    @expose("/")
    def index_view(self):
        """The log list; reading it is itself recorded (with the filters used)."""
        audit.record("view", user=current_user, object_type="audit_log",
                     detail={"query": request.args.to_dict()} if request.args else None)
        db.session.commit()
        self._template_args["verified"] = db.session.scalar(
            select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))
        return super().index_view()
