"""``copilot workspace draft|check``: bring your own brand (docs/bring-your-own-brand.md)."""

from __future__ import annotations

from pathlib import Path

import click

from copilot.workspace.draft import MARKER, check_workspace, draft_workspace

__all__ = ["workspace"]


@click.group("workspace")
def workspace() -> None:
    """Draft a brand workspace from CSV files, and check what is left to decide."""


@workspace.command("draft")
@click.option("--contacts", "contacts", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Contacts CSV (a header line, one person a row).")
@click.option("--events", "events", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Events CSV (email, event name and time a row, then properties).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write brand.yaml, catalog.yaml, facts.yaml and voice.yaml into.")
@click.option("--name", "name", help="The brand's name (default: from the contacts file's name).")
@click.option("--force", is_flag=True, help="Replace the workspace files already in --out.")
def draft(contacts: Path, events: Path | None, out: Path, name: str | None, force: bool) -> None:
    """Draft a workspace from CONTACTS (and EVENTS): typed fields and events, proposed roles, and every
    judgment only a person can make marked TODO(review)."""
    result = draft_workspace(contacts, out, events=events, name=name, force=force)
    click.echo(result.summary())
    if result.before_import:
        click.echo("before importing, change the CSV files:")
        for item in result.before_import:
            click.echo(f"  {item}")
    click.echo(f"next: decide each {MARKER} item in {out}, then run `copilot workspace check {out}`")


@workspace.command("check")
@click.argument("folder", type=click.Path(path_type=Path))
def check(folder: Path) -> None:
    """List what FOLDER still misses or has marked for review; exit 0 when ready, 1 when not."""
    report = check_workspace(folder)
    for line in report.lines():
        click.echo(line)
    if not report.ready:
        raise SystemExit(1)
