"""People over the API: likely matches across the whole partnership, told as the caller may be told."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

import access
from api.base import body, bp, error
from casework import matching
from models import Person, db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


@bp.post("/people/matches")
def match_people():
    """{"given_name", "family_name", "date_of_birth"[, "address"]} → {"visible": [...], "known_to": [...]}:
    people the caller may see, and the names of organisations (under an agreement in force) that may know the
    person; registers nothing; audited."""
    if not access.can(current_user, access.Action.CREATE, Person):
        return error(403, "your role cannot register people")
    data = body()
    found = matching.find(current_user, data.get("given_name"), data.get("family_name"), data.get("date_of_birth"),
                          address=data.get("address") if isinstance(data.get("address"), str) else None)
    db.session.commit()
    return jsonify(visible=[{"id": p.id, "given_name": p.given_name, "family_name": p.family_name,
                             "date_of_birth": _iso(p.date_of_birth)} for p in found.visible],
                   known_to=found.known_to)
