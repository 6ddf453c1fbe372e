"""``copilot users``: manage accounts."""

from __future__ import annotations

import click

from copilot import db
from copilot.models import ROLES
from copilot.services.users import create_user
from copilot.settings import get_settings


@click.group()
def users() -> None:
    """User accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (prompted when not given).")
def add(name: str, role: str, password: str) -> None:
    """Create user NAME with a role."""
    engine = db.make_engine(get_settings().database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        user = create_user(session, name, role=role, password=password)
        click.echo(f"created {user.username} ({user.role})")


@users.command("token")
@click.argument("name")
@click.option("--label", default="api", show_default=True, help="What the token is for (shown in listings).")
def token(name: str, label: str) -> None:
    """Issue a JSON API token for user NAME (printed once; only its hash is stored)."""
    from copilot.services.api_tokens import issue_token
    from copilot.services.users import get_user

    engine = db.make_engine(get_settings().database_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        _, secret = issue_token(session, get_user(session, name).id or 0, label=label)
    click.echo(secret)
