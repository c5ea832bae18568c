"""Word templates as data: check an uploaded .docx (only documented placeholders and plain if-blocks, no code,
no broken or hostile packages) and fill one in inside Jinja's sandbox with every value escaped (docxtpl, which is
python-docx and Jinja2). casework/letters.py keeps the versions and writes the letters; docs/letters.md is the
leads' guide."""
from __future__ import annotations

import io
import logging
import re
import zipfile
from typing import Any

from docx import Document
from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from casework import filecheck
from casework.errors import InvalidInput

log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024          # an uploaded template (a letterhead with a logo is well under 1 MB)
MAX_UNPACKED = 40 * 1024 * 1024      # all its parts unpacked: more is a zip bomb, not a letter
# Every placeholder a template may use, with what it is filled with (docs/letters.md lists the same).
PLACEHOLDERS: dict[str, str] = {
    "today": "today's date, e.g. 3 March 2027",
    "case.reference": "the case reference, e.g. CB-2027-000123",
    "case.title": "the case title",
    "case.type": "the case type, e.g. Victim support",
    "case.opened_on": "the date the case was opened",
    "case.area": "the case's area (empty if not set)",
    "case.lead_organisation": "the organisation leading the case",
    "person.name": "the person's given and family name as written, e.g. Jane Doe",
    "person.full_name": "the name as records show it, family name in capitals, e.g. Jane DOE",
    "person.given_name": "the person's given name(s)",
    "person.family_name": "the person's family name",
    "person.address": "the person's address, one line per line",
    "person.date_of_birth": "the person's date of birth (empty if not known)",
    "person.role": "the person's role on the case, e.g. Victim",
    "organisation.name": "the writer's organisation (the sender)",
    "organisation.email": "the organisation's shared mailbox (empty if it has none)",
    "organisation.area": "the organisation's area (empty if not set)",
    "sender.name": "the name of the person writing the letter",
    "sender.email": "the e-mail address of the person writing the letter",
    "crime_reference": "the crime reference recorded in a step of the case's processes (empty if none)",
    "offence": "the offence category recorded in a step of the case's processes (empty if none)",
    "process.<field>": "any answer given in a step of the case's processes, by the field's id (e.g. "
                       "process.threshold_reasons); dates are written out, choices by their label",
}
_PROCESS = re.compile(r"^process\.[a-z][a-z0-9_]{0,63}$")
_NODE_WORDS = {"Filter": "filters (|...)", "Call": "function calls", "For": "loops", "Macro": "macros",
               "Import": "imports", "FromImport": "imports", "Include": "includes", "Extends": "extends",
               "Assign": "set", "AssignBlock": "set", "Block": "blocks", "With": "with", "CallBlock": "call",
               "FilterBlock": "filter", "Const": "literal values", "Getitem": "[...]", "Test": "tests (is ...)",
               "CondExpr": "inline if", "Concat": "~", "Scope": "scoped blocks"}


class Refused(Exception):
    """What is wrong with a template, in words for the lead who uploaded it."""


def environment() -> SandboxedEnvironment:
    """The Jinja environment letters are rendered in: sandboxed, autoescaped, None written as nothing."""
    return SandboxedEnvironment(autoescape=True, finalize=lambda v: "" if v is None else v)


# ---- checking a template ---------------------------------------------------------------------------------

def _check_package(data: bytes) -> None:
    """A .docx by its content, checked as every upload is (casework/filecheck.py: zip bombs, parts that lie about
    their size, macros), small enough to be a letter, and no XML with a document type (entity tricks)."""
    if not data:
        raise Refused("the file is empty")
    if len(data) > MAX_BYTES:
        raise Refused(f"the file is too large ({len(data) // 1024} KB; the limit is {MAX_BYTES // 1024 // 1024} MB)")
    try:
        kind = filecheck.detect(data)
    except InvalidInput as exc:
        raise Refused(f"the file is not a Word document (.docx) that can be used: {exc.fields['file']}") from None
    if kind != filecheck.DOCX:
        raise Refused("the file is not a Word document (.docx): save it from Word as .docx, not .doc or .pdf")
    with zipfile.ZipFile(io.BytesIO(data)) as package:   # its sizes are honest now (filecheck read every part)
        infos = package.infolist()
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise Refused("the file unpacks to far more than a letter holds (a zip bomb?)")
        for info in infos:
            if info.filename.endswith((".xml", ".rels")) and b"<!DOCTYPE" in package.read(info)[:4096].upper():
                raise Refused(f"{info.filename} declares a document type, which Word never writes")


