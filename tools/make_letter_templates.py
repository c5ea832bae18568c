"""Development-time tool: write the shipped letter templates (casework/data/letters/*.docx) with python-docx.

    python tools/make_letter_templates.py        # rewrites every file; commit the result

Casebook loads each as version 1 of its letter (casework/letters.py ensure_defaults); leads download one from
*Letter templates*, put their letterhead and wording on it in Word and upload it as a new version. The wording is
our own, plain and kind, written from the duties in shared/domain (Victims' Code Right 3, victim referral,
ASB case review, MARAC). The files are byte-for-byte reproducible (fixed zip times and document properties).
"""
from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

OUT = Path(__file__).resolve().parents[1] / "casework" / "data" / "letters"
DANGER = "If you are in immediate danger, call 999."
CLOSE = ["Yours sincerely,", "", "{{ sender.name }}", "{{ organisation.name }}"]

# Each letter: (file stem, title, subject line, body). In a body, "## text" is a heading, "{%p ... %}" a
# paragraph that is only a tag (docxtpl keeps or drops the paragraphs between such tags), anything else a
# paragraph.
LETTERS = [
    ("right3_confirmation", "Right 3: written confirmation of a crime report", "Confirmation of the crime you reported", [
        "Thank you for reporting a crime to us. This letter confirms the details of your report in writing, as "
        "the Code of Practice for Victims of Crime (the Victims' Code) says you should have them.",
        "Crime reference: {{ crime_reference }}",
        "What was reported: {{ offence }}",
        "Our case reference: {{ case.reference }}",
        "Dealing with your report: {{ sender.name }}, {{ organisation.name }}"
        "{% if sender.email %} ({{ sender.email }}){% endif %}",
        "## What happens next",
        "We will look into what you have told us. We will tell you about important decisions, for example if "
        "someone is arrested, charged or released, or if we decide to take no further action.",
        "## Support",
        "You can be referred to an organisation that supports victims of crime. Unless you told us you did not "
        "want this, we will pass on your details and they will contact you. You can ask for support at any "
        "time, even after the case has ended.",
        "## Compensation",
        "You may be able to claim compensation. The Criminal Injuries Compensation Authority deals with claims "
        "from people injured by a violent crime, normally within two years of the crime. If someone is "
        "convicted, the court may also order them to pay you compensation.",
        "## Having your say",
        "If someone is charged, you will be offered the chance to make a Victim Personal Statement, to say in "
        "your own words how the crime has affected you. You can also ask us about restorative justice, which "
        "can give you a chance to communicate with the person responsible, if you want to and it is safe.",
        "## If you are not happy",
        "If you feel you have not had the service the Victims' Code describes, you can complain to us. Please "
        "quote your crime reference.",
        DANGER + " For anything else, call 101.",
    ]),
    ("door_open", "Support declined: the door stays open", "Support is here whenever you want it", [
        "Thank you for talking to us. You told us that you do not want support at the moment. We respect your "
        "decision, and we will not contact you again about this unless you ask us to.",
        "The door stays open. If you change your mind, or things change for you, please get in touch at any "
        "time. It does not matter how much time has passed or whether the case has finished.",
        "You can contact {{ organisation.name }}{% if organisation.email %} at {{ organisation.email }}"
        "{% endif %}, quoting reference {{ case.reference }}. Our support is free and confidential.",
        DANGER,
    ]),
    ("asb_threshold_met", "ASB case review: the threshold is met",
     "Your application for an anti-social behaviour case review", [
        "Thank you for your application for an anti-social behaviour case review (also called the Community "
        "Trigger).",
        "The agencies involved have looked at the reports made about the behaviour you described, and have "
        "decided that the threshold for a case review is met."
        "{% if process.decided_on %} The decision was made on {{ process.decided_on }}.{% endif %}",
        "{%p if process.threshold_reasons %}",
        "Our reasons: {{ process.threshold_reasons }}",
        "{%p endif %}",
        "## What happens next",
        "The agencies will review how they have responded to the anti-social behaviour you reported, share "
        "what they know and consider whether more can be done."
        "{% if process.meeting_planned_on %} The review meeting is planned for {{ process.meeting_planned_on }}."
        "{% endif %} You may be invited to take part, or to give your views through someone who represents you. "
        "We will write to you with the outcome and any recommendations.",
        "A case review is not a complaints procedure. If you are unhappy with how an agency has treated you, "
        "you can use that agency's complaints procedure.",
        "If you need to contact us about the review, please quote {{ case.reference }}.",
        DANGER,
    ]),
    ("asb_threshold_not_met", "ASB case review: the threshold is not met",
     "Your application for an anti-social behaviour case review", [
        "Thank you for your application for an anti-social behaviour case review (also called the Community "
        "Trigger).",
        "The agencies involved have looked at the reports made about the behaviour you described, and have "
        "decided that the threshold for a case review is not met."
        "{% if process.decided_on %} The decision was made on {{ process.decided_on }}.{% endif %}",
        "{%p if process.threshold_reasons %}",
        "Our reasons: {{ process.threshold_reasons }}",
        "{%p endif %}",
        "This does not mean that what you are going through is not important to us.",
        "{%p if process.future_action %}",
        "The agencies will still do the following: {{ process.future_action }}",
        "{%p endif %}",
        "Please keep reporting each new incident to the police, the council or your landlord soon after it "
        "happens. Each report helps the agencies respond, and a later application may meet the threshold.",
        "## If you disagree",
        "You can ask for this decision to be looked at again under the local case review procedure. Please "
        "contact us, quoting {{ case.reference }}, within the time the procedure gives.",
        DANGER,
    ]),
    ("asb_review_outcome", "ASB case review: the outcome", "The outcome of your anti-social behaviour case review", [
        "The agencies have met to review how they responded to the anti-social behaviour you reported"
        "{% if process.meeting_held_on %} (the meeting was held on {{ process.meeting_held_on }}){% endif %}. "
        "This letter tells you what they decided.",
        "{%p if process.review_outcome %}",
        "Outcome: {{ process.review_outcome }}",
        "{%p endif %}",
        "{%p if process.recommendations %}",
        "What the agencies will do: {{ process.recommendations }}",
        "{%p endif %}",
        "{%p if process.actions_due_on %}",
        "They expect to complete these actions by {{ process.actions_due_on }}.",
        "{%p endif %}",
        "We will check that the actions are carried out, and let you know if anything changes.",
        "## If you are not satisfied",
        "If you are not satisfied with how the review was carried out, you can ask for it to be looked at again "
        "under the local case review procedure. Please contact us, quoting {{ case.reference }}.",
        DANGER,
    ]),
    ("marac_victim", "MARAC: letter to the victim", "Support to help keep you safe", [
        "We are writing because you have been referred to a MARAC (Multi-Agency Risk Assessment Conference). "
        "A MARAC is a confidential meeting where local agencies, such as the police, health, housing, "
        "children's and adults' services and domestic abuse services, share information and agree actions to "
        "help keep you, and any children, safe.",
        "You do not need to go to the meeting. An Independent Domestic Violence Advocate (IDVA) will contact "
        "you, if they have not already, to talk about your safety and what you would like to happen, and to "
        "make sure your views are heard at the meeting.",
        "After the meeting, each agency carries out its own actions. Some of them may contact you about these.",
        "If you have any questions, please contact {{ sender.name }} at {{ organisation.name }}, quoting "
        "{{ case.reference }}.",
        DANGER + " If you cannot speak, call 999 from a mobile and press 55 when asked: the police will know it "
        "is a real call.",
        "The National Domestic Abuse Helpline is free and open day and night: 0808 2000 247.",
    ]),
]
FIXED_TIME = datetime(2027, 1, 1)


