"""``copilot guard PLAN.json``: run the guards on a plan file and print the findings grouped by
segment and variant. Exit codes: 0 nothing blocks, 1 something blocks, 2 invalid input."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from copilot.cli._findings import print_findings
from copilot.errors import PlanValidationError
from copilot.settings import get_settings
from copilot.validation import parse_plan
from copilot.workspace import load_workspace
from guards import has_blocking, run_deliverability, run_plan

__all__ = ["guard", "BLOCKED_EXIT"]

BLOCKED_EXIT = 1


def _read_json(path: Path, what: str) -> Any:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanValidationError(f"{path}: {what} is not UTF-8 text ({exc.reason})", path="(file)",
                                  problems=[]) from None
    except OSError as exc:
        raise PlanValidationError(f"{path}: cannot read the {what} ({exc.strerror})", path="(file)",
                                  problems=[]) from None


def _samples(path: Path | None) -> dict[str, list[dict[str, Any]]]:
    if path is None:
        return {}
    try:
        data = json.loads(_read_json(path, "samples file"))
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})",
                                 param_hint="--samples") from None
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(c, dict) for c in v) for v in data.values()):
        raise click.BadParameter(f"{path}: expected {{\"segment name\": [{{contact}}, ...]}}", param_hint="--samples")
    return data


def _now(text: str | None, workspace: Any) -> datetime:
    from copilot.planner.clock import planning_now, reference_now

    if text is None:
        return planning_now(workspace)
    if text.strip() == "reference":
        return reference_now(workspace)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date-time (or 'reference')", param_hint="--now") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@click.command("guard")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "workspace_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Brand folder (default: COPILOT_WORKSPACE_DIR, else the demo brand).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--deliverability", is_flag=True,
              help="Also score every variant with SpamAssassin (a separate process; seconds).")
@click.option("--now", "now_text", default=None, metavar="ISO|reference",
              help="The present moment send times are compared with (default: COPILOT_NOW, else the clock; "
                   "'reference' for the workspace's reference date).")
@click.option("--samples", "samples_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help='JSON file {"segment": [contact, ...]}: real contacts to render and check.')
def guard(plan_file: Path, workspace_dir: Path | None, as_json: bool, deliverability: bool,
          samples_file: Path | None, now_text: str | None = None) -> None:
    """Check PLAN_FILE (a plan as JSON) with every guard."""
    workspace = load_workspace(workspace_dir if workspace_dir is not None else get_settings().workspace_dir)
    try:
        plan = parse_plan(_read_json(plan_file, "plan"))
    except PlanValidationError as exc:
        raise PlanValidationError(f"{plan_file}: {exc.message}", **exc.context) from None
    findings = run_plan(plan, workspace, samples=_samples(samples_file), now=_now(now_text, workspace))
    if deliverability:
        findings += run_deliverability(plan, workspace)
    blocked = has_blocking(findings)
    if as_json:
        click.echo(json.dumps({
            "plan": plan.title, "workspace": workspace.slug, "content_hash": plan.content_hash(),
            "blocked": blocked, "counts": dict(Counter(f.severity for f in findings)),
            "findings": [f.to_dict() for f in findings],
        }, indent=2, ensure_ascii=False))
    else:
        print_findings(plan.title, findings)
    if blocked:
        raise SystemExit(BLOCKED_EXIT)
