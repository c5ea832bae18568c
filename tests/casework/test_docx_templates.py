"""Word templates as data: only documented placeholders and if-blocks pass the upload check; damaged and hostile
packages are refused with a message; letters are filled in with values escaped."""
from __future__ import annotations

import io
import zipfile

import pytest

from casework import docx_templates
from casework.errors import InvalidInput
from tests.casework.test_letters import make_docx, text_of, with_part


@pytest.mark.parametrize("body, named", [
    ("Dear {{ person.shoe_size }}", "person.shoe_size"),
    ("{{ nonsense }}", "nonsense"),
    ("{{ ''.__class__ }}", "literal values"),
    ("{{ case.reference.__class__ }}", "case.reference.__class__"),
    ("{% import 'os' as os %}", "imports"),
    ("{% include 'x' %}", "includes"),
    ("{{ case.reference|upper }}", "filters"),
    ("{% for x in case %}{{ x }}{% endfor %}", "loops"),
    ("{{ lipsum() }}", "function calls"),
    ("{% set x = 1 %}", "set"),
    ("{{ case['reference'] }}", "[...]"),
    ("{% if case.reference > 'a' %}x{% endif %}", "compare"),
    ("{{ case.reference ", "not written correctly"),
    ("{% if case.reference %}no end", "not written correctly"),
])
def test_bad_placeholders_are_refused_and_named(body, named):
    """Is anything beyond the documented placeholders refused with a message saying what, and nothing stored?"""
    with pytest.raises(InvalidInput) as refused:
        docx_templates.inspect(make_docx("Hello", body))
    assert named in refused.value.fields["file"]


def test_placeholders_in_headers_are_checked_too():
    with pytest.raises(InvalidInput) as refused:
        docx_templates.inspect(make_docx("Hello", header="{{ sender.shoe_size }}"))
    assert "sender.shoe_size" in refused.value.fields["file"] and "a header" in refused.value.fields["file"]
    assert docx_templates.inspect(make_docx("Hello", header="{{ case.reference }}")) == ["case.reference"]


@pytest.mark.parametrize("data, says", [
    (b"", "empty"),
    (b"just some text, not a zip", "not a Word document"),
    (b"%PDF-1.4 not a docx", "not a Word document"),
])
def test_not_a_docx_is_refused(data, says):
    with pytest.raises(InvalidInput) as refused:
        docx_templates.inspect(data)
    assert says in refused.value.fields["file"]


def test_broken_xml_a_zip_bomb_and_doctypes_are_refused():
    """Are damaged or hostile packages refused with a clear message?"""
    good = make_docx("Dear {{ person.name }}")
    broken = with_part(good, "word/document.xml", b"<w:document xmlns:w='x'><w:body><w:p>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        bomb.writestr("word/document.xml", b"\0" * (60 * 1024 * 1024))
    entity = with_part(good, "word/styles.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    no_document = with_part(make_docx("x"), "word/document.xml", b"")
    cases = [(broken, "damaged"), (out.getvalue(), "zip bomb"), (entity, "document type"),
             (no_document, "damaged"), (b"x" * (docx_templates.MAX_BYTES + 1), "too large")]
    for data, says in cases:
        with pytest.raises(InvalidInput) as refused:
            docx_templates.inspect(data)
        assert says in refused.value.fields["file"], refused.value.fields


def test_values_are_written_as_text_and_empty_paragraph_blocks_go():
    """Is a value with XML, Jinja or control characters in it written as text, an address on its lines, and a
    {%p if %} block with nothing to show left out (the letter opens with python-docx)?"""
    data = make_docx("To {{ person.name }}", "Address: {{ person.address }}", "{%p if process.missing %}",
                     "NOT SHOWN {{ process.missing }}", "{%p endif %}", "{% if process.decided_on %}on "
                     "{{ process.decided_on }}{% endif %}{% if not process.missing %}, nothing missing{% endif %}")
    used = docx_templates.inspect(data)
    assert used == ["person.address", "person.name", "process.decided_on", "process.missing"]
    out = docx_templates.render(data, {"person": {"name": '<w:p>{{ 7*7 }} & "Jo"</w:p>\x07',
                                                  "address": "1 High St\r\nMansfield"},
                                       "process": {"decided_on": "2 March 2027", "items": "an answer"}})
    text = text_of(out)
    assert 'To <w:p>{{ 7*7 }} & "Jo"</w:p>' in text and "Address: 1 High St\nMansfield" in text
    assert "NOT SHOWN" not in text and "on 2 March 2027, nothing missing" in text


def test_a_group_of_values_offers_nothing_but_its_values():
    """Does `process.items` name an answer, never a dict's method (the sandbox's getattr sees no methods)?"""
    data = make_docx("{{ process.items }}|{{ process.keys }}")
    assert docx_templates.inspect(data) == ["process.items", "process.keys"]
    assert "an answer|" in text_of(docx_templates.render(data, {"process": {"items": "an answer"}}))


def test_every_shipped_letter_passes_its_own_check():
    from casework import letters

    for _key, _name, filename in letters.DEFAULTS:
        used = docx_templates.inspect((letters.DATA / filename).read_bytes())
        assert "person.name" in used and "case.reference" in used