def _sources(data: bytes) -> list[tuple[str, str]]:
    """Every text docxtpl renders, as it renders it: (where, source)."""
    tpl = DocxTemplate(io.BytesIO(data))
    tpl.init_docx()
    out = [("the body", tpl.patch_xml(tpl.get_xml()))]
    for where, uri in (("a header", tpl.HEADER_URI), ("a footer", tpl.FOOTER_URI)):
        out += [(where, tpl.patch_xml(tpl.get_part_xml(part))) for _key, part in tpl.get_headers_footers(uri)]
    for part in tpl.docx.part.package.parts:
        if part.content_type.endswith("wordprocessingml.footnotes+xml"):
            out.append(("the footnotes", tpl.patch_xml(part.blob.decode("utf-8"))))
    props = tpl.docx.core_properties
    out += [(f"the document's {p} property", getattr(props, p) or "")
            for p in ("author", "comments", "identifier", "language", "subject", "title")]
    return out


def _near(source: str, lineno: int | None) -> str:
    """The words around a line of the XML, without its tags (what the lead sees in Word)."""
    lines = source.splitlines()
    if not lineno or lineno > len(lines):
        return ""
    text = re.sub(r"<[^>]+>", "", " ".join(lines[max(lineno - 2, 0):lineno + 1]))
    return " ".join(text.split())[:120]


def _path(expr: nodes.Expr) -> str:
    """The placeholder an expression names ("case.reference"), or Refused."""
    if isinstance(expr, nodes.Name) and expr.ctx == "load":
        name = expr.name
    elif isinstance(expr, nodes.Getattr):
        name = f"{_path(expr.node)}.{expr.attr}"
    else:
        raise Refused(_word(expr))
    return name


def _placeholder(expr: nodes.Expr) -> str:
    name = _path(expr)
    if name not in PLACEHOLDERS and not _PROCESS.match(name):
        raise Refused(f"the placeholder {{{{ {name} }}}} does not exist (the placeholders are listed on the "
                      "Letter templates screen)")
    return name


def _word(node: nodes.Node) -> str:
    what = _NODE_WORDS.get(type(node).__name__, type(node).__name__.lower())
    return f"only placeholders such as {{{{ case.reference }}}} and {{% if ... %}} blocks may be used, not {what}"


def _test(expr: nodes.Expr, used: set[str]) -> None:
    """An if's condition: a placeholder, `not`, `and`/`or`, or a placeholder == / != a quoted text."""
    if isinstance(expr, nodes.Not):
        _test(expr.node, used)
    elif isinstance(expr, (nodes.And, nodes.Or)):
        _test(expr.left, used)
        _test(expr.right, used)
    elif isinstance(expr, nodes.Compare):
        if len(expr.ops) != 1 or expr.ops[0].op not in ("eq", "ne") or not (
                isinstance(expr.ops[0].expr, nodes.Const) and isinstance(expr.ops[0].expr.value, str)):
            raise Refused("a condition may compare a placeholder with a quoted text (== or !=), nothing else")
        used.add(_placeholder(expr.expr))
    else:
        used.add(_placeholder(expr))


