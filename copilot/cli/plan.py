"""``copilot plan "BRIEF"``: plan a campaign from one sentence, check it and store it, as the chat does.

The plan goes through the service's one path: the chat turn (the brief stored as the first message
of a new conversation for ``--user``, the plan validated, sized, linted, guarded and stored as
revision 1), or, with ``--no-store`` or no database, the planner and the checking service alone.
Default output is for people (segments with sizes and plain-English rules, the trigger as a
timeline, every variant's copy, lint warnings, findings, questions, notes); ``--json`` prints the
plan as JSON matching copilot/schema/plan.schema.json, byte-identical for the same brief,
workspace and ``--now`` (the check's summary goes to stderr).
Exit codes: 0 a plan, 1 a plan a finding blocks, 2 invalid input (empty or over-long brief,
unknown workspace, bad --now), 3 no plan yet (the planner asked a question; it is on stderr).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from sqlalchemy.exc import SQLAlchemyError

from copilot.brief import check_brief_text
from copilot.cli._findings import print_findings
from copilot.errors import CopilotError, NotFoundError
from copilot.planner.base import Planner, PlanRequest, PlanResult
from copilot.planner.clock import planning_now, reference_now
from copilot.planner.factory import get_planner
from copilot.planner.timeline import timeline
from copilot.runtime import Runtime
from copilot.segments import describe_rule
from copilot.services import conversations as svc
from copilot.services.checking import CheckedPlan, DatabaseAudience, check
from copilot.services.users import get_user
from copilot.services.workspaces import get_workspace_record
from copilot.settings import Settings, get_settings
from copilot.text import count_of
from copilot.workspace import Workspace, demo_workspace_dir, load_workspace
from guards import Finding, has_blocking

__all__ = ["plan", "NO_PLAN_EXIT", "BLOCKED_EXIT"]

BLOCKED_EXIT = 1
NO_PLAN_EXIT = 3


def _parse_now(value: str | None, zone: str = "UTC") -> datetime | None:
    """An ISO date or date-time; one without an offset is read in ``zone`` (the brand's, for plans)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time (e.g. 2026-11-20 or "
                                 "2026-11-20T09:00:00Z)", param_hint="--now") from exc
    if when.tzinfo is None:
        try:
            when = when.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _workspace_path(path: str) -> Path:
    return demo_workspace_dir() if path == "demo" else Path(path).expanduser().resolve()


def _workspace(path: str | None) -> Workspace:
    if path is None:
        return load_workspace(get_settings().workspace_dir)
    return load_workspace(_workspace_path(path))


def _database_ready(settings: Settings) -> str | None:
    """None when the configured database can be used; else why not, in words."""
    if settings.is_sqlite:
        from sqlalchemy.engine import make_url

        path = make_url(settings.database_url).database
        if not path or not Path(path).exists():
            return f"no database at {path}; `copilot demo` builds the demo audience"
    return None


@dataclass
class _Outcome:
    """A planner's answer and what the checking service found (sizes, lint, findings), stored or not."""

    result: PlanResult
    checked: CheckedPlan | None = None
    sizing: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    stored: str = ""  # where the plan was stored, or why not


def _plan_and_store(text: str, workspace_dir: str | None, planner: Planner, now: datetime | None,
                    username: str) -> _Outcome:
    """The chat's own path: a conversation for ``username``, the brief as its first message, the plan
    checked (validated, sized, linted, guarded) and stored as revision 1."""
    settings = get_settings()
    if workspace_dir is not None:
        settings = replace(settings, workspace_dir=_workspace_path(workspace_dir))
    runtime = Runtime.start(settings)
    try:
        workspace = runtime.default_workspace
        with runtime.session() as session:
            user = get_user(session, username)
            record = get_workspace_record(session, workspace.slug)
            conversation = svc.create_conversation(session, workspace_id=record.id or 0, author_id=user.id or 0)
            turn = asyncio.run(svc.post_message(session, conversation_id=conversation.id or 0, actor_id=user.id or 0,
                                                text=text, workspace=workspace, planner=planner, now=now))
            if turn.revision is None:
                return _Outcome(turn.result, stored=f"conversation {conversation.id} (no plan yet)")
            sizing = dict(turn.revision.revision.sizing or {})
            return _Outcome(turn.result, sizing=sizing, findings=list(turn.revision.findings),
                            stored=f"conversation {conversation.id}, revision {turn.revision.revision.number} "
                                   f"(open /chat/{conversation.id})")
    finally:
        runtime.close()


def _plan_only(text: str, workspace: Workspace, planner: Planner, now: datetime | None, with_sizes: bool,
               why_not_stored: str) -> _Outcome:
    """Plan, then check the plan; sized on the database when there is one (nothing is stored)."""
    result = asyncio.run(planner.plan(PlanRequest(brief=text, workspace=workspace, now=planning_now(workspace, now))))
    outcome = _Outcome(result, stored=why_not_stored)
    if result.plan is None:
        return outcome
    settings = get_settings()
    unavailable = _database_ready(settings) if with_sizes else "sizes not requested"
    engine = None
    try:
        if unavailable is None:
            from copilot import db

            engine = db.make_engine(settings.database_url)
            with db.session_scope(engine) as session:
                record = get_workspace_record(session, workspace.slug)
                outcome.checked = check(result.plan, workspace, audience=DatabaseAudience(session, record.id or 0),
                                        now=planning_now(workspace, now))
    except (CopilotError, SQLAlchemyError) as exc:
        unavailable = f"sizes unavailable ({getattr(exc, 'message', None) or exc.__class__.__name__})"
    finally:
        if engine is not None:
            engine.dispose()
    if outcome.checked is None:
        outcome.checked = check(result.plan, workspace, now=now)
    outcome.findings = outcome.checked.findings
    outcome.sizing = outcome.checked.sizing_dict() or {"notes": [unavailable]}
    return outcome


