"""The audit log's action pick-list holds every action the code records."""
from __future__ import annotations

import ast
from pathlib import Path

from models.audit import ACTIONS

ROOT = Path(__file__).resolve().parent.parent
# Actions built at run time from pieces: what they can become.
BUILT = {"casework/share_requests.py": {"share_request_granted", "share_request_refused"},
         "admin/reference.py": {"approve_mapping", "reject_mapping", "approve_mapping_removal",
                                "reject_mapping_removal"}}


def _constants(node: ast.AST) -> set[str] | None:
    """The strings an action expression can be, when they are all written out (a literal or a choice of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _constants(node.body), _constants(node.orelse)
        return body | orelse if body is not None and orelse is not None else None
    return None


def recorded_actions() -> tuple[set[str], list[str]]:
    """(actions written out in calls to audit.record, files that build one from pieces)."""
    found, built = set(), []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "migrations/")) or "node_modules" in rel:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit" and node.args:
                values = _constants(node.args[0])
                if values is None:
                    built.append(rel)
                else:
                    found |= values
    return found, built


def test_every_recorded_action_is_offered():
    found, built = recorded_actions()
    assert len(found) > 80   # the scan sees the code
    assert not found - set(ACTIONS), "add these to models.audit.ACTIONS"
    assert set(built) <= set(BUILT), "an action built at run time: add what it can become to BUILT and ACTIONS"
    for rel in built:
        assert BUILT[rel] <= set(ACTIONS)
    assert list(ACTIONS) == sorted(set(ACTIONS))
