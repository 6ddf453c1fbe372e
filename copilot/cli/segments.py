"""``copilot segments size PLAN.json``: size a plan's segments on the audience, with overlaps, suppression and English rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from copilot.cli.plan import _parse_now  # one reading of --now for every command
from copilot.runtime import Runtime
from copilot.segments import SUPPRESSION_REASONS
from copilot.services.checking import CheckedPlan, size_in_workspace
from copilot.settings import get_settings

__all__ = ["segments"]


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            .rstrip() for r in rows]


def _human(result: CheckedPlan) -> list[str]:
    r = result.sizing
    assert r is not None and result.plan is not None
    out = [f"{result.plan.title}", f"workspace {r.workspace}: {r.audience:,} contacts, sized as of "
           f"{r.now:%Y-%m-%d %H:%M} UTC", ""]
    head = ["priority", "segment", "send to", "raw", "after priority", "unsubscribed", "bounced", "listed",
            "excluded", "capped", "in quiet hours"]
    rows = [head] + [[str(s.priority), s.name, f"{s.size:,}", f"{s.raw_size:,}", f"{s.after_priority:,}",
                      *(f"{s.suppressed[k]:,}" for k in SUPPRESSION_REASONS),
                      f"{s.quiet_hours:,}"] for s in r.segments]
    out += _table(rows, right=set(range(len(head))) - {1})
    out += ["", "Who:"] + [f"  {s.name}: {s.english}" for s in r.segments]
    names = [s.name for s in r.segments]
    out += ["", "Overlaps (contacts matching both rules, before priority):"]
    out += ["  " + line for line in _table([[""] + names] + [[a] + [f"{r.overlaps[a][b]:,}" for b in names]
                                                             for a in names], right=set(range(1, len(names) + 1)))]
    sup = r.suppression
    out += ["", f"Suppressed: {sup['unsubscribed']:,} unsubscribed, {sup['bounced']:,} bounced, "
                f"{sup['suppressed']:,} on the suppression list, {sup['excluded']:,} excluded, "
                f"{sup['frequency_capped']:,} frequency-capped"]
    quiet = r.quiet_hours
    if "start" in quiet:
        out.append(f"Quiet hours {quiet['start']}-{quiet['end']} (judged at {quiet['judged_at']}): "
                   f"{quiet['contacts']:,} would wait ({quiet['fallback']}); nobody is removed")
    out.append(f"Total: {r.total:,} contacts would get it.")
    if result.lint:
        out += ["", "Warnings:"] + [f"  {w.code} at {w.path}: {w.message}" for w in result.lint]
    out += [f"Note: {n}" for n in r.notes]
    return out


@click.group()
def segments() -> None:
    """Segments of a plan, evaluated on the real audience."""


@segments.command("size")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="PLAN.json")
@click.option("--workspace", "slug", default=None, help="Workspace slug (default: the configured workspace).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--now", default=None, help="Size as of this ISO date-time (default: now), for repeatable figures.")
@click.option("--sample", default=5, show_default=True, type=click.IntRange(0, 50), help="Member ids per segment.")
def size(plan_file: Path, slug: str | None, as_json: bool, now: str | None, sample: int) -> None:
    """Size PLAN.json: per segment who gets it (disjoint by priority), overlaps, suppression, English rules."""
    when = _parse_now(now)
    runtime = Runtime.start(get_settings())
    try:
        workspace = runtime.workspace(slug)
        with runtime.session() as session:
            result = size_in_workspace(session, workspace, plan_file.read_bytes(), now=when, sample=sample)
    finally:
        runtime.close()
    data: Any = result.sizing_dict()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else "\n".join(_human(result)))
