"""Build a WTForms form from a work item's field definitions (declared in the diagram)."""
from __future__ import annotations

from typing import Any

from wtforms import (IntegerField, RadioField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from admin.forms import Form, TypedDateField
from workflows.formdata import is_multiple


class CheckboxesField(SelectMultipleField):
    """A multi-select rendered as a list of checkboxes (keyboard and screen-reader friendly)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _flag(field: dict[str, Any], name: str) -> bool:
    return str(field.get("properties", {}).get(name, "")).lower() in ("true", "1", "yes")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field(spec: dict[str, Any]):
    rules = spec.get("validation", {})
    required = "required" in rules and "readonly" not in rules
    help_text = spec.get("properties", {}).get("help") or ""
    base = [InputRequired()] if required else [Optional()]
    kwargs: dict[str, Any] = {"label": spec.get("label") or spec["id"], "description": help_text}
    if "readonly" in rules:
        kwargs["render_kw"] = {"readonly": True, "disabled": True}
    kind = spec["type"]
    if kind == "long":
        lo, hi = _int(rules.get("min")), _int(rules.get("max"))
        extra = [NumberRange(min=lo, max=hi)] if lo is not None or hi is not None else []
        return IntegerField(validators=base + extra, **kwargs)
    if kind == "boolean":
        choices = [SelectChoice("true", "Yes"), SelectChoice("false", "No")]
        return RadioField(choices=choices, validators=base, **kwargs)
    if kind == "date":   # typed as people write it (01/04/2026, 1/4/26, 2026-04-01), not a browser picker
        return TypedDateField(validators=base, required=required, **kwargs)
    if kind == "enum":
        options = [SelectChoice(o[0], o[1]) for o in spec.get("options", [])]
        if is_multiple(spec):
            return CheckboxesField(choices=options, validators=base, **kwargs)
        blank = [SelectChoice("", "— choose —")]
        return SelectField(choices=blank + options, validators=base, validate_choice=False, **kwargs)
    lo, hi = _int(rules.get("minlength")), _int(rules.get("maxlength"))
    extra = [Length(min=lo or -1, max=hi or -1)] if lo is not None or hi is not None else []
    cls = TextAreaField if _flag(spec, "multiline") else StringField
    return cls(validators=base + extra, **kwargs)


def form_class_for(fields: list[dict[str, Any]]) -> type[Form]:
    """A form class with one field per diagram field, in diagram order."""

    class TaskForm(Form):
        pass

    for spec in fields:
        setattr(TaskForm, spec["id"], _field(spec))
    return TaskForm


def submitted(form: Form, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The answers as the service expects them (dates as ISO text, booleans as true/false)."""
    out: dict[str, Any] = {}
    for spec in fields:
        if "readonly" in spec.get("validation", {}):
            continue
        value = getattr(form, spec["id"]).data
        if spec["type"] == "date" and value is not None:
            value = value.isoformat()
        out[spec["id"]] = value
    return out


def prefill(form: Form, fields: list[dict[str, Any]]) -> None:
    """Show each field's default (from the diagram) on a fresh form."""
    from datetime import date

    for spec in fields:
        default = spec.get("default")
        if default in (None, ""):
            continue
        target = getattr(form, spec["id"])
        if spec["type"] == "long":
            target.data = _int(default)
        elif spec["type"] == "date":
            try:
                target.data = date.fromisoformat(default)
            except ValueError:
                pass
        elif spec["type"] == "boolean":
            target.data = "true" if str(default).lower() in ("true", "1", "yes") else "false"
        else:
            target.data = default
