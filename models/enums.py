"""Closed vocabularies shared by models, access control, forms and the CLI."""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class OrgType(StrEnum):
    POLICE = "police"
    VICTIM_SERVICES = "victim_services"
    RJ_SERVICE = "rj_service"
    COUNCIL = "council"
    HOUSING = "housing"
    FIRE = "fire"
    PROBATION = "probation"
    HEALTH = "health"
    PANEL = "panel"
    OTHER = "other"


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    MANAGER = "manager"
    LEAD = "lead"
    AUDITOR = "auditor"
    ADMIN = "admin"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RiskLevel(StrEnum):
    NOT_ASSESSED = "not_assessed"
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class ParticipantRole(StrEnum):
    VICTIM = "victim"
    OFFENDER = "offender"
    WITNESS = "witness"
    VULNERABLE_PERSON = "vulnerable_person"
    FAMILY_MEMBER = "family_member"
    OTHER = "other"


# Words a plain capitalisation gets wrong: abbreviations people write in capitals, and codes that read better whole.
ABBREVIATIONS = {"asb": "ASB", "mfa": "MFA", "isa": "ISA", "sso": "SSO", "marac": "MARAC", "idva": "IDVA",
                 "vpp": "VPP", "api": "API", "rj": "RJ", "icb": "ICB", "pdf": "PDF", "opcc": "OPCC"}
WHOLE = {"rj_service": "Restorative justice service", "rj_outcome": "Restorative justice outcome"}


def label(value: str) -> str:
    """Human label for an enum value or code ("victim_services" -> "Victim services", "reset_mfa" -> "Reset MFA",
    "rj_service" -> "Restorative justice service")."""
    if value in WHOLE:
        return WHOLE[value]
    words = [ABBREVIATIONS.get(w, w) for w in value.split("_") if w]
    if not words:
        return value
    first = words[0] if words[0] in ABBREVIATIONS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def choices(enum_cls: type[StrEnum]) -> list[tuple[str, str]]:
    """WTForms choices for an enum."""
    return [(m.value, label(m.value)) for m in enum_cls]


def column_type(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable VARCHAR + CHECK column type holding the enum's values."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)