def _walk(node: nodes.Node, used: set[str]) -> None:
    if isinstance(node, nodes.Template):
        for child in node.body:
            _walk(child, used)
    elif isinstance(node, nodes.Output):
        for child in node.nodes:
            if not isinstance(child, nodes.TemplateData):
                used.add(_placeholder(child))
    elif isinstance(node, nodes.If):
        _test(node.test, used)
        for child in [*node.body, *node.elif_, *node.else_]:
            _walk(child, used)
    else:
        raise Refused(_word(node))


def _leftovers(rendered: bytes) -> str | None:
    """A placeholder left unfilled in a part docxtpl does not render (comments, endnotes), if any."""
    with zipfile.ZipFile(io.BytesIO(rendered)) as package:
        for info in package.infolist():
            if info.filename.endswith(".xml"):
                text = re.sub(r"<[^>]+>", "", package.read(info).decode("utf-8", "replace"))
                if "{{" in text or "{%" in text:
                    return info.filename
    return None


def inspect(data: bytes) -> list[str]:
    """Check an uploaded template and return the placeholders it uses.

    :raise InvalidInput: on "file", saying what is wrong: not a .docx, broken XML, a placeholder that does not
        exist, anything beyond placeholders and if-blocks, or a letter that would not open once written
    """
    try:
        return _inspect(data)
    except Refused as exc:
        raise InvalidInput({"file": str(exc)}) from None


def _inspect(data: bytes) -> list[str]:
    _check_package(data)
    try:
        sources = _sources(data)
    except Exception as exc:   # python-docx and lxml raise many kinds; none of them may become a 500
        log.info("letter template refused: %r", exc)
        raise Refused("the file is damaged: Word's XML inside it cannot be read (open it in Word and save it "
                      "again as .docx)") from None
    env, used = environment(), set()
    for where, source in sources:
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as exc:
            near = _near(source, exc.lineno)
            raise Refused(f"a placeholder in {where} is not written correctly ({exc.message})"
                          + (f" near “{near}”" if near else "")) from None
        try:
            _walk(tree, used)
        except Refused as exc:
            raise Refused(f"{exc}; in {where}") from None
    try:
        rendered = render(data, sample_context())
        Document(io.BytesIO(rendered))
    except Refused:
        raise
    except Exception as exc:
        log.info("letter template refused after a trial letter: %r", exc)
        raise Refused("a letter written from it would not open: check that each {% if %} has its {% endif %} "
                      "in the same paragraph or table") from None
    part = _leftovers(rendered)
    if part:
        raise Refused(f"{part} holds a placeholder letters cannot fill (in a comment or an endnote?)")
    return sorted(used)


def render(content: bytes, context: dict[str, Any]) -> bytes:
    """The letter: the template filled in with the context, in the sandbox, values escaped."""
    tpl = DocxTemplate(io.BytesIO(content))
    tpl.render({k: _clean(v) for k, v in context.items()}, jinja_env=environment(), autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


_NOT_XML = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


def _clean(value: Any) -> Any:
    """Values as text Word can hold (control characters out: docxtpl gives \\a and \\f meanings of its own);
    groups of values as _Values, so that `process.items` is an answer and never a dict's method."""
    if isinstance(value, _Values):
        return value
    if isinstance(value, dict):
        return _Values({k: _clean(v) for k, v in value.items()})
    return _NOT_XML.sub("", value.replace("\r\n", "\n")) if isinstance(value, str) else value


class _Values:
    """Named values a template reaches as `group.name`; nothing else is reachable through it."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __bool__(self) -> bool:
        return bool(self._values)


def sample_context() -> dict[str, Any]:
    """Made-up values for every placeholder (trial letters at upload)."""
    ctx: dict[str, Any] = {"process": _Anything({})}
    for name in PLACEHOLDERS:
        if not name.startswith("process."):
            head, _, tail = name.partition(".")
            if tail:
                ctx.setdefault(head, {})[tail] = f"[{name}]"
            else:
                ctx[head] = f"[{name}]"
    return ctx


class _Anything(_Values):
    __slots__ = ()

    def __getitem__(self, name: str) -> str:
        return f"[process.{name}]"
