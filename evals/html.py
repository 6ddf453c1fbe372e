"""The self-contained HTML report (inline CSS, no CDN, no script): summary, guard scores,
comparison with a baseline run, and per-test detail with the plan, findings and renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from evals.compare import Comparison
from evals.results import RunReport, TestResult

__all__ = ["render_html", "write_html", "TEMPLATES_DIR"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, num=_num, signed=_signed,
                       pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=False))
    return env


def _first_renders(test: TestResult) -> list[Any]:
    """Per turn, one render per variant (the first sample contact) to show the copy."""
    out = []
    for turn in test.turns:
        seen: dict[tuple[str, str, str], Any] = {}
        for r in turn.renders:
            seen.setdefault((r.segment, r.message, r.variant), r)
        out.append(list(seen.values()))
    return out


def render_html(report: RunReport, *, comparison: Comparison | None = None, title: str | None = None) -> str:
    template = _env().get_template("report.html.j2")
    return template.render(report=report, comparison=comparison, first_renders=_first_renders,
                           title=title or f"Eval run {report.run.id}")


def write_html(report: RunReport, path: Path, *, comparison: Comparison | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, comparison=comparison), encoding="utf-8")
