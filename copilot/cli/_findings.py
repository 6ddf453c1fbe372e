"""Findings printed for people, grouped by segment, email and arm: ``copilot guard`` and ``copilot plan``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import click

from guards import Finding

__all__ = ["print_findings"]


def print_findings(title: str, findings: Sequence[Finding]) -> None:
    counts = Counter(f.severity for f in findings)
    click.echo(f"{title}: {len(findings)} finding(s) - {counts['block']} block, {counts['warn']} warn, "
               f"{counts['info']} info")
    groups: dict[tuple[str | None, str | None, str | None], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.segment, f.message_key, f.variant), []).append(f)
    last_segment: object = object()
    for (segment, message_key, variant), items in groups.items():
        if segment != last_segment:
            click.echo("")
            click.echo(f"Segment {segment}" if segment else "Plan")
            last_segment = segment
        indent = "  "
        if variant:
            click.echo(f"  {message_key} / variant {variant}")
            indent = "    "
        for f in items:
            where = f" {f.field}[{f.span[0]}:{f.span[1]}]" if f.field and f.span else (f" {f.field}" if f.field else "")
            click.echo(f"{indent}{f.severity.upper():5} {f.code}{where}: {f.message}")
            if f.fix:
                click.echo(f"{indent}      fix: {f.fix}")
    click.echo("")
    click.echo("blocked: a finding blocks approval" if counts["block"] else "passed: nothing blocks")
