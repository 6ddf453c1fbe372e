"""``copilot chat``: a conversation with the copilot in the terminal (streamed answers, revisions, diffs, restores).

Lines starting with ``/`` are commands (``/help``); anything else is a message to the copilot.
``--message`` sends messages without a prompt (scripts), one turn each.
"""

from __future__ import annotations

import asyncio
import sys

import click

from copilot.errors import CopilotError
from copilot.planner.base import Planner
from copilot.runtime import Runtime
from copilot.services import conversations as svc
from copilot.services.users import get_user
from copilot.services.workspaces import get_workspace_record
from copilot.settings import get_settings
from copilot.text import count_of

__all__ = ["chat"]

HELP = """commands:
  /revisions          list the plan's revisions
  /show [N]           show revision N (default: the latest)
  /diff A B           what changed from revision A to revision B
  /restore N          make revision N current again (as a new revision)
  /usage              tokens and estimated cost so far
  /quit               leave (also Ctrl-D)"""


def _echo_revision(runtime: Runtime, conversation_id: int, number: int | None) -> None:
    with runtime.session() as session:
        revision = (svc.get_revision(session, conversation_id, number) if number is not None
                    else svc.latest_revision(session, conversation_id))
        if revision is None:
            click.echo("no plan yet")
            return
        plan = svc.revision_plan(revision)
        findings = svc.list_findings(session, revision.id or 0)
    sizes = {s["name"]: s.get("size") for s in (revision.sizing or {}).get("segments", [])}
    click.echo(f"revision {revision.number} ({revision.planner}): {plan.title} [{plan.goal}]")
    for seg in plan.segments:
        size = count_of(sizes[seg.name], "contact") if sizes.get(seg.name) is not None else "size unknown"
        click.echo(f"  {seg.priority}. {seg.name}: {size}")
    for v in plan.variants:
        click.echo(f"  [{v.segment} / {v.message} / {v.key}] {v.subject}")
    for f in findings:
        where = " / ".join(x for x in (f.segment, f.variant, f.field) if x)
        click.echo(f"  {f.severity.upper():5} {f.code} {where}: {f.message}")


def _command(runtime: Runtime, conversation_id: int, actor_id: int, line: str) -> bool:
    """Run a /command; False means leave."""
    parts = line[1:].split()
    name, args = (parts[0].lower(), parts[1:]) if parts else ("help", [])
    if name in {"quit", "exit", "q"}:
        return False
    if name == "revisions":
        with runtime.session() as session:
            for r in svc.list_revisions(session, conversation_id):
                click.echo(f"  {r.number}  {r.created_at:%Y-%m-%d %H:%M}  {r.planner:<20} {r.content_hash[:12]}  "
                           f"{r.note.splitlines()[0] if r.note else ''}")
    elif name == "show":
        _echo_revision(runtime, conversation_id, int(args[0]) if args else None)
    elif name == "diff" and len(args) == 2:
        with runtime.session() as session:
            diff = svc.diff_revisions(session, conversation_id, int(args[0]), int(args[1]))
        if diff.is_empty:
            click.echo("no differences")
        for label, items in (("added", diff.segments_added), ("removed", diff.segments_removed)):
            for item in items:
                click.echo(f"  segment {label}: {item}")
        for change in diff.segments_changed:
            click.echo(f"  segment changed: {change.name} ({', '.join(change.parts)})")
        for copy in diff.copy_changes:
            click.echo(f"  {copy.variant.label()} {copy.field}: {copy.before!r} -> {copy.after!r}")
        if diff.plan_parts_changed:
            click.echo(f"  also changed: {', '.join(diff.plan_parts_changed)}")
    elif name == "restore" and len(args) == 1:
        with runtime.session() as session:
            outcome = svc.restore_revision(session, conversation_id=conversation_id, number=int(args[0]),
                                           actor_id=actor_id, workspace=runtime.default_workspace)
        click.echo(f"restored revision {args[0]} as revision {outcome.revision.number}")
    elif name == "usage":
        with runtime.session() as session:
            usage = svc.conversation_usage(session, conversation_id)
        click.echo(f"{usage.calls} turns, {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion "
                   f"tokens, about ${usage.cost_usd:.4f}")
    else:
        click.echo(HELP)
    return True


async def _turn(runtime: Runtime, planner: Planner, conversation_id: int, actor_id: int, text: str) -> None:
    with runtime.session() as session:
        message = svc.start_turn(session, conversation_id=conversation_id, actor_id=actor_id, text=text)
        click.echo("copilot> ", nl=False)
        async for event in svc.stream_turn(session, message, workspace=runtime.default_workspace, planner=planner):
            if event.event == "token":
                click.echo(event.data, nl=False)
            elif event.event == "error":
                click.echo("")
                raise CopilotError(event.data.get("message", "the turn failed"))
            else:
                data = event.data
                click.echo("")
                for question in data["questions"]:
                    if question not in data["message"]["content"]:
                        click.echo(f"  ? {question}")
                revision = data["revision"]
                where = f"revision {revision['number']}" if revision else "no plan"
                blocks = sum(1 for f in (revision or {}).get("findings", []) if f["severity"] == "block")
                warns = sum(1 for f in (revision or {}).get("findings", []) if f["severity"] == "warn")
                m = data["message"]
                click.echo(f"[{data['planner']} | {where}" + (f" | {blocks} blocking, {warns} warnings" if revision
                                                              else "")
                           + f" | {m['prompt_tokens']:,}+{m['completion_tokens']:,} tokens, ${m['cost_usd']:.4f}]")


async def _session(runtime: Runtime, planner: Planner, conversation_id: int, actor_id: int,
                   messages: tuple[str, ...]) -> None:
    if messages:
        for text in messages:
            click.echo(f"you> {text}")
            await _turn(runtime, planner, conversation_id, actor_id, text)
        return
    while True:
        try:
            line = (await asyncio.to_thread(input, "you> ")).strip()
        except EOFError:
            click.echo("")
            return
        if not line:
            continue
        try:
            if line.startswith("/"):
                if not _command(runtime, conversation_id, actor_id, line):
                    return
                continue
            await _turn(runtime, planner, conversation_id, actor_id, line)
        except CopilotError as exc:  # one bad line does not end the conversation
            click.echo(f"error: {exc.message}", err=True)


@click.command("chat")
@click.option("--user", "username", default="marketer", show_default=True, help="Who is talking (an account).")
@click.option("--conversation", "conversation_id", type=int, help="Continue this conversation (yours).")
@click.option("--message", "-m", "messages", multiple=True, help="Send this message and exit (repeatable).")
def chat(username: str, conversation_id: int | None, messages: tuple[str, ...]) -> None:
    """Talk to the copilot in the terminal; each answer says which planner gave it."""
    runtime = Runtime.start(get_settings())
    try:
        with runtime.session() as session:
            user = get_user(session, username)
            if conversation_id is None:
                record = get_workspace_record(session, runtime.default_workspace.slug)
                conversation_id = svc.create_conversation(session, workspace_id=record.id or 0,
                                                          author_id=user.id or 0).id
            else:
                svc.readable_conversation(session, conversation_id, user.id or 0)
        planner = svc.default_planner(runtime.settings)
        if not messages and sys.stdin.isatty():
            click.echo(f"conversation {conversation_id} as {username}; planner: {planner.name}. /help for commands.")
        asyncio.run(_session(runtime, planner, conversation_id or 0, user.id or 0, messages))
    finally:
        runtime.close()
