"""The Victims' Code as reference data, and the entitlements it gives a victim on a case.

Each entitlement (Reference data → Victims' Code) says which right it belongs to, who owes it, what starts its
clock (the report, an investigation event, information from the court) and how many working days it has, standard
and under Enhanced Rights. Diagrams open the entitlements a trigger gives (`open_entitlements`) and record what
happened (`close_entitlements`); they are facts of kind `entitlement`, so the dashboard and exports report them.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select

from casework import calendar
from casework.errors import InvalidInput
from models import Case, CaseFact, CodeEntitlement, Organisation, db, utcnow

DATA = Path(__file__).resolve().parent / "data" / "victims_code_2020.json"
# What happened to an entitlement. "met" after its due time reads as met late in reports; "missed" is not met.
STATUSES = ("due", "met", "missed", "not_applicable", "victim_declined", "unable_to_contact", "deferred")
OPEN = ("due",)


def right_of(code: str) -> str:
    """The right an entitlement belongs to: R6a:2 (the second Right 6 event) → R6."""
    match = re.match(r"^(R\d+)", code)
    return match[1] if match else code


def ensure_defaults() -> int:
    """Add the shipped entitlements of the 2020 Code that are missing (rows leads changed are kept)."""
    shipped = json.loads(DATA.read_text())
    have = {(e.version, e.code, e.trigger) for e in db.session.scalars(select(CodeEntitlement))}
    added = 0
    for row in shipped["rows"]:
        if (shipped["version"], row["code"], row["trigger"]) in have:
            continue
        db.session.add(CodeEntitlement(
            version=shipped["version"], code=row["code"], right=row["right"], title=row["title"],
            owner_service=row["owner"], trigger=row["trigger"], standard_days=row.get("standard_days"),
            enhanced_days=row.get("enhanced_days"), offences=row.get("offences"),
            min_sentence_months=row.get("min_sentence_months"), source=row.get("source", ""),
            note=row.get("note"), active=True))
        added += 1
    db.session.flush()
    return added


def applies(row: CodeEntitlement, offence: str | None, sentence_months: int | None = None,
            hospital_order: bool = False) -> bool:
    """Whether an entitlement applies to this offence (and sentence, where it names a minimum)."""
    offences = {o.strip() for o in (row.offences or "").split(",") if o.strip()}
    if offences and (offence or "") not in offences:
        return False
    if row.min_sentence_months is not None and not hospital_order:
        return sentence_months is not None and sentence_months >= row.min_sentence_months
    return True


def rows_for(trigger: str, version: str = "2020") -> list[CodeEntitlement]:
    """The active entitlements a trigger gives, in the Code's order."""
    return list(db.session.scalars(select(CodeEntitlement).where(
        CodeEntitlement.version == version, CodeEntitlement.trigger == trigger, CodeEntitlement.active.is_(True))
        .order_by(CodeEntitlement.right, CodeEntitlement.code)))


def open_for(case: Case, trigger: str, clock_start: date, *, enhanced: bool, offence: str | None = None,
             sentence_months: int | None = None, hospital_order: bool = False, occurrence: str | None = None,
             exclude: list[str] | None = None, version: str = "2020", instance_id: int | None = None,
             owner_of: Callable[[str], Organisation | None] | None = None) -> dict[str, Any]:
    """Record as due each entitlement the trigger gives this victim, with its owner and due time (the clock start
    plus its working days). `occurrence` tells repeated events apart (R6a:2); `exclude` names what another process
    evidences: recorded as due like the others (its clock runs) but left out of the choices this process asks
    about. `owner_of` finds the organisation owing an entitlement from its service (the workflow layer routes).
    Returns what a diagram needs: codes, choices ([code, title]), due times, owner services."""
    rows = [r for r in rows_for(trigger, version) if applies(r, offence, sentence_months, hospital_order)]
    if not rows and not db.session.scalar(select(CodeEntitlement.id).where(CodeEntitlement.trigger == trigger)
                                          .limit(1)):
        raise InvalidInput({"trigger": f"no entitlement of the Code starts with {trigger!r}"})
    skipped = set(exclude or [])
    codes = {row.id: f"{row.code}:{occurrence}" if occurrence else row.code for row in rows}
    known = _facts(case, list(codes.values()))
    opened: list[dict[str, Any]] = []
    for row in rows:
        code = codes[row.id]
        days = row.enhanced_days if enhanced else row.standard_days
        due = (datetime.fromisoformat(calendar.add_working_days(clock_start, days))
               if days is not None else None)
        org = owner_of(row.owner_service) if owner_of else None
        fact = known.get(code)
        if fact is None:
            fact = CaseFact(case_id=case.id, kind="entitlement", code=code, status="due")
            db.session.add(fact)
        # Already recorded (met, declined, ...): keep what happened, only give it the clock it lacked; not asked.
        asked = fact.status in OPEN and row.code not in skipped
        if fact.status in OPEN:
            fact.instance_id, fact.label, fact.status, fact.completed_at = instance_id, row.title[:255], "due", None
            fact.owner_organisation_id, fact.due_at = org.id if org else None, due
            fact.detail = json.dumps({"right": row.right, "version": version, "trigger": trigger,
                                      "clock_start": clock_start.isoformat(), "enhanced": enhanced,
                                      "days": days, "source": row.source}, default=str)
        else:
            fact.due_at = fact.due_at or due
            fact.owner_organisation_id = fact.owner_organisation_id or (org.id if org else None)
        opened.append({"code": code, "title": row.title, "due": due.isoformat() if due else None,
                       "owner": row.owner_service, "asked": asked})
    db.session.flush()
    asked = [o for o in opened if o["asked"]]
    dues = [o["due"] for o in asked if o["due"]]
    by_owner: dict[str, list[list[str]]] = {}
    for o in asked:
        by_owner.setdefault(o["owner"], []).append([o["code"], o["title"]])
    return {"codes": [o["code"] for o in asked], "choices": [[o["code"], o["title"]] for o in asked],
            "choices_by_owner": by_owner, "due": {o["code"]: o["due"] for o in opened},
            "first_due": min(dues) if dues else None, "owners": sorted({o["owner"] for o in asked}),
            "evidenced_elsewhere": [o["code"] for o in opened if not o["asked"]]}


