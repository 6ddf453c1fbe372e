"""``copilot import contacts|events FILE.csv``: load CSV files into a workspace."""

from __future__ import annotations

from pathlib import Path

import click

from copilot.cli._progress import LazyProgressBar
from copilot.errors import ImportDataError
from copilot.runtime import Runtime
from copilot.services.importer import ImportResult, import_contacts, import_events
from copilot.services.workspaces import get_workspace_record
from copilot.settings import get_settings

# Files smaller than this import in a blink: no progress bar for them.
_BAR_FROM_BYTES = 5 * 1024 * 1024


@click.group("import")
def import_group() -> None:
    """Import contacts or events from CSV files (validated against the workspace catalog).

    A file with bad rows imports nothing unless --skip-invalid is given; every bad
    row is listed with its line number and reason.
    """


def _run(kind: str, file: Path, slug: str | None, skip_invalid: bool) -> None:
    runtime = Runtime.start(get_settings())
    try:
        workspace = runtime.workspace(slug)
        with runtime.session() as session:
            workspace_id = get_workspace_record(session, workspace.slug).id or 0
        size = file.stat().st_size
        importer = import_contacts if kind == "contacts" else import_events
        # One pass over the file (checked and staged batch by batch), then a few set-based statements.
        with LazyProgressBar(size, f"importing {file.name}") as bar:
            try:
                result = importer(runtime.engine, workspace, workspace_id, file, skip_invalid=skip_invalid,
                                  progress=bar if size >= _BAR_FROM_BYTES else None)
            except ImportDataError as exc:
                bar.close()
                _report_refusal(exc)
                raise SystemExit(2) from None
        _report(result)
        if kind == "events" and result.imported:
            from copilot.delivery.jobs import notify

            notify(runtime.settings)  # event-triggered journeys look at the new events now
    finally:
        runtime.close()


def _report_refusal(exc: ImportDataError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    problems = exc.context.get("problems", [])
    for problem in problems:
        where = f"line {problem['line']}" if problem.get("line") else "file"
        click.echo(f"  {where}: {problem['message']}", err=True)
    bad = exc.context.get("bad_rows", 0)
    if bad > len(problems):
        click.echo(f"  ... and {bad - len(problems):,} more bad rows", err=True)


def _report(result: ImportResult) -> None:
    click.echo(result.summary())
    if result.skipped_count:
        click.echo("skipped:")
        for problem in result.skipped:
            click.echo(f"  {problem}")
        if result.skipped_count > len(result.skipped):
            click.echo(f"  ... and {result.skipped_count - len(result.skipped):,} more")


_file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_workspace = click.option("--workspace", "slug", default=None, metavar="SLUG",
                          help="Workspace to import into (default: the default workspace).")
_skip = click.option("--skip-invalid", is_flag=True, help="Import the good rows; list every bad row skipped.")


@import_group.command("contacts")
@_file
@_workspace
@_skip
def contacts(file: Path, slug: str | None, skip_invalid: bool) -> None:
    """Upsert contacts from FILE (columns: email, consent, then any catalog fields).

    Email is the identity (case-insensitive): re-importing updates, never duplicates.
    Blank cells keep stored values; consent never goes from unsubscribed or bounced
    back to subscribed.
    """
    _run("contacts", file, slug, skip_invalid)


@import_group.command("events")
@_file
@_workspace
@_skip
def events(file: Path, slug: str | None, skip_invalid: bool) -> None:
    """Append events from FILE (columns: email, event, occurred_at, then event properties).

    Each row names an existing contact by email; occurred_at is ISO 8601 (UTC when
    no offset is given).
    """
    _run("events", file, slug, skip_invalid)
