"""Documents in the console: upload to a case or a person (drag and drop, or a plain file input), a document's page
with its versions, download (audited), a new version, delete with a reason. The case and person pages list them
(templates/documents/_section.html)."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

import access
from admin.base import SecureView
from admin.forms import Form
from admin.people import apply_errors
from casework import documents, filecheck
from casework.errors import Conflict, InvalidInput, NotFound, NotPermitted
from models import Case, Document, Person, db
from models.base import TITLE_MAX


class UploadForm(Form):
    file = FileField("File")
    title = StringField("Title", validators=[Optional(), Length(max=TITLE_MAX)],
                        description="Optional: what the document is (“Signed consent form”). Default: its file name.")


class DeleteForm(Form):
    reason = TextAreaField("Reason for deleting", validators=[InputRequired("Say why it is deleted."),
                                                              Length(max=documents.REASON_MAX)])


size_text = filecheck.megabytes


class DocumentView(SecureView):
    """Not in the menu: reached from the case and person pages."""

    area = access.Area.CASES

    def is_visible(self) -> bool:
        return False

    def create_blueprint(self, admin):
        blueprint = super().create_blueprint(admin)
        blueprint.register_error_handler(413, self._too_large)
        return blueprint

    def _too_large(self, exc: RequestEntityTooLarge):
        """A request over MAX_CONTENT_LENGTH: the upload form again, the limit said at the file field."""
        db.session.rollback()
        form = UploadForm(formdata=None)
        form.file.errors = [f"The file is larger than the {filecheck.megabytes(documents.max_bytes())} limit; "
                            "nothing was stored."]
        args = request.view_args or {}
        if "case_id" in args:
            return self._upload_page(form, case=access.get_or_404(current_user, Case, args["case_id"]), status=413)
        if "person_id" in args:
            return self._upload_page(form, person=access.get_or_404(current_user, Person, args["person_id"]),
                                     status=413)
        if "document_id" in args:
            return self._document_page(self._document(args["document_id"]), form=form, status=413)
        abort(413)

    @expose("/")
    def index(self):
        """Documents live on case and person pages."""
        return redirect(url_for("cases.index_view"))

    @expose("/case/<int:case_id>/", methods=("GET", "POST"))
    def upload_to_case(self, case_id: int):
        """Upload a document to the case (whoever may edit the case)."""
        case = access.get_or_404(current_user, Case, case_id)
        if not access.can(current_user, access.Action.ADD_NOTE, case):
            abort(403, "Only the organisations on this case may add documents to it.")
        return self._upload(case=case)

    @expose("/person/<int:person_id>/", methods=("GET", "POST"))
    def upload_to_person(self, person_id: int):
        """Upload a document to the person (whoever may edit the person's record)."""
        person = access.get_or_404(current_user, Person, person_id)
        if not access.can(current_user, access.Action.EDIT, person):
            abort(403, "Only the organisation that registered this person may add documents to their record.")
        return self._upload(person=person)

    def _upload(self, *, case: Case | None = None, person: Person | None = None):
        form = UploadForm()
        if request.method == "GET" or not form.validate_on_submit():
            return self._upload_page(form, case=case, person=person, status=200 if request.method == "GET" else 422)
        upload = form.file.data
        name = getattr(upload, "filename", None) or ""
        if not upload or not name:
            form.file.errors = ["Choose a file to upload."]
            return self._upload_page(form, case=case, person=person, status=422)
        try:
            doc = documents.store(current_user, case=case, person=person, name=name, data=upload.read(),
                                  title=form.title.data)
            db.session.commit()
        except InvalidInput as exc:
            self._refused(exc, name, case=case, person=person)
            apply_errors(form, exc)
            return self._upload_page(form, case=case, person=person, status=422)
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        flash(f"Stored “{doc.title}” ({doc.name})."
              + (" It was not scanned for viruses (no scanner is configured)." if doc.scanned != documents.CLEAN
                 else ""), "success")
        return redirect(_back(case, person))

    @expose("/<int:document_id>/", methods=("GET",))
    def document(self, document_id: int):
        """A document's page: its versions, a new version, delete."""
        return self._document_page(self._document(document_id))

    @expose("/<int:document_id>/download", methods=("GET",))
    def download(self, document_id: int):
        """The file, as an attachment (audited)."""
        doc = self._document(document_id)
        try:
            data = documents.download(current_user, doc)
        except NotFound:
            abort(404)
        db.session.commit()
        response = send_file(io.BytesIO(data), mimetype=doc.content_type, as_attachment=True,
                             download_name=doc.name, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @expose("/<int:document_id>/version", methods=("POST",))
    def new_version(self, document_id: int):
        """Upload a new version of the document."""
        doc = self._document(document_id)
        form = UploadForm()
        upload = form.file.data if form.validate_on_submit() else None
        name = getattr(upload, "filename", None) or ""
        if not upload or not name:
            if not form.errors:
                form.file.errors = ["Choose a file to upload."]
            return self._document_page(doc, form=form, status=422)
        try:
            made = documents.new_version(current_user, doc, name, upload.read(), title=form.title.data)
            db.session.commit()
        except InvalidInput as exc:
            self._refused(exc, name, case=_case(doc), person=_person(doc))
            apply_errors(form, exc)
            return self._document_page(self._document(document_id), form=form, status=422)
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        except Conflict as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(_back(_case(doc), _person(doc)))
        flash(f"Stored version {made.version} of “{made.title}”.", "success")
        return redirect(url_for(".document", document_id=made.id))

    @expose("/<int:document_id>/delete", methods=("POST",))
    def delete(self, document_id: int):
        """Delete a document (every version) with a reason; kept for the audit."""
        doc = self._document(document_id)
        form = DeleteForm()
        if not form.validate_on_submit():
            return self._document_page(doc, delete_form=form, status=422)
        try:
            documents.delete(current_user, doc, form.reason.data)
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            apply_errors(form, exc)
            return self._document_page(self._document(document_id), delete_form=form, status=422)
        except NotPermitted as exc:
            db.session.rollback()
            abort(403, str(exc))
        flash(f"Deleted “{doc.title}”. It is kept for the audit, with your reason.", "success")
        return redirect(_back(_case(doc), _person(doc)))

    def _document(self, document_id: int) -> Document:
        try:
            return documents.get(current_user, document_id)
        except NotFound:
            abort(404)

    def _refused(self, exc: InvalidInput, name: str, *, case: Case | None, person: Person | None) -> None:
        db.session.rollback()
        documents.record_refusal(current_user, case=case, person=person, name=name, refused=exc)
        db.session.commit()

    def _upload_page(self, form: UploadForm, *, case: Case | None = None, person: Person | None = None,
                     status: int = 200):
        target = url_for(".upload_to_case", case_id=case.id) if case else url_for(".upload_to_person",
                                                                                  person_id=person.id)
        return self.render("documents/upload.html", form=form, case=case, person=person, action=target,
                           back=_back(case, person), max_bytes=documents.max_bytes(),
                           limit=filecheck.megabytes(documents.max_bytes()), allowed=filecheck.ALLOWED_TEXT), status

    def _document_page(self, doc: Document, *, form: UploadForm | None = None, delete_form: DeleteForm | None = None,
                       status: int = 200):
        case, person = _case(doc), _person(doc)
        return self.render("documents/document.html", doc=doc, versions=documents.versions(doc), case=case,
                           person=person, back=_back(case, person), form=form or UploadForm(formdata=None),
                           delete_form=delete_form or DeleteForm(formdata=None), size_text=size_text,
                           can_change=access.can(current_user, access.Action.EDIT, doc),
                           max_bytes=documents.max_bytes(), limit=filecheck.megabytes(documents.max_bytes()),
                           allowed=filecheck.ALLOWED_TEXT), status


def _case(doc: Document) -> Case | None:
    return db.session.get(Case, doc.case_id) if doc.case_id else None


def _person(doc: Document) -> Person | None:
    return db.session.get(Person, doc.person_id) if doc.person_id else None


def _back(case: Case | None, person: Person | None) -> str:
    if case is not None:
        return url_for("cases.details_view", id=case.id) + "#documents"
    return url_for("people.details_view", id=person.id) + "#documents"


def add_views(console) -> None:
    """Add the documents screens (reached from case and person pages, not the menu)."""
    console.add_view(DocumentView(name="Documents", endpoint="documents", url="/admin/documents"))
