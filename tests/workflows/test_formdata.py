"""Server-side validation of form answers against the diagram's field definitions."""
from __future__ import annotations

import pytest

from workflows.formdata import coerce_and_validate

FIELDS = [
    {"id": "name", "label": "Name", "type": "string", "validation": {"required": None, "minlength": "2",
                                                                     "maxlength": "5"}},
    {"id": "score", "label": "Score", "type": "long", "default": "0", "validation": {"min": "0", "max": "27"}},
    {"id": "kind", "label": "Kind", "type": "enum", "options": [["a", "A"], ["b", "B"]], "validation": {}},
    {"id": "needs", "label": "Needs", "type": "enum", "options": [["x", "X"], ["y", "Y"]], "validation": {},
     "properties": {"multiple": "true"}},
    {"id": "ok", "label": "OK", "type": "boolean", "validation": {}},
    {"id": "on", "label": "On", "type": "date", "validation": {"max": "2030-01-01"}},
    {"id": "fixed", "label": "Fixed", "type": "string", "default": "set", "validation": {"readonly": None}},
]


def test_valid_answers_are_coerced():
    data, errors = coerce_and_validate(FIELDS, {"name": "Ann", "score": "12", "kind": "b", "needs": ["x", "y"],
                                                "ok": "on", "on": "2026-01-31", "fixed": "ignored"})
    assert errors == {}
    assert data == {"name": "Ann", "score": 12, "kind": "b", "needs": ["x", "y"], "ok": True, "on": "2026-01-31",
                    "fixed": "set"}


def test_empty_optional_fields_are_present():
    data, errors = coerce_and_validate(FIELDS, {"name": "Ann"})
    assert errors == {}
    assert data == {"name": "Ann", "score": 0, "kind": None, "needs": [], "ok": None, "on": None, "fixed": "set"}


@pytest.mark.parametrize("answers, field, message", [
    ({}, "name", "is required"),
    ({"name": "A"}, "name", "at least 2 characters"),
    ({"name": "Annabel"}, "name", "at most 5 characters"),
    ({"name": "Ann", "score": "many"}, "score", "whole number"),
    ({"name": "Ann", "score": 28}, "score", "at most 27"),
    ({"name": "Ann", "score": -1}, "score", "at least 0"),
    ({"name": "Ann", "score": True}, "score", "whole number"),
    ({"name": "Ann", "kind": "c"}, "kind", "not one of the options"),
    ({"name": "Ann", "needs": ["x", "z"]}, "needs", "not one of the options"),
    ({"name": "Ann", "ok": "perhaps"}, "ok", "true or false"),
    ({"name": "Ann", "on": "2026-02-30"}, "on", "YYYY-MM-DD"),
    ({"name": "Ann", "on": "2031-01-01"}, "on", "on or before"),
    ({"name": "Ann", "extra": 1}, "extra", "not a field"),
    ({"name": ["Ann"]}, "name", "single value"),
])
def test_bad_answers(answers, field, message):
    _data, errors = coerce_and_validate(FIELDS, answers)
    assert message in errors[field]
