"""``copilot db``: schema migrations."""

from __future__ import annotations

import click

from copilot import db as database
from copilot.settings import get_settings


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target migration revision.")
def upgrade(revision: str) -> None:
    """Upgrade the database schema (the service also does this on start)."""
    settings = get_settings()
    engine = database.make_engine(settings.database_url)
    before = database.current_revision(engine)
    database.upgrade(engine, revision)
    after = database.current_revision(engine)
    click.echo(f"database at {after} (was {before or 'empty'})")


@db.command()
def current() -> None:
    """Print the schema revision of the database and the newest one available."""
    engine = database.make_engine(get_settings().database_url)
    click.echo(f"current: {database.current_revision(engine) or 'empty'}; head: {database.head_revision()}")