def close_each(case: Case, statuses: dict[str, str], *, done_on: date | None = None, method: str | None = None,
               evidence: str | None = None, instance_id: int | None = None) -> list[str]:
    """Record what happened to entitlements, each with its status ({"R3a": "met", "R3c": "missed"}): met (on the
    day the information was given: after the due time it reads as met late), missed, not applicable, declined by
    the victim, unable to contact, deferred at the victim's request. Returns the codes recorded."""
    wrong = sorted({s for s in statuses.values() if s not in STATUSES})
    if wrong:
        raise InvalidInput({"status": f"{', '.join(wrong)}: must be one of {', '.join(STATUSES)}"})
    when = datetime.combine(done_on, time(12, 0), tzinfo=timezone.utc) if done_on else utcnow()
    known = _facts(case, list(statuses))
    for code, status in statuses.items():
        fact = known.get(code)
        if fact is None:   # evidenced before it was opened (its process not deployed): recorded without a clock
            fact = CaseFact(case_id=case.id, kind="entitlement", code=code, instance_id=instance_id,
                            label=_title(code))
            db.session.add(fact)
        detail = json.loads(fact.detail or "{}")
        detail.update({k: v for k, v in {"method": method, "evidence": evidence,
                                         "done_on": done_on.isoformat() if done_on else None}.items() if v})
        fact.status, fact.detail = status, json.dumps(detail, default=str)
        fact.completed_at = when if status != "due" else None
    db.session.flush()
    return list(statuses)


def close(case: Case, codes: list[str], status: str, **options: Any) -> list[str]:
    """`close_each` with one status for every code."""
    return close_each(case, {str(code): status for code in codes}, **options)


def _facts(case: Case, codes: list[str]) -> dict[str, CaseFact]:
    """The case's entitlement facts with these codes, in one query."""
    if not codes:
        return {}
    return {f.code: f for f in db.session.scalars(select(CaseFact).where(
        CaseFact.case_id == case.id, CaseFact.kind == "entitlement", CaseFact.code.in_(codes)))}


def _title(code: str) -> str | None:
    row = db.session.scalar(select(CodeEntitlement.title).where(CodeEntitlement.code == code.split(":")[0]).limit(1))
    return row[:255] if row else None


def vcs(offence: str | None, sentence_months: int | None, hospital_order: bool = False,
        version: str = "2020") -> dict[str, Any]:
    """Victim Contact Scheme eligibility from the recorded offence and sentence, by the rule in the reference data
    (Right 11a: the offences it names and the minimum sentence, or a hospital order)."""
    rule = db.session.scalar(select(CodeEntitlement).where(
        CodeEntitlement.version == version, CodeEntitlement.code == "R11a", CodeEntitlement.active.is_(True)))
    if rule is None:
        return {"eligible": False, "reason": "no Victim Contact Scheme rule in the reference data"}
    eligible = applies(rule, offence, sentence_months, hospital_order)
    offences = {o.strip() for o in (rule.offences or "").split(",") if o.strip()}
    if eligible:
        reason = "a hospital order" if hospital_order else (
            f"{offence} is a specified offence and the sentence is {sentence_months} months "
            f"(at least {rule.min_sentence_months})")
    elif offences and (offence or "") not in offences:
        reason = f"{offence or 'the offence'} is not a specified violent or sexual offence in the rule"
    else:
        reason = (f"the sentence ({sentence_months if sentence_months is not None else 'none'} months) is under "
                  f"{rule.min_sentence_months} months")
    return {"eligible": eligible, "reason": reason}
