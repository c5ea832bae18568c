"""API fixtures: a small partnership with a bearer token per user."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from casework import tokens
from models import db
from tests.factories import make_org, make_user

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass
class Api:
    client: Any
    token: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str):
        return self.client.get(f"/api/v1{url}", headers=self._headers())

    def post(self, url: str, json: Any = None, **kwargs):
        return self.client.post(f"/api/v1{url}", json=json, headers=self._headers(), **kwargs)

    def deploy(self, name_or_xml: str, filename: str = "upload.bpmn"):
        text = name_or_xml if name_or_xml.lstrip().startswith("<") else (DATA / name_or_xml).read_text()
        from io import BytesIO

        return self.client.post("/api/v1/processes", headers=self._headers(),
                                data={"file": (BytesIO(text.encode()), filename)},
                                content_type="multipart/form-data")


@pytest.fixture
def partnership(ctx):
    police = make_org("notts_police", "police", "Nottinghamshire Police")
    vs = make_org("victim_services", "victim_services", "Victim Services")
    council = make_org("mansfield", "council", "Mansfield District Council")
    users = {
        "pc": make_user(police, "practitioner", email="pc@police.example.org"),
        "vs": make_user(vs, "practitioner", email="cw@vs.example.org"),
        "vs_manager": make_user(vs, "manager", email="manager@vs.example.org"),
        "lead": make_user(vs, "lead", "practitioner", email="lead@vs.example.org"),
        "council": make_user(council, "practitioner", email="asb@council.example.org"),
        "auditor": make_user(police, "auditor", email="auditor@police.example.org"),
        "admin": make_user(police, "admin", email="admin@police.example.org"),
    }
    issued = {name: tokens.issue(user) for name, user in users.items()}
    db.session.commit()
    return issued


@pytest.fixture
def api(client, partnership):
    """api["pc"].get(...): a client per user."""
    return {name: Api(client, token) for name, token in partnership.items()}
