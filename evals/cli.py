"""``copilot eval``: run eval suites, re-score a results file, compare two runs.

A plugin of the ``copilot`` command (entry point group ``copilot.commands``): the evals drive the
core, the core never imports them.

Exit codes of ``run`` and ``rescore``: 0 every suite meets its threshold, 1 at least one
does not, 2 the run itself broke (bad suite file, crashed test, unusable option).
``compare`` exits 1 when it finds a regression.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from copilot.errors import CopilotError
from copilot.settings import get_settings

__all__ = ["eval_group"]


def _summary(report, console: Console) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"eval run {report.run.id} ({report.run.provider}"
                        + (f", {report.run.model}" if report.run.model else "") + ")")
    for col in ("suite", "tests", "passed", "failed", "errors", "pass rate", "threshold", "status"):
        table.add_column(col, justify="right" if col not in ("suite", "status") else "left")
    for s in report.suites:
        status = "BROKEN" if s.errored else "ok" if s.meets_threshold else "BELOW THRESHOLD"
        table.add_row(s.name, str(s.total), str(s.passed), str(s.failed), str(s.errored),
                      f"{s.pass_rate:.1%}", f"{s.threshold:.0%}", status)
    console.print(table)
    for s in report.suites:
        if s.guard_scores:
            g = s.guard_scores
            gt = Table(title=f"{s.name}: guard precision / recall over {g.cases} cases")
            for col in ("guard", "TP", "FP", "FN", "precision", "recall", "F1"):
                gt.add_column(col, justify="left" if col == "guard" else "right")
            for name, c in [*g.by_guard.items(), ("all", g.overall)]:
                gt.add_row(name, str(c.tp), str(c.fp), str(c.fn), *(f"{v:.3f}" if v is not None else "-"
                                                                    for v in (c.precision, c.recall, c.f1)))
            console.print(gt)
            if g.verdicts:
                vt = Table(title=f"{s.name}: verdicts per guard (flagged = warn or block)"
                                 + (f"; minimum {g.minimum:.2f}" if g.minimum is not None else ""))
                for col in ("guard", "flagged P", "flagged R", "block P", "block R",
                            "expected pass: p/w/b", "expected warn: p/w/b", "expected block: p/w/b"):
                    vt.add_column(col, justify="left" if col == "guard" else "right")
                for name, v in g.verdicts.items():
                    vt.add_row(name, *(f"{x:.3f}" if x is not None else "-" for x in
                                       (v.flagged.precision, v.flagged.recall, v.block.precision, v.block.recall)),
                               *("/".join(str(v.matrix.get(e, {}).get(r, 0)) for r in ("pass", "warn", "block"))
                                 for e in ("pass", "warn", "block")))
                console.print(vt)
                if g.cases_by_brand:
                    console.print("cases by brand: " + "; ".join(
                        f"{b} " + ", ".join(f"{k} {n}" for k, n in gs.items()) for b, gs in g.cases_by_brand.items()),
                        highlight=False)
                for line in g.below_minimum:
                    console.print(f"  [bold]BELOW MINIMUM[/bold] {s.name}: {line}", highlight=False)
        for t in s.tests:
            if t.status == "pass":
                continue
            failed = [a for a in t.assertions if not a.passed and not a.skipped and a.weight > 0]
            why = t.error.message.splitlines()[0] if t.error else "; ".join(f"{a.label}: {a.reason}" for a in failed[:2])
            if t.guard_case and not t.error:
                why = (f"missed {', '.join(t.guard_case['missed']) or 'nothing'}; "
                       f"unexpected {', '.join(t.guard_case['unexpected']) or 'nothing'}")
            console.print(f"  [bold]{t.status.upper()}[/bold] {s.name}/{t.id}"
                          + (f" #{t.repeat + 1}" if report.run.repeat > 1 else "") + f": {why}", highlight=False)


def _closing_line(report, console: Console) -> None:  # type: ignore[no-untyped-def]
    """The last line CI reads: eval tests passed and failed (errors count as failed)."""
    tests = report.tests()
    passed = sum(t.status == "pass" for t in tests)
    console.print(f"eval: {passed} passed, {len(tests) - passed} failed", highlight=False)


def _console() -> Console:
    # Rich narrows tables to 80 columns when stdout is not a terminal (CI logs); give them room.
    return Console(width=None if sys.stdout.isatty() else 132)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator:  # type: ignore[type-arg]
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
    with progress:
        task = progress.add_task("evaluating", total=total)

        def advance(suite: str, result) -> None:  # type: ignore[no-untyped-def]
            progress.update(task, advance=1, description=f"{suite}/{result.id}"[:40])

        yield advance


def _write_outputs(report, output: Path | None, html: Path | None, junit: Path | None,  # type: ignore[no-untyped-def]
                   baseline: Path | None, console: Console) -> None:
    from evals.compare import compare_reports
    from evals.html import write_html
    from evals.junit import write_junit
    from evals.results import load_report, save_report

    if output:
        save_report(report, output)
        console.print(f"results: {output}", highlight=False)
    if junit:
        write_junit(report, junit)
        console.print(f"junit: {junit}", highlight=False)
    if html:
        comparison = compare_reports(load_report(baseline), report) if baseline else None
        write_html(report, html, comparison=comparison)
        console.print(f"html report: {html}", highlight=False)


def _finish(report, output: Path | None, html: Path | None, junit: Path | None,  # type: ignore[no-untyped-def]
            baseline: Path | None) -> None:
    """Summary, report files, the closing line, and the exit code (0 / 1 / 2)."""
    console = _console()
    _summary(report, console)
    _write_outputs(report, output, html, junit, baseline, console)
    _closing_line(report, console)
    sys.exit(report.exit_code())


_output_options = [
    click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the results JSON here."),
    click.option("--html", type=click.Path(path_type=Path, dir_okay=False), help="Write the HTML report here."),
    click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML here."),
    click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                 help="An earlier results JSON to compare with in the HTML report."),
    click.option("--concurrency", "-j", type=click.IntRange(1, 64), default=4, show_default=True,
                 help="Tests in flight at once."),
    click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal)."),
]


def _with_output_options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_output_options):
        fn = option(fn)
    return fn


def _exit_2_on_crash(fn: Callable[..., None]) -> Callable[..., None]:
    """Exit code 1 means "below threshold": a crash of the runner itself must not look like that."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except (CopilotError, click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001
            click.echo(f"error: the eval run broke: {type(exc).__name__}: {exc}", err=True)
            click.echo(traceback.format_exc(limit=8), err=True)
            sys.exit(2)

    return wrapper