def _human(outcome: _Outcome, workspace: Workspace) -> None:
    result, plan = outcome.result, outcome.result.plan
    echo = click.echo
    if plan is None:
        return
    echo(f"{plan.title}  [{plan.goal}, {result.planner}]")
    echo(plan.summary)
    sizing = outcome.sizing or {}
    sizes = {s["name"]: s["size"] for s in sizing.get("segments", [])}
    if "audience" in sizing:
        when = datetime.fromisoformat(sizing["now"])
        line = (f"{sizing['total']:,} of {count_of(sizing['audience'], 'contact')} would get it "
                f"(sized {when:%Y-%m-%d %H:%M} UTC)")
    else:
        line = "; ".join(sizing.get("notes") or ["sizes unavailable"])
    echo("")
    echo(f"Segments ({line}):")
    for seg in plan.segments:
        size = count_of(sizes[seg.name], "contact") if seg.name in sizes else "size unknown"
        echo(f"  {seg.priority}. {seg.name}: {size}")
        echo(f"     who: {describe_rule(seg.rule, workspace) or seg.description}")
        h = seg.hypothesis
        echo(f"     hypothesis: {h.sentence()}")
    echo("")
    echo("Trigger:")
    for line in timeline(plan.trigger):
        echo(f"  {line}")
    s = plan.suppression
    rules = ["consent required"]
    if s.frequency_cap:
        rules.append(f"at most {s.frequency_cap.max_emails} emails per {s.frequency_cap.per_days} days")
    if s.quiet_hours:
        rules.append(f"quiet hours {s.quiet_hours.start}-{s.quiet_hours.end} local ({s.quiet_hours.fallback})")
    if s.exclusions:
        rules.append(f"{len(s.exclusions)} exclusion rule(s)")
    echo(f"Suppression: {'; '.join(rules)}")
    if plan.offers:
        offer = workspace.offers_by_id[plan.offers[0]]
        echo(f"Offer: {offer.name} ({offer.code or 'no code'}), {offer.starts} to {offer.ends or 'no end date'}")
    if plan.send_window:
        echo(f"Send window: {plan.send_window.start} to {plan.send_window.end}")
    echo("")
    echo("Variants:")
    for v in plan.variants:
        echo(f"  [{v.segment} / {v.message} / {v.key}] {v.subject}")
        for spec, value in v.copy_items():
            if spec.name == "subject":
                continue
            if spec.kind == "markdown":
                echo(f"      {spec.label.lower()}:")
                for body_line in value.splitlines():
                    echo(f"        {body_line}" if body_line.strip() else "")
            else:
                echo(f"      {spec.label.lower()}: {value}")
    warnings = sizing.get("warnings") or []
    if warnings:
        echo("")
        echo("Warnings:")
        for w in warnings:
            echo(f"  {w['code']} at {w['path']}: {w['message']}")
    echo("")
    print_findings("Findings", outcome.findings)


@click.command("plan")
@click.argument("brief")
@click.option("--workspace", "workspace_dir", metavar="DIR",
              help="Brand folder to plan for ('demo' for the bundled one; default COPILOT_WORKSPACE_DIR "
                   "or the demo brand).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (the plan schema) instead of text.")
@click.option("--now", "now_text", metavar="ISO",
              help="Plan as of this date or date-time (without an offset: in the brand's time zone), so the "
                   "same brief always gives the same plan; "
                   "'reference' for the workspace's reference date. Default: now (COPILOT_NOW if set).")
@click.option("--no-sizes", is_flag=True, help="Skip sizing segments on the database (and so storing the plan).")
@click.option("--no-store", is_flag=True, help="Do not store the plan as a conversation (it is still checked).")
@click.option("--user", "username", default="marketer", show_default=True,
              help="The account the stored conversation belongs to.")
def plan(brief: str, workspace_dir: str | None, as_json: bool, now_text: str | None, no_sizes: bool,
         no_store: bool, username: str) -> None:
    """Plan a campaign from BRIEF (use - to read it from stdin), check it and store it."""
    text = check_brief_text(sys.stdin.read() if brief == "-" else brief)
    workspace = _workspace(workspace_dir)
    now = reference_now(workspace) if now_text == "reference" else _parse_now(now_text, workspace.brand.timezone)
    planner = get_planner(get_settings())
    why_not = ("not stored (--no-store)" if no_store else "not stored (--no-sizes)" if no_sizes
               else _database_ready(get_settings()))
    outcome = None
    if why_not is None:
        try:
            outcome = _plan_and_store(text, workspace_dir, planner, now, username)
        except NotFoundError as exc:
            why_not = f"not stored: {exc.message} (create it with `copilot users add`, or pass --no-store)"
    if outcome is None:
        outcome = _plan_only(text, workspace, planner, now, not no_sizes,
                             why_not if why_not and why_not.startswith("not stored") else f"not stored: {why_not}")
    result = outcome.result
    if as_json:
        if result.plan is not None:
            click.echo(result.plan.model_dump_json(indent=2))
    else:
        _human(outcome, workspace)
    for q in result.questions:
        click.echo(f"question: {q}", err=as_json or result.plan is None)
    for n in result.notes:
        click.echo(f"note: {n}", err=as_json)
    if result.plan is not None:
        counts = Counter(f.severity for f in outcome.findings)
        click.echo(f"checked: {counts['block']} block, {counts['warn']} warn, {counts['info']} info; {outcome.stored}",
                   err=as_json)
    if result.plan is None:
        raise SystemExit(NO_PLAN_EXIT)
    if has_blocking(outcome.findings):
        raise SystemExit(BLOCKED_EXIT)
