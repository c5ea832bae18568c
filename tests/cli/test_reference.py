"""`areas create`, `services create`, `services provide`: reference data from the command line."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Area, Service, ServiceProvision, db
from tests.factories import make_org


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_areas_services_and_who_provides_them(runner, ctx):
    make_org("mansfield_vpp", "panel", "Mansfield VPP")
    assert runner.invoke(args=["areas", "create", "mansfield", "--name", "Mansfield"]).output.strip() == \
        "created area mansfield: Mansfield"
    runner.invoke(args=["areas", "create", "ashfield", "--name", "Ashfield"])
    assert runner.invoke(args=["services", "create", "vpp", "--name", "Vulnerable persons panel"]).exit_code == 0
    result = runner.invoke(args=["services", "provide", "vpp", "--org", "mansfield_vpp", "--area", "mansfield",
                                 "--area", "ashfield"])
    assert result.exit_code == 0 and result.output.strip() == "mansfield_vpp provides vpp in mansfield, ashfield"
    again = runner.invoke(args=["services", "provide", "vpp", "--org", "mansfield_vpp", "--area", "mansfield"])
    assert again.exit_code == 0 and _count(ServiceProvision) == 2  # idempotent
    everywhere = runner.invoke(args=["services", "provide", "vpp", "--org", "mansfield_vpp"])
    assert everywhere.output.strip() == "mansfield_vpp provides vpp in every area"
    db.session.expire_all()
    rows = {(p.service_code, p.organisation.code, p.area_code) for p in db.session.scalars(select(ServiceProvision))}
    assert rows == {("vpp", "mansfield_vpp", "mansfield"), ("vpp", "mansfield_vpp", "ashfield"),
                    ("vpp", "mansfield_vpp", None)}


@pytest.mark.parametrize("args, message", [
    (["areas", "create", "mansfield", "--name", "Again"], "an area with code 'mansfield' already exists"),
    (["areas", "create", "Bad Code", "--name", "x"], "is not a valid code"),
    (["areas", "create", "newark"], "name: is required"),
    (["services", "create", "vpp", "--name", "Again"], "a service with code 'vpp' already exists"),
    (["services", "provide", "nope", "--org", "mansfield_vpp"], "'nope' is not a service"),
    (["services", "provide", "vpp", "--org", "ghost"], "'ghost' is not an active organisation"),
    (["services", "provide", "vpp", "--org", "mansfield_vpp", "--area", "mansfield", "--area", "atlantis"],
     "'atlantis' is not an area"),
    (["services", "provide", "vpp"], "Missing option '--org'"),
])
def test_bad_input_is_one_line_and_writes_nothing(runner, ctx, args, message):
    make_org("mansfield_vpp", "panel", "Mansfield VPP")
    runner.invoke(args=["areas", "create", "mansfield", "--name", "Mansfield"])
    runner.invoke(args=["services", "create", "vpp", "--name", "Vulnerable persons panel"])
    before = (_count(Area), _count(Service), _count(ServiceProvision))
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1
    db.session.expire_all()
    assert (_count(Area), _count(Service), _count(ServiceProvision)) == before
