"""Walk-through harness for the shipped diagrams: a partnership with every agency type, each step done
through the JSON API by a user of the agency concerned."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from casework import areas, tokens
from models import CaseFact, Service, ServiceProvision, WorkflowInstance, db
from tests.factories import make_org, make_user
from workflows import processes

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

AGENCIES = [  # code, type, name, the services it provides (everywhere: walk-through cases have no area)
    ("notts_police", "police", "Nottinghamshire Police", ["policing"]),
    ("victim_care", "victim_services", "Victim CARE", ["victim_support", "idva"]),
    ("rj_service", "rj_service", "Restorative Nottinghamshire", ["restorative_justice"]),
    ("mansfield", "council", "Mansfield District Council", ["community_safety", "community_trigger"]),
    ("city_homes", "housing", "Nottingham City Homes", ["housing"]),
    ("notts_fire", "fire", "Nottinghamshire Fire and Rescue", ["fire"]),
    ("probation", "probation", "Probation Service", ["probation"]),
    ("health", "health", "NHS Nottinghamshire", ["health"]),
    ("vpp_panel", "panel", "Mansfield Vulnerable Persons Panel",
     ["vulnerable_persons_panel", "marac", "community_trigger_appeal"]),
]


class Walk:
    """Drive a diagram through the API as the agencies concerned."""

    def __init__(self, client, runner, tokens_by_user: dict[str, str]):
        self.client, self.runner, self.tokens = client, runner, tokens_by_user

    def _headers(self, org: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[f'{role}@{org}']}"}

    def get(self, url: str, org: str = "notts_police", role: str = "practitioner"):
        return self.client.get(f"/api/v1{url}", headers=self._headers(org, role))

    def post(self, url: str, body: Any = None, org: str = "notts_police", role: str = "practitioner"):
        return self.client.post(f"/api/v1{url}", json=body, headers=self._headers(org, role))

    def deploy(self, *keys: str) -> None:
        """Deploy shipped diagrams (bpmn/<key>.bpmn) in order, as the lead."""
        for key in keys:
            definition, _ = processes.deploy((BPMN / f"{key}.bpmn").read_text())
        db.session.commit()

    def open_case(self, org: str = "notts_police", case_type: str = "hate_crime", partners: tuple[str, ...] = (),
                  people: list[dict] | None = None) -> int:
        """Open a case led by `org` (a case type with no mapped process unless you choose one)."""
        response = self.post("/cases", {"case_type": case_type, "title": "walk-through", "lead_organisation": org,
                                        "organisations": [{"code": c} for c in partners],
                                        "people": people or [{"role": "victim", "given_name": "Amira",
                                                              "family_name": "Hussain",
                                                              "date_of_birth": "1988-03-14"}]}, org=org)
        assert response.status_code == 201, response.json
        return response.json["id"]

    def start(self, case_id: int, key: str, data: dict | None = None, org: str = "notts_police") -> int:
        response = self.post(f"/cases/{case_id}/processes", {"key": key, "data": data or {}}, org=org)
        assert response.status_code == 201, response.json
        return response.json["instance_id"]

    def ready(self, case_id: int, org: str = "notts_police", role: str = "practitioner") -> list[dict]:
        response = self.get(f"/tasks?case={case_id}&status=ready", org=org, role=role)
        assert response.status_code == 200, response.json
        return response.json

    def step(self, case_id: int, bpmn_id: str, org: str) -> dict:
        """The one ready item with this id, asserting it belongs to `org`."""
        found = [t for t in self.ready(case_id, org) if t["bpmn_id"] == bpmn_id]
        assert len(found) == 1, f"{bpmn_id} not ready once: {[t['bpmn_id'] for t in self.ready(case_id, org)]}"
        assert found[0]["organisation"] == org, (bpmn_id, found[0]["organisation"], found[0]["unassigned_reason"])
        return found[0]

    def complete(self, case_id: int, bpmn_id: str, org: str, data: dict | None = None,
                 role: str = "practitioner") -> dict:
        """Complete a step as `role` of `org`; another agency cannot do it."""
        item = self.step(case_id, bpmn_id, org)
        outsider = "mansfield" if org != "mansfield" else "notts_fire"
        assert self.post(f"/tasks/{item['id']}/complete", {"data": data or {}}, org=outsider).status_code in (403, 404)
        response = self.post(f"/tasks/{item['id']}/complete", {"data": data or {}}, org=org, role=role)
        assert response.status_code == 200, (bpmn_id, response.json)
        return response.json

    def withdraw(self, service: str) -> None:
        """Nobody provides the service any more: steps for it become a routing gap."""
        db.session.execute(delete(ServiceProvision).where(ServiceProvision.service_code == service))
        db.session.commit()

    def assign(self, case_id: int, bpmn_id: str, to: str, by: str) -> dict:
        """The lead organisation (`by`) gives an unassigned step to organisation `to`."""
        (item,) = [t for t in self.ready(case_id, by) if t["bpmn_id"] == bpmn_id]
        assert item["organisation"] is None and item["unassigned_reason"], item
        response = self.post(f"/tasks/{item['id']}/assign", {"organisation": to}, org=by)
        assert response.status_code == 200, response.json
        assert response.json["organisation"] == to
        return response.json

    def ready_ids(self, case_id: int, org: str = "notts_police") -> set[str]:
        return {t["bpmn_id"] for t in self.ready(case_id, org)}

    def timers(self, at: datetime | str) -> str:
        """`flask timers run --at`: fire everything due by then."""
        text = at.isoformat() if isinstance(at, datetime) else at
        result = self.runner.invoke(args=["timers", "run", "--at", text])
        assert result.exit_code == 0, result.output
        return result.output

    def status(self, case_id: int, key: str) -> str:
        db.session.expire_all()
        rows = db.session.scalars(select(WorkflowInstance).where(WorkflowInstance.case_id == case_id)).all()
        found = [r for r in rows if r.definition.key == key]
        assert found, f"no {key} instance on case {case_id}"
        if found[-1].status.value == "error":
            return f"error: {found[-1].error_message}"
        return found[-1].status.value

    def facts(self, case_id: int, kind: str | None = None) -> dict[str, CaseFact]:
        db.session.expire_all()
        stmt = select(CaseFact).where(CaseFact.case_id == case_id)
        if kind:
            stmt = stmt.where(CaseFact.kind == kind)
        return {f.code: f for f in db.session.scalars(stmt)}


@pytest.fixture
def walk(ctx, client, runner) -> Walk:
    issued = {}
    for code, kind, name, services in AGENCIES:
        org = make_org(code, kind, name)
        for service in services:
            if db.session.get(Service, service) is None:
                areas.create_service(service, service.replace("_", " ").capitalize())
            areas.provide(service, code)
        for role in ("practitioner", "manager"):
            user = make_user(org, role, email=f"{role}@{code.replace('_', '-')}.example.org")
            issued[f"{role}@{code}"] = tokens.issue(user)
    lead = make_user(db.session.scalar(select(type(org)).where(type(org).code == "victim_care")), "lead",
                     "practitioner", email="lead@victim-care.example.org")
    issued["lead@victim_care"] = tokens.issue(lead)
    db.session.commit()
    return Walk(client, runner, issued)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
