"""The CLI contract: names, options, one-line errors, non-zero exits, idempotence."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import access
from models import CaseType, Organisation, Person, User, db
from models.reference import DEFAULT_CASE_TYPES


def _one_line_error(result) -> str:
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_init_db_is_idempotent_and_seeds_case_types(runner, ctx):
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    codes = set(db.session.scalars(select(CaseType.code)))
    assert {c for c, _ in DEFAULT_CASE_TYPES} <= codes
    assert len(DEFAULT_CASE_TYPES) == 14


def test_seed_demo_is_idempotent(runner, ctx):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = (_count(Organisation), _count(User), _count(Person))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    db.session.expire_all()
    assert (_count(Organisation), _count(User), _count(Person)) == counts
    names = set(db.session.scalars(select(Organisation.name)))
    for expected in ("Nottinghamshire Police", "Nottingham City Council", "Nottinghamshire County Council",
                     "Ashfield District Council", "Bassetlaw District Council", "Broxtowe Borough Council",
                     "Gedling Borough Council", "Mansfield District Council",
                     "Newark and Sherwood District Council", "Rushcliffe Borough Council",
                     "Nottingham City Homes", "Nottinghamshire Fire and Rescue Service", "Probation Service",
                     "Office of the Police and Crime Commissioner"):
        assert expected in names
    types = set(db.session.scalars(select(Organisation.type)))
    assert {"victim_services", "rj_service", "police", "council"} <= {t.value for t in types}
    roles = {r.value for u in db.session.scalars(select(User)) for r in u.roles}
    assert roles == {"practitioner", "manager", "lead", "auditor", "admin"}


def test_orgs_create(runner, ctx):
    result = runner.invoke(args=["orgs", "create", "notts_police", "--name", "Nottinghamshire Police",
                                 "--type", "police"])
    assert result.exit_code == 0, result.output
    org = db.session.scalar(select(Organisation).where(Organisation.code == "notts_police"))
    assert org.type.value == "police" and org.name == "Nottinghamshire Police"


@pytest.mark.parametrize("args, message", [
    (["orgs", "create", "dup", "--name", "Second", "--type", "police"], "already exists"),
    (["orgs", "create", "newone", "--name", "X", "--type", "spaceforce"], "'spaceforce' is not one of"),
    (["orgs", "create", "newone", "--type", "police"], "name: is required"),
    (["orgs", "create", "Bad Code!", "--name", "X", "--type", "police"], "not a valid code"),
    (["orgs", "create", "newone", "--name", "x" * 121, "--type", "police"], "too long"),
])
def test_orgs_create_bad_input(runner, ctx, args, message):
    assert runner.invoke(args=["orgs", "create", "dup", "--name", "First", "--type", "council"]).exit_code == 0
    before = _count(Organisation)
    line = _one_line_error(runner.invoke(args=args))
    assert message in line
    db.session.expire_all()
    assert _count(Organisation) == before


def test_users_create_with_repeated_roles(runner, ctx):
    runner.invoke(args=["orgs", "create", "vs", "--name", "Victim Services", "--type", "victim_services"])
    result = runner.invoke(args=["users", "create", "Jo@Example.org", "--name", "Jo Bloggs", "--org", "vs",
                                 "--role", "practitioner", "--role", "manager", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "jo@example.org"))
    assert {r.value for r in user.roles} == {"practitioner", "manager"}
    assert user.organisation.code == "vs"
    assert user.password_hash.startswith("scrypt:")


def test_users_create_generates_password(runner, ctx):
    runner.invoke(args=["orgs", "create", "vs", "--name", "Victim Services", "--type", "victim_services"])
    result = runner.invoke(args=["users", "create", "gen@example.org", "--name", "Gen", "--org", "vs",
                                 "--role", "auditor"])
    assert result.exit_code == 0, result.output
    assert "initial password:" in result.output


@pytest.mark.parametrize("args, message", [
    (["--name", "A", "--org", "vs", "--role", "wizard"], "'wizard' is not one of"),
    (["--name", "A", "--org", "nope", "--role", "manager"], "no organisation with code 'nope'"),
    (["--name", "A", "--org", "vs"], "at least one role"),
    (["--name", "A", "--org", "vs", "--role", "manager", "--password", "short"], "at least 12"),
    (["--org", "vs", "--role", "manager"], "name: is required"),
])
def test_users_create_bad_input(runner, ctx, args, message):
    runner.invoke(args=["orgs", "create", "vs", "--name", "Victim Services", "--type", "victim_services"])
    before = _count(User)
    line = _one_line_error(runner.invoke(args=["users", "create", "new@example.org", *args]))
    assert message in line
    db.session.expire_all()
    assert _count(User) == before


@pytest.mark.parametrize("email, message", [("not-an-email", "not a valid e-mail"),
                                            ("dup@example.org", "already exists")])
def test_users_create_bad_email(runner, ctx, email, message):
    runner.invoke(args=["orgs", "create", "vs", "--name", "Victim Services", "--type", "victim_services"])
    runner.invoke(args=["users", "create", "dup@example.org", "--name", "D", "--org", "vs", "--role", "lead",
                        "--password", "a-long-password"])
    line = _one_line_error(runner.invoke(args=["users", "create", email, "--name", "A", "--org", "vs",
                                               "--role", "lead", "--password", "a-long-password"]))
    assert message in line


def test_audit_verify_ok(runner, ctx):
    runner.invoke(args=["seed-demo"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "audit chain OK" in result.output


def test_commands_are_registered_on_app_cli(app):
    for name in ("init-db", "seed-demo", "orgs", "users", "audit"):
        assert name in app.cli.commands


DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data"


def test_processes_deploy_check_list(runner, ctx):
    path = str(DATA / "referral_test.bpmn")
    checked = runner.invoke(args=["processes", "check", path])
    assert checked.exit_code == 0 and "OK (referral_test)" in checked.output
    first = runner.invoke(args=["processes", "deploy", path])
    assert first.exit_code == 0 and "deployed referral_test version 1" in first.output
    again = runner.invoke(args=["processes", "deploy", path])
    assert "unchanged referral_test version 1" in again.output
    listed = runner.invoke(args=["processes", "list"])
    assert listed.output.startswith("referral_test\tv1\t")


def test_processes_check_reports_element_and_line(runner, ctx, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text((DATA / "referral_test.bpmn").read_text().replace("${consent == True}", "${consent ==}"))
    result = runner.invoke(args=["processes", "check", str(bad)])
    assert result.exit_code == 1
    assert "element 'f_yes'" in result.output and "line" in result.output   # the route with the bad condition
    assert runner.invoke(args=["processes", "deploy", str(bad)]).exit_code == 1
    assert runner.invoke(args=["processes", "list"]).output == ""


def test_users_token_prints_only_the_token(runner, ctx):

    runner.invoke(args=["orgs", "create", "vs", "--name", "VS", "--type", "victim_services"])
    runner.invoke(args=["users", "create", "t@example.org", "--name", "T", "--org", "vs", "--role", "practitioner",
                        "--password", "a-long-password"])
    result = runner.invoke(args=["users", "token", "t@example.org"])
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("cbk_")
    assert "shown only once" in result.stderr
    assert access.user_for_token(result.stdout.strip()).email == "t@example.org"
    assert runner.invoke(args=["users", "token", "nobody@example.org"]).exit_code == 1


def test_timers_run_bad_at(runner, ctx):
    result = runner.invoke(args=["timers", "run", "--at", "yesterday"])
    assert result.exit_code == 1 and "not an ISO-8601" in result.output
    assert runner.invoke(args=["timers", "run"]).output.strip() == "timers fired: 0"
