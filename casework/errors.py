"""Domain errors: each carries a message that is safe to show to the user."""
from __future__ import annotations


class CasebookError(Exception):
    """Base class; `str(exc)` is the user-facing message."""


class InvalidInput(CasebookError):
    """Input failed validation; `fields` maps field names to messages."""

    def __init__(self, fields: dict[str, str] | str):
        self.fields = {"__all__": fields} if isinstance(fields, str) else dict(fields)
        super().__init__("; ".join(f"{k}: {v}" if k != "__all__" else v for k, v in self.fields.items()))


class StaleEdit(CasebookError):
    """Someone else changed the record since the form was loaded."""

    def __init__(self, what: str = "record"):
        super().__init__(f"This {what} was changed by someone else while you were editing it. "
                         "Nothing was saved: reload it, check their changes and make yours again.")


class NotPermitted(CasebookError):
    """The user may not do this (shown as 404 where the object must stay invisible)."""


class PossibleDuplicates(CasebookError):
    """A person being registered resembles people already registered."""

    def __init__(self, matches: list):
        self.matches = matches
        super().__init__(f"{len(matches)} possible duplicate(s) found: check before registering.")


class NotFound(CasebookError):
    """The object does not exist or the user may not see it (404)."""


class Conflict(CasebookError):
    """The action no longer applies: already completed, claimed by someone else (409)."""


class InvalidData(CasebookError):
    """Submitted form data failed validation; `errors` maps field ids to messages (422)."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
