"""``copilot serve``: run the web app with uvicorn."""

from __future__ import annotations

import click

from copilot.settings import get_settings


def run_server(host: str, port: int) -> None:
    import gc

    import uvicorn

    from copilot.app import create_app

    app = create_app()
    # Start-up objects never die; freezing them keeps full collections short (p99 latency).
    gc.collect()
    gc.freeze()
    click.echo(f"serving on http://{host}:{port}  (workspace: {app.state.runtime.default_workspace.slug})")
    uvicorn.run(app, host=host, port=port, log_level="info")


@click.command()
@click.option("--host", default=None, help="Address to bind (default: COPILOT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default: COPILOT_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Upgrade the database, load the workspace and serve the web app."""
    settings = get_settings()
    run_server(host or settings.host, port or settings.port)
