"""``copilot plan "BRIEF"``: plan a campaign from one sentence with the configured planner.

Default output is for people (segments with sizes and plain-English rules, the trigger as a
timeline, variants, hypotheses, questions, notes); ``--json`` prints the plan as JSON matching
copilot/schema/plan.schema.json, byte-identical for the same brief, workspace and ``--now``.
Exit codes: 0 a plan, 2 invalid input (empty or over-long brief, unknown workspace, bad --now),
3 no plan yet (the planner asked a question; it is printed on stderr).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from copilot.brief import check_brief_text
from copilot.errors import CopilotError
from copilot.models import utcnow
from copilot.plan import Plan
from copilot.planner.base import PlanRequest, PlanResult
from copilot.planner.clock import reference_now
from copilot.planner.factory import get_planner
from copilot.planner.timeline import timeline
from copilot.settings import get_settings
from copilot.workspace import Workspace, demo_workspace_dir, load_workspace

__all__ = ["plan", "NO_PLAN_EXIT"]

NO_PLAN_EXIT = 3


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time (e.g. 2026-11-20 or "
                                 "2026-11-20T09:00:00Z)", param_hint="--now") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _workspace(path: str | None) -> Workspace:
    if path is None:
        return load_workspace(get_settings().workspace_dir)
    if path == "demo":
        return load_workspace(demo_workspace_dir())
    return load_workspace(Path(path))


def _sizes(plan: Plan, workspace: Workspace, now: datetime) -> tuple[dict[str, int], dict[str, str], str]:
    """Segment sizes and English rules from the database, or why there are none."""
    from copilot import db
    from copilot.segments import describe_rule, size_plan
    from copilot.services.workspaces import get_workspace_record

    english = {s.name: describe_rule(s.rule, workspace) for s in plan.segments}
    settings = get_settings()
    if settings.is_sqlite:
        from sqlalchemy.engine import make_url

        path = make_url(settings.database_url).database
        if not path or not Path(path).exists():
            return {}, english, f"no database at {path}; `copilot demo` builds the demo audience"
    try:
        engine = db.make_engine(settings.database_url)
        try:
            with db.session_scope(engine) as session:
                record = get_workspace_record(session, workspace.slug)
                report = size_plan(session, workspace, record.id, plan, now=now, sample=0)
        finally:
            engine.dispose()
    except (CopilotError, SQLAlchemyError) as exc:
        return {}, english, f"sizes unavailable ({getattr(exc, 'message', None) or exc.__class__.__name__})"
    sizes = {s.name: s.size for s in report.segments}
    return sizes, english, (f"{report.total:,} of {report.audience:,} contacts would get it "
                            f"(sized {report.now:%Y-%m-%d %H:%M} UTC)")


def _human(result: PlanResult, workspace: Workspace, size_now: datetime, with_sizes: bool) -> None:
    plan = result.plan
    echo = click.echo
    if plan is None:
        return
    echo(f"{plan.title}  [{plan.goal}, {result.planner}]")
    echo(plan.summary)
    sizes, english, sizing = _sizes(plan, workspace, size_now) if with_sizes else ({}, {}, "sizes not requested")
    echo("")
    echo(f"Segments ({sizing}):")
    for seg in plan.segments:
        size = f"{sizes[seg.name]:,} contacts" if seg.name in sizes else "size unknown"
        echo(f"  {seg.priority}. {seg.name}: {size}")
        echo(f"     who: {english.get(seg.name) or seg.description}")
        h = seg.hypothesis
        echo(f"     hypothesis: {h.attribute} -> {h.tactic}; {h.metric.replace('_', ' ')} {h.expected_change}")
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
        echo(f"Offer: {offer.name} ({offer.code or 'no code'}), {offer.starts} to {offer.ends}")
    if plan.send_window:
        echo(f"Send window: {plan.send_window.start} to {plan.send_window.end}")
    echo("")
    echo("Variants:")
    for v in plan.variants:
        echo(f"  [{v.segment} / {v.message} / {v.key}] {v.subject}")
        if v.key == "A":
            echo(f"      preview: {v.preheader}")
            echo(f"      CTA: {v.cta_text} -> {v.cta_url}")


@click.command("plan")
@click.argument("brief")
@click.option("--workspace", "workspace_dir", metavar="DIR",
              help="Brand folder to plan for ('demo' for the bundled one; default COPILOT_WORKSPACE_DIR "
                   "or the demo brand).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (the plan schema) instead of text.")
@click.option("--now", "now_text", metavar="ISO",
              help="Plan as of this date or date-time (UTC). Default: the workspace's reference date, so the "
                   "same brief always gives the same plan.")
@click.option("--no-sizes", is_flag=True, help="Skip sizing segments on the database (text output only).")
def plan(brief: str, workspace_dir: str | None, as_json: bool, now_text: str | None, no_sizes: bool) -> None:
    """Plan a campaign from BRIEF (use - to read it from stdin)."""
    text = check_brief_text(sys.stdin.read() if brief == "-" else brief)
    now = _parse_now(now_text)
    workspace = _workspace(workspace_dir)
    planner = get_planner(get_settings())
    result = asyncio.run(planner.plan(PlanRequest(brief=text, workspace=workspace,
                                                  now=now or reference_now(workspace))))
    if as_json:
        if result.plan is not None:
            click.echo(result.plan.model_dump_json(indent=2))
    else:
        _human(result, workspace, now or utcnow(), not no_sizes)
    for q in result.questions:
        click.echo(f"question: {q}", err=as_json or result.plan is None)
    for n in result.notes:
        click.echo(f"note: {n}", err=as_json)
    if result.plan is None:
        raise SystemExit(NO_PLAN_EXIT)
