"""``copilot serve``: run the web app with uvicorn."""

from __future__ import annotations

import signal
import subprocess
import sys

import click

from copilot.settings import get_settings


def start_worker() -> subprocess.Popen[bytes]:
    """One delivery worker process (``copilot worker --workers 1``) beside the web server."""
    return subprocess.Popen([sys.executable, "-c", "from copilot.cli import main; main()", "worker", "--workers", "1"])


def run_server(host: str, port: int, *, worker: bool = False) -> None:
    import gc

    import uvicorn

    from copilot.app import create_app

    app = create_app()
    # Start-up objects never die; freezing them keeps full collections short (p99 latency).
    gc.collect()
    gc.freeze()
    child = start_worker() if worker else None
    click.echo(f"serving on http://{host}:{port}  (workspace: {app.state.runtime.default_workspace.slug})"
               + ("  with one delivery worker" if child else ""))
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if child is not None:
            child.send_signal(signal.SIGINT)  # Huey finishes the task in hand, then stops
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


worker_option = click.option("--worker/--no-worker", default=False, show_default=True,
                             help="Also run one delivery worker process (copilot worker --workers 1).")


@click.command()
@click.option("--host", default=None, help="Address to bind (default: COPILOT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to bind (default: COPILOT_PORT or 8000).")
@worker_option
def serve(host: str | None, port: int | None, worker: bool) -> None:
    """Upgrade the database, load the workspace and serve the web app."""
    settings = get_settings()
    run_server(host or settings.host, port or settings.port, worker=worker)