@click.group("eval")
def eval_group() -> None:
    """Score the copilot on eval suites; gate regressions."""


@eval_group.command("run")
@click.argument("suites", nargs=-1, required=True)
@click.option("--provider", type=click.Choice(["offline", "openai"]), default="offline", show_default=True,
              help="offline: the playbook planner; openai: the configured OpenAI-compatible model.")
@click.option("--model", help="Model name for --provider openai (default: COPILOT_MODEL).")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True, help="Run every test N times.")
@click.option("--no-cache", is_flag=True, help="Call the model even when an answer to the same request is cached.")
@click.option("--filter", "pattern", metavar="REGEX",
              help="Only tests whose id matches REGEX (searched, case-insensitive); guard suites run whole.")
@click.option("--first", type=click.IntRange(1), metavar="N",
              help="Only the first N tests of each plan suite (after --filter), e.g. for a slow model.")
@_with_output_options
@_exit_2_on_crash
def run_cmd(suites: tuple[str, ...], provider: str, model: str | None, repeat: int, no_cache: bool,
            pattern: str | None, first: int | None, output: Path | None, html: Path | None, junit: Path | None, baseline: Path | None,
            concurrency: int, progress: bool | None) -> None:
    """Run SUITES (files, or names in evals/suites/ such as planner_briefs) and score them."""
    from copilot.errors import EvalError
    from evals.grader import make_grader
    from evals.providers import make_source
    from evals.runner import run_suites
    from evals.spec import load_suite, select_tests

    settings = get_settings()
    specs = [select_tests(load_suite(s), pattern, first) for s in suites]
    if pattern is not None and not any(s.tests for s in specs if s.kind == "plan"):
        raise EvalError(f"--filter {pattern!r} matches no test id in {', '.join(suites)}", path="--filter")
    specs = [s for s in specs if s.kind != "plan" or s.tests]
    source = make_source(provider, settings=settings, model=model, cache=not no_cache)
    grader = make_grader(settings, model=model, cache=not no_cache)
    total = sum(len(s.tests) * repeat for s in specs if s.kind == "plan")
    show = sys.stderr.isatty() if progress is None else progress
    with _progress(show, total) as advance:
        report = asyncio.run(run_suites(specs, source=source, provider=provider, model=model or (
            settings.model if provider == "openai" else None), repeat=repeat, concurrency=concurrency,
            grader=grader, on_progress=advance))
    _finish(report, output, html, junit, baseline)


@eval_group.command("rescore")
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--stored-suites", is_flag=True, help="Use the suites stored in the results, not the files on disk.")
@_with_output_options
@_exit_2_on_crash
def rescore_cmd(results: Path, stored_suites: bool, output: Path | None, html: Path | None, junit: Path | None,
                baseline: Path | None, concurrency: int, progress: bool | None) -> None:
    """Re-score RESULTS with the current assertions, validation and guards; no model is called."""
    from evals.rescore import rescore
    from evals.results import load_report

    report = load_report(results)
    new = asyncio.run(rescore(report, source_path=str(results), stored_suites=stored_suites, concurrency=concurrency))
    _finish(new, output, html, junit, baseline)


@eval_group.command("compare")
@click.argument("before", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("after", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--tolerance", type=float, default=0.0, show_default=True,
              help="Metric and guard score drops up to this much are not regressions.")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False), help="Write AFTER's HTML report with the comparison.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@_exit_2_on_crash
def compare_cmd(before: Path, after: Path, tolerance: float, html: Path | None, as_json: bool) -> None:
    """Per-suite, per-test and per-metric changes from BEFORE to AFTER; exit 1 on a regression."""
    import json

    from evals.compare import compare_reports
    from evals.html import write_html
    from evals.results import load_report

    a_report = load_report(after)
    comparison = compare_reports(load_report(before), a_report, tolerance=tolerance)
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2, default=str))
    else:
        for s in comparison.suites:
            delta = f"{s.delta * 100:+.1f} pts" if s.delta is not None else "-"
            before_s = f"{s.before:.1%}" if s.before is not None else "absent"
            after_s = f"{s.after:.1%}" if s.after is not None else "absent"
            click.echo(f"suite {s.suite}: {before_s} -> {after_s} ({delta})")
        for t in comparison.tests:
            click.echo(f"  {t.kind:>10}  {t.suite}/{t.id}: {t.before} -> {t.after}"
                       + (f"  now failing: {', '.join(t.newly_failing)}" if t.newly_failing else ""))
        for m in comparison.metrics:
            click.echo(f"  metric {m.suite}/{m.metric}: {m.before if m.before is not None else '-'} -> "
                       f"{m.after if m.after is not None else '-'}")
        regressions = comparison.regressions
        click.echo(f"{len(regressions)} regression(s)")
        for line in regressions:
            click.echo(f"  REGRESSION {line}")
    if html:
        write_html(a_report, html, comparison=comparison)
    sys.exit(1 if comparison.regressions else 0)