def build(title: str, subject: str, body: list[str]) -> bytes:
    """One letter: the marking, sender, date, recipient, reference, subject, body and signature."""
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(11)
    marking = doc.add_paragraph()
    marking.add_run("PRIVATE AND CONFIDENTIAL: to be opened by the addressee only").bold = True
    for line in ("{{ organisation.name }}", "{% if organisation.email %}{{ organisation.email }}{% endif %}",
                 "{{ today }}"):
        doc.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    recipient = doc.add_paragraph()
    recipient.add_run("{{ person.name }}").add_break()
    recipient.add_run("{{ person.address }}")
    doc.add_paragraph("Our reference: {{ case.reference }}")
    doc.add_paragraph("Dear {{ person.name }},")
    doc.add_paragraph().add_run(subject).bold = True
    for text in body:
        if text.startswith("## "):
            doc.add_paragraph().add_run(text[3:]).bold = True
        else:
            doc.add_paragraph(text)
    for line in CLOSE:
        doc.add_paragraph(line)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by, props.revision = title, "Casebook", "Casebook", 1
    props.created = props.modified = FIXED_TIME
    raw = io.BytesIO()
    doc.save(raw)
    return _reproducible(raw.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same zip with fixed times and order, so that an unchanged letter writes an unchanged file."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(name))
    return out.getvalue()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for stem, title, subject, body in LETTERS:
        (OUT / f"{stem}.docx").write_bytes(build(title, subject, body))
        print(f"wrote {OUT / stem}.docx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
