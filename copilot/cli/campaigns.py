"""``copilot campaigns``: delivery status, pause / resume / cancel, the send log, and exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from copilot.runtime import Runtime
from copilot.settings import get_settings


def _runtime() -> Runtime:
    return Runtime.start(get_settings())


@click.group()
def campaigns() -> None:
    """Scheduled and sending campaigns: live counts, control, why someone got one or not, exports."""


@campaigns.command("list")
def list_campaigns() -> None:
    """Scheduled, sending and sent campaigns with their counts."""
    from copilot.delivery.service import COUNTED, counts_by_review
    from copilot.services.review_queue import list_scheduled

    runtime = _runtime()
    try:
        with runtime.session() as session:
            rows = list_scheduled(session, states=("scheduled", "sending", "sent", "cancelled"))
            counts = counts_by_review(session, [r.id for r in rows])
        if not rows:
            click.echo("no scheduled campaigns")
        for r in rows:
            c = counts[r.id]
            when = r.scheduled_for.isoformat() if r.scheduled_for else "-"
            click.echo(f"{r.id:>5}  {r.state:<10} {when}  {r.title or 'Untitled'}  "
                       + "  ".join(f"{k.replace('_', ' ')} {c[k]:,}" for k in COUNTED))
    finally:
        runtime.close()


@campaigns.command("status")
@click.argument("review_id", type=int)
def status(review_id: int) -> None:
    """One campaign's state and counts, as JSON."""
    from copilot.delivery.service import counts

    runtime = _runtime()
    try:
        with runtime.session() as session:
            click.echo(json.dumps(counts(session, review_id), indent=2, default=str))
    finally:
        runtime.close()


def _act(action: str, review_id: int, username: str, reason: str | None) -> None:
    from copilot.delivery import jobs
    from copilot.delivery import service as delivery
    from copilot.services.users import get_user

    runtime = _runtime()
    try:
        with runtime.session() as session:
            actor = get_user(session, username)
            getattr(delivery, action)(session, review_id, actor, reason=reason)
            session.commit()
            click.echo(f"campaign {review_id}: {action}d by {actor.username}")
        if action == "resume":
            jobs.notify(runtime.settings)
    finally:
        runtime.close()


_as = click.option("--as", "username", required=True, metavar="USER", help="The reviewer or admin acting.")
_reason = click.option("--reason", default=None, help="Why (kept in the audit log).")


@campaigns.command("pause")
@click.argument("review_id", type=int)
@_as
@_reason
def pause(review_id: int, username: str, reason: str | None) -> None:
    """Stop sending at once; queued messages wait for resume."""
    _act("pause", review_id, username, reason)


@campaigns.command("resume")
@click.argument("review_id", type=int)
@_as
@_reason
def resume(review_id: int, username: str, reason: str | None) -> None:
    """Carry on sending a paused campaign."""
    _act("resume", review_id, username, reason)


@campaigns.command("cancel")
@click.argument("review_id", type=int)
@_as
@_reason
def cancel(review_id: int, username: str, reason: str | None) -> None:
    """Cancel a scheduled or sending campaign; nothing queued goes out."""
    _act("cancel", review_id, username, reason)


@campaigns.command("why")
@click.argument("review_id", type=int)
@click.argument("contact")
@click.option("--json", "as_json", is_flag=True, help="The explanation and its ledger rows as JSON.")
def why(review_id: int, contact: str, as_json: bool) -> None:
    """Why CONTACT (an id or email) got campaign REVIEW_ID, or did not."""
    from copilot.delivery.engine import workspace_lookup
    from copilot.delivery.service import explain
    from copilot.models import Review

    runtime = _runtime()
    try:
        with runtime.session() as session:
            review = session.get(Review, review_id)
            if review is None:
                raise click.ClickException(f"no campaign {review_id}")
            workspace = workspace_lookup(session, runtime)(review.workspace_id)
            answer = explain(session, workspace, review_id, contact)
        if as_json:
            click.echo(json.dumps(answer.to_dict(), indent=2, default=str))
        else:
            for line in answer.answer:
                click.echo(line)
    finally:
        runtime.close()


@campaigns.command("export")
@click.argument("review_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "listmonk"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export(review_id: int, fmt: str, output: Path | None) -> None:
    """An approved plan for sending elsewhere: listmonk list and campaign bodies, or plain JSON with SQL."""
    from copilot.delivery.engine import workspace_lookup
    from copilot.delivery.export import export as build
    from copilot.models import Review

    runtime = _runtime()
    try:
        with runtime.session() as session:
            review = session.get(Review, review_id)
            if review is None:
                raise click.ClickException(f"no campaign {review_id}")
            data: dict[str, Any] = build(session, workspace_lookup(session, runtime)(review.workspace_id), review, fmt)
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}")
    finally:
        runtime.close()


@campaigns.command("suppress")
@click.argument("emails", nargs=-1, required=True)
@click.option("--reason", type=click.Choice(["manual", "complaint", "bounce"]), default="manual", show_default=True)
@click.option("--workspace", "slug", default=None, metavar="SLUG", help="Workspace (default: the default one).")
def suppress(emails: tuple[str, ...], reason: str, slug: str | None) -> None:
    """Put addresses on the workspace's suppression list: no campaign sends to them again."""
    from copilot.delivery.suppression import suppress_addresses
    from copilot.services.workspaces import get_workspace_record

    runtime = _runtime()
    try:
        with runtime.session() as session:
            workspace = runtime.workspace(slug)
            added = suppress_addresses(session, get_workspace_record(session, workspace.slug).id or 0, emails,
                                       reason=reason)
            session.commit()
        click.echo(f"{added} address(es) added to the suppression list ({len(emails) - added} already there)")
    finally:
        runtime.close()
