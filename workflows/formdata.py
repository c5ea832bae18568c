"""Server-side coercion and validation of submitted values against a diagram's form fields."""
from __future__ import annotations

from datetime import date
from typing import Any

SUPPORTED_TYPES = ("string", "long", "boolean", "date", "enum")
CONSTRAINTS = ("required", "min", "max", "minlength", "maxlength", "readonly")
MAX_TEXT = 20_000
_TRUE = {True, "true", "on", "1", 1, "yes", "y"}
_FALSE = {False, "false", "off", "0", 0, "no", "n"}


def is_multiple(field: dict[str, Any]) -> bool:
    """A multi-select enum (`camunda:property id="multiple" value="true"`)."""
    return field["type"] == "enum" and str(field.get("properties", {}).get("multiple", "")).lower() in ("true", "1", "yes")


def _number(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError


def _one(field: dict[str, Any], value: Any) -> Any:
    """Coerce one non-empty value; raises ValueError with the message to show."""
    kind = field["type"]
    if kind == "long":
        try:
            return _number(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "boolean":
        key = value.strip().lower() if isinstance(value, str) else value
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise ValueError("must be true or false")
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()[:10] if isinstance(value, str) and "T" in value
                                      else str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if kind == "enum":
        allowed = [opt[0] for opt in field.get("options", [])]
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of the options: {', '.join(map(str, allowed))}")
        return value
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("must be text")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text


def _check_rules(field: dict[str, Any], value: Any) -> None:
    rules = field.get("validation", {})
    if field["type"] == "long":
        if rules.get("min") not in (None, "") and value < int(rules["min"]):
            raise ValueError(f"must be at least {rules['min']}")
        if rules.get("max") not in (None, "") and value > int(rules["max"]):
            raise ValueError(f"must be at most {rules['max']}")
    if field["type"] == "date":
        if rules.get("min") not in (None, "") and value < str(rules["min"]):
            raise ValueError(f"must be on or after {rules['min']}")
        if rules.get("max") not in (None, "") and value > str(rules["max"]):
            raise ValueError(f"must be on or before {rules['max']}")
    if field["type"] == "string":
        if rules.get("minlength") not in (None, "") and len(value) < int(rules["minlength"]):
            raise ValueError(f"must be at least {rules['minlength']} characters")
        if rules.get("maxlength") not in (None, "") and len(value) > int(rules["maxlength"]):
            raise ValueError(f"must be at most {rules['maxlength']} characters")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def coerce_and_validate(fields: list[dict[str, Any]], raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (data, errors). Every field is present in data (None when empty) so conditions never
    meet an undefined name; read-only fields keep their default; unknown keys are errors."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = {f["id"] for f in fields}
    for key in raw:
        if key not in known:
            errors[key] = "is not a field of this form"
    for field in fields:
        fid, rules = field["id"], field.get("validation", {})
        value = field.get("default") if "readonly" in rules else raw.get(fid)
        if _empty(value) and field.get("default") not in (None, ""):
            value = field["default"]
        if _empty(value):
            if "required" in rules and "readonly" not in rules:
                errors[fid] = "is required"
            data[fid] = [] if is_multiple(field) else None
            continue
        try:
            if is_multiple(field):
                values = value if isinstance(value, list) else [value]
                data[fid] = [_one(field, v) for v in values]
            else:
                if isinstance(value, list):
                    raise ValueError("must be a single value")
                coerced = _one(field, value)
                _check_rules(field, coerced)
                data[fid] = coerced
        except ValueError as exc:
            errors[fid] = str(exc)
    return data, errors


def _when(value: str) -> str:
    """An ISO date (or date-time) as people write it: 20/03/2030."""
    try:
        return date.fromisoformat(value[:10]).strftime("%d/%m/%Y") if len(value) >= 10 and value[4] == "-" else value
    except ValueError:
        return value


def _plain(field: dict[str, Any] | None, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    names = {str(k): str(v) for k, v in (field or {}).get("options") or []}
    if isinstance(value, (list, tuple)):
        return ", ".join(names.get(str(v), _plain(None, v)) for v in value)
    text = str(value)
    if field is not None and field.get("type") == "date" or (field is None and text[:4].isdigit()):
        return _when(text)
    return names.get(text, text)


def readable(fields: list[dict[str, Any]], answers: dict[str, Any]) -> list[tuple[str, str]]:
    """A step's answers as people read them: the diagram's labels and option names, in form order, yes/no,
    dates written out; empty answers and what the form only showed (read-only fields) left out. Values the step
    added beyond its form (a meeting's date, an operation's result) follow under their names."""
    out: list[tuple[str, str]] = []
    known = set()
    for field in fields:
        known.add(field["id"])
        value = answers.get(field["id"])
        if "readonly" in (field.get("validation") or {}) or _empty(value):
            continue
        out.append((field.get("label") or field["id"], _plain(field, value)))
    for key, value in answers.items():
        if key in known or _empty(value) or key.endswith("_id") or isinstance(value, dict) \
                or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            continue
        out.append((key.replace("_", " ").capitalize(), _plain(None, value)))
    return out
