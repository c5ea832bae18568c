"""Letters: leads keep the Word templates (versions, upload, download, retire); practitioners write a letter for
a person on a case (the case page's *Write a letter*), which is stored on the case as a document."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.routing import BuildError
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

import access
from admin.base import SecureView
from admin.forms import Form
from admin.people import apply_errors
from casework import docx_templates, letters
from casework.errors import InvalidInput, NotPermitted
from models import Case, Document, LetterTemplate, db
from models.base import TEXT_MAX
from models.enums import label

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class TemplateUploadForm(Form):
    key = StringField("Letter key", validators=[InputRequired(), Length(max=32)],
                      description="An existing letter's key for a new version of it, or a new key (lowercase "
                                  "letters, digits and _) for a new letter.")
    name = StringField("Name", validators=[Optional(), Length(max=200)],
                       description="What practitioners see when they choose it (needed for a new letter).")
    file = FileField("Word template (.docx)", validators=[FileRequired()],
                     description="Placeholders as listed below; nothing else is allowed.")
    change_note = TextAreaField("What changed", validators=[Optional(), Length(max=TEXT_MAX)],
                                description="Needed for a new version: shown in the list of versions.")


class LetterForm(Form):
    person = SelectField("Person", validators=[InputRequired(message="choose the person the letter is to")])
    template = SelectField("Letter", validators=[InputRequired(message="choose a letter")])
    sent_by = SelectField("How it will be sent", validators=[InputRequired(message="choose how it will be sent")])
    override = BooleanField("Write to this address although it is marked unsafe for letters")
    override_reason = TextAreaField("Why it is safe to write now", validators=[Optional(), Length(max=2000)],
                                    description="Needed with the override; kept in the audit log.")


class LetterTemplatesView(SecureView):
    """Leads: every letter with its versions; upload a new version; download any; retire one."""

    area = access.Area.PROCESSES

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = TemplateUploadForm()
        can_change = access.can(current_user, access.Action.CREATE, LetterTemplate)
        status = 200
        if request.method == "GET" and request.args.get("key"):
            form.key.data = request.args["key"]
        if request.method == "POST":
            if not can_change:
                abort(403, "Only working-group leads change letter templates.")
            status = 400
            if form.validate_on_submit():
                try:
                    row = letters.upload(current_user, form.key.data, form.name.data, form.file.data.read(),
                                         form.change_note.data)
                    db.session.commit()
                    flash(f"Stored {row.name} version {row.version}: letters are written from it from now on.",
                          "success")
                    return redirect(url_for(".index"))
                except InvalidInput as exc:
                    db.session.rollback()
                    apply_errors(form, exc)
                    status = 422
        rows = db.session.scalars(select(LetterTemplate).order_by(LetterTemplate.key,
                                                                  LetterTemplate.version.desc())).all()
        grouped: dict[str, list[LetterTemplate]] = {}
        for row in rows:
            grouped.setdefault(row.key, []).append(row)
        in_use = {t.key: t.id for t in letters.in_use()}
        return self.render("letters/templates.html", form=form, grouped=grouped, in_use=in_use,
                           can_change=can_change, placeholders=docx_templates.PLACEHOLDERS), status

    def _template(self, template_id: int) -> LetterTemplate:
        row = db.session.get(LetterTemplate, template_id)
        if row is None:
            abort(404)
        return row

    @expose("/<int:template_id>/template.docx")
    def download(self, template_id: int):
        """One version's Word file, to change in Word and upload again."""
        row = self._template(template_id)
        return send_file(io.BytesIO(row.content), mimetype=DOCX, as_attachment=True,
                         download_name=f"{row.key}-v{row.version}.docx", max_age=0)

    @expose("/<int:template_id>/retire/", methods=("POST",))
    def retire(self, template_id: int):
        """Retire a version (letters go back to the newest version before it), or bring it back."""
        row = self._template(template_id)
        bring_back = request.form.get("retired") == "no"
        try:
            letters.retire(current_user, row, not bring_back)
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        db.session.commit()
        flash(f"{row.name} version {row.version} " + ("is back in use (if newest)." if bring_back else
                                                      "is retired."), "success")
        return redirect(url_for(".index"))


def _people_choices(case: Case) -> list[SelectChoice]:
    seen: dict[int, str] = {}
    for part in case.participants:
        seen.setdefault(part.person_id, f"{part.person.full_name} ({label(part.role.value).lower()})")
    return [SelectChoice("", "— choose —")] + [SelectChoice(str(k), v) for k, v in seen.items()]


def _download_url(doc: Document) -> str:
    """Where the stored letter downloads from (the console's document route when there is one)."""
    for endpoint, args in (("cases.download_document", {"case_id": doc.case_id, "document_id": doc.id}),
                           ("api.download_document", {"document_id": doc.id})):
        try:
            return url_for(endpoint, **args)
        except BuildError:
            continue
    return ""


def write_letter(view, case: Case):
    """The page that writes a letter for a person on the case: each person's safe-contact arrangements come
    first; a form with errors changes nothing."""
    if not letters.may_write(current_user, case):
        abort(403, "You may not add letters to this case.")
    form = LetterForm()
    form.person.choices = _people_choices(case)
    form.template.choices = [SelectChoice("", "— choose —")] + [SelectChoice(t.key, t.name)
                                                                for t in letters.in_use()]
    form.sent_by.choices = [SelectChoice("", "— choose —")] + [SelectChoice(k, v)
                                                               for k, v in letters.SENT_BY.items()]
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            person = next((p.person for p in case.participants if str(p.person_id) == form.person.data), None)
            try:
                if person is None:
                    raise InvalidInput({"person": "choose a person on this case"})
                if person.address_unsafe and not form.override.data:
                    raise InvalidInput({"override": "the address is marked unsafe for letters: tick the override "
                                                    "and give the reason, or contact them another way"})
                doc = letters.generate(current_user, case, person, form.template.data, form.sent_by.data,
                                       override_reason=form.override_reason.data if form.override.data else None)
                empty = letters.empty_placeholders(letters.latest(form.template.data),
                                                   letters.context_for(case, person, current_user))
                db.session.commit()
            except InvalidInput as exc:
                db.session.rollback()
                apply_errors(form, exc)
            except NotPermitted as exc:
                db.session.rollback()
                abort(403, str(exc))
            else:
                flash(Markup('Letter written and stored on the case ({}). <a href="{}">Download {}</a>').format(
                    letters.SENT_BY[doc.sent_by].lower(), _download_url(doc), doc.name), "success")
                if empty:
                    flash("Nothing on the case fills " + ", ".join(empty) + ": read the letter before it goes.",
                          "warning")
                return redirect(url_for(".details_view", id=case.id) + "#documents")
    people = list({p.person_id: p for p in case.participants}.values())
    return view.render("letters/write.html", case=case, form=form, people=people, label=label), status
