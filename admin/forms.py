"""WTForms for the console's own screens (Flask-Admin generates the reference-data forms)."""
from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import (BooleanField, DateField, EmailField, FieldList, FormField, HiddenField, IntegerField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms import Form as PlainForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from models.base import NAME_MAX, TEXT_MAX, TITLE_MAX
from models.enums import ParticipantRole, RiskLevel, choices


class Form(FlaskForm):
    """The base of the console's forms: they read form fields only. Flask-WTF would otherwise take a JSON body
    as the form's data, untyped (a number where text is due, a list where pairs are), and fail on it."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is _Auto and request.is_json and not request.form and not request.files:
                return ImmutableMultiDict()
            return super().wrap_formdata(form, formdata)


class TypedDateField(StringField):
    """A date typed as people write it (01/04/2026 is the first of April; 2026-04-01 works too), shown the same
    way back; no date picker, which garbled typed and pasted dates."""

    def __init__(self, label: str | None = None, validators=None, required: bool = False, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"placeholder": "dd/mm/yyyy", "autocomplete": "off", "inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)
        self.required = required

    def process_formdata(self, valuelist: list[str]) -> None:
        from casework import validate
        from casework.errors import InvalidInput

        raw = (valuelist[0] if valuelist else "") or ""
        self.raw_text = raw
        try:
            self.data = validate.date_value(raw, self.name, required=self.required)
        except InvalidInput as exc:
            self.data = None
            raise ValueError(next(iter(exc.fields.values()))) from None

    def _value(self) -> str:
        if getattr(self, "raw_text", None) is not None and self.data is None:
            return self.raw_text
        return self.data.strftime("%d/%m/%Y") if self.data else ""


def opts(pairs) -> list[SelectChoice]:
    """WTForms 3.3 choices from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


SEX_CHOICES = [("", "Not asked"), ("female", "Female"), ("male", "Male"), ("other", "Other / self-described"),
               ("prefer_not_to_say", "Prefer not to say")]


class PersonForm(Form):
    given_name = StringField("Given name(s)", validators=[InputRequired(), Length(max=NAME_MAX)],
                             render_kw={"autocomplete": "off"})
    family_name = StringField("Family name", validators=[InputRequired(), Length(max=NAME_MAX)],
                              render_kw={"autocomplete": "off"})
    date_of_birth = DateField("Date of birth", validators=[Optional()],
                              description="Day, month and year. Leave blank if unknown.")
    dob_estimated = BooleanField("Date of birth is an estimate")
    sex = SelectField("Sex", choices=opts(SEX_CHOICES), validators=[Optional()])
    preferred_language = StringField("Preferred language", validators=[Optional(), Length(max=64)])
    interpreter_required = BooleanField("Interpreter required")
    email = EmailField("E-mail", validators=[Optional(), Email(check_deliverability=False), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=2000)])
    address_unsafe = BooleanField("Do not write to this address: post there could put the person at risk",
                                  description="Letters to it then need an override and a reason.")
    safe_contact = TextAreaField("Safe contact arrangements", validators=[Optional(), Length(max=TEXT_MAX)],
                                 description="Is it safe to call, text or write? When? Any code word?")
    external_reference = StringField("External reference", validators=[Optional(), Length(max=64)],
                                     description="Another system's id for this person (e.g. a police record).")
    confirm_not_duplicate = BooleanField("I have checked: this is a different person, register anyway")
    version = HiddenField()


class ParticipantRow(PlainForm):
    person_id = SelectField("Person", coerce=int, validators=[Optional()], validate_choice=False)
    role = SelectField("Role", choices=opts(choices(ParticipantRole)), default=ParticipantRole.VICTIM.value)


AREA_HELP = "Where the case belongs: steps for a service go to the organisation providing it in this area."


class CaseOpenForm(Form):
    case_type = SelectField("Case type", validators=[InputRequired()])
    area = SelectField("Area", description=AREA_HELP, validate_choice=False)  # checked by the service
    title = StringField("Title", validators=[InputRequired(), Length(max=TITLE_MAX)],
                        description="A short description; avoid putting names in the title.")
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=TEXT_MAX)])
    risk_level = SelectField("Risk level", choices=opts(choices(RiskLevel)))
    lead_organisation = SelectField("Lead organisation", coerce=int, validate_choice=False)
    restricted = BooleanField("Restricted: only named users may see this case")
    participants = FieldList(FormField(ParticipantRow), min_entries=3, max_entries=10)
    organisations = SelectMultipleField("Partner organisations", coerce=int, validate_choice=False,
                                        description="Organisations working on this case with you.")


class CaseEditForm(Form):
    case_type = SelectField("Case type", validators=[InputRequired()])
    area = SelectField("Area", description=AREA_HELP, validate_choice=False)  # checked by the service
    title = StringField("Title", validators=[InputRequired(), Length(max=TITLE_MAX)])
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=TEXT_MAX)])
    risk_level = SelectField("Risk level", choices=opts(choices(RiskLevel)))
    restricted = BooleanField("Restricted: only named users may see this case")
    version = HiddenField(validators=[InputRequired()])
    # Closing is its own form on the case page (workflows/closing.py): it asks how the case ended and what
    # happens to its open work.


class NoteForm(Form):
    body = TextAreaField("New note", validators=[InputRequired(), Length(max=TEXT_MAX)])


class IncidentForm(Form):
    """A report of an incident (casework/incidents.py checks the values; selects start empty)."""

    occurred_on = TypedDateField("When it happened", required=True)
    kind = SelectField("Kind", validate_choice=False)
    person = SelectField("Who it affected", validate_choice=False)
    reported_to = SelectField("Reported to", validate_choice=False)
    reported_on = TypedDateField("When it was reported", required=True)
    reported_by = StringField("Reported by (the victim, a neighbour, a councillor…)",
                              validators=[InputRequired(), Length(max=200)])
    reference = StringField("Their reference (optional)", validators=[Optional(), Length(max=64)])
    hate_motivated = BooleanField("Perceived as motivated by hate")
    description = TextAreaField("What happened", validators=[InputRequired(), Length(max=4000)])
    same_as = SelectField("The same incident as one already recorded (another agency's report)",
                          validate_choice=False)


class AddParticipantForm(Form):
    person_id = IntegerField("Person", validators=[InputRequired(), NumberRange(min=1)])
    role = SelectField("Role", choices=opts(choices(ParticipantRole)))


def _id_or_none(value: object) -> int | None:
    """An id from a select whose first choice is empty ("— choose —")."""
    return None if value in (None, "") else int(value)


class AddOrganisationForm(Form):
    organisation_id = SelectField("Add a partner organisation", coerce=_id_or_none, validate_choice=False,
                                  validators=[InputRequired("Choose an organisation.")])
    # Managers of the lead organisation only, when no agreement in force covers the share.
    exception_basis = TextAreaField("Lawful basis for sharing without an agreement",
                                    validators=[Optional(), Length(max=2000)])
    exception_reason = TextAreaField("Why this share cannot wait for an agreement",
                                     validators=[Optional(), Length(max=2000)])


class AddMemberForm(Form):
    email = EmailField("User's e-mail", validators=[InputRequired(), Email(check_deliverability=False)])
