"""``copilot demo``: build the demo workspace (audience and users), then serve it."""

from __future__ import annotations

import click

from copilot.audience import audience_size, ensure_demo
from copilot.cli._progress import LazyProgressBar
from copilot.cli.serve import run_server
from copilot.runtime import Runtime
from copilot.services.workspaces import get_workspace_record
from copilot.settings import get_settings


@click.command()
@click.option("--contacts", type=click.IntRange(min=0), default=50_000, show_default=True,
              help="Synthetic contacts to build (each with about 10 events).")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same audience.")
@click.option("--rebuild", is_flag=True, help="Replace the workspace's audience even if it is already built.")
@click.option("--no-serve", is_flag=True, help="Only build; do not start the web app.")
@click.option("--host", default=None, help="Address to bind (default: COPILOT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default: COPILOT_PORT or 8000).")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run one delivery worker beside the server, so scheduled campaigns send.")
@click.pass_context
def demo(ctx: click.Context, contacts: int, seed: int, rebuild: bool, no_serve: bool, host: str | None,
         port: int | None, worker: bool) -> None:
    """Create or upgrade the database, build the demo workspace, then serve it.

    The first run generates the synthetic audience and the users marketer, reviewer
    and admin (password COPILOT_DEMO_PASSWORD, default "demo"); later runs reuse
    the audience unless --rebuild is given.
    """
    settings = get_settings()
    runtime = Runtime.start(settings)
    try:
        workspace = runtime.default_workspace
        where = runtime.engine.url.render_as_string(hide_password=True)
        click.echo(f"workspace {workspace.slug} ({workspace.name}) in {where}")
        with LazyProgressBar(contacts, f"building {contacts:,} contacts") as bar:
            stats = ensure_demo(runtime, contacts=contacts, seed=seed, rebuild=rebuild, progress=bar)
        if stats is None:
            with runtime.session() as session, runtime.engine.connect() as conn:
                existing = audience_size(conn, get_workspace_record(session, workspace.slug).id or 0)
            click.echo(f"reusing the {existing:,} contacts already built (--rebuild regenerates them)")
            if ctx.get_parameter_source("contacts") == click.core.ParameterSource.COMMANDLINE and existing != contacts:
                click.echo(f"note: --contacts {contacts:,} asked for a different size; add --rebuild to apply it")
        else:
            click.echo(f"built {stats.summary()}")
        password = "the password in COPILOT_DEMO_PASSWORD" if settings.demo_password != "demo" else "password demo"
        click.echo(f"users: marketer, reviewer, admin ({password})")
    finally:
        runtime.close()
    if not no_serve:
        run_server(host or settings.host, port or settings.port, worker=worker)
