"""Directory commands: `orgs create`, `users create`, `users token`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from casework import directory, tokens
from casework.errors import CasebookError
from cli.common import fail, user_by_email
from models import db

orgs = AppGroup("orgs", help="Manage organisations.")


@orgs.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Display name.")
@click.option("--type", "org_type", default=None, help="police, victim_services, rj_service, council, ...")
@click.option("--area", default=None, help="Area served (optional).")
def orgs_create(code: str, name: str | None, org_type: str | None, area: str | None) -> None:
    """Add an organisation."""
    try:
        org = directory.create_organisation(code, name or "", org_type or "", area)
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    click.echo(f"created organisation {org.code} ({org.type.value}): {org.name}")


users = AppGroup("users", help="Manage users.")


@users.command("create")
@click.argument("email")
@click.option("--name", default=None, help="Full name.")
@click.option("--org", "org_code", default=None, help="Organisation code.")
@click.option("--role", "roles", multiple=True, help="Role; repeat for several.")
@click.option("--password", default=None, help="Initial password (generated and printed when omitted).")
def users_create(email: str, name: str | None, org_code: str | None, roles: tuple[str, ...],
                 password: str | None) -> None:
    """Add a user to an organisation with one or more roles."""
    try:
        user, pw = directory.create_user(email, name or "", org_code or "", list(roles), password)
        db.session.commit()
    except CasebookError as exc:
        fail(exc)
    click.echo(f"created user {user.email} in {user.organisation.code} with roles "
               f"{', '.join(sorted(r.value for r in user.roles))}")
    if password is None:
        click.echo(f"initial password: {pw}")


@users.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for the user (and nothing else on standard output); it expires after
    API_TOKEN_DAYS."""
    user = user_by_email(email)
    token = tokens.issue(user, "issued on the command line")
    db.session.commit()
    click.echo(token)
    click.echo(f"token issued for {user.email}; it is shown only once", err=True)


COMMANDS = (orgs, users)
