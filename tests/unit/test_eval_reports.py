"""Eval reports: the self-contained HTML (parsed), JUnit XML (parsed), results versioning, and the docs."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.fakes import demo_plan
from test_eval_runner import MODEL, MUST_FAIL, run_model, suite_file, without_offer

from copilot.errors import EvalError
from copilot.plan import Plan
from copilot.tokens import prepare_tiktoken_cache
from evals.assertions import ASSERTIONS
from evals.compare import compare_reports
from evals.html import render_html
from evals.junit import junit_xml
from evals.results import RunReport, load_report, save_report


class Page(HTMLParser):
    """Collects what the tests look at: element ids and attributes, table rows by table id, external refs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tables: dict[str, list[list[str]]] = {}
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self._table: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "table":
            self._table.append(a.get("id") or a.get("class") or "table")
            self.tables.setdefault(self._table[-1], [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table[-1]].append(self._row)
            self._row = None
        elif tag == "table" and self._table:
            self._table.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


def report(tmp_path: Path, plan: Plan | None = None, extra: str = MUST_FAIL) -> RunReport:
    """The runner's suite answered by the model planner over the stubbed API (the demo plan, or ``plan``)."""
    return run_model(suite_file(tmp_path, MODEL, extra=extra), tmp_path, plan)[0]


def test_html_report_is_self_contained_with_summary_and_per_test_detail(tmp_path: Path) -> None:
    page = Page(render_html(report(tmp_path)))
    external = [(tag, a) for tag, a in page.elements
                if tag in ("script", "link", "img", "iframe") or re.match(r"https?://", (a.get("src") or ""))]
    assert external == []  # no CDN, no script: the file works offline and from an email attachment
    summary = page.tables["summary-table"]
    assert summary[0][:3] == ["suite", "kind", "tests"]
    assert summary[1][0] == "runner_check" and summary[1][2:6] == ["4", "3", "1", "0"]
    assert summary[1][6] == "75.0%" and summary[1][-1] == "below threshold"
    details = {a["id"]: a for tag, a in page.elements if tag == "details" and "test" in (a.get("class") or "")}
    failing = details["test-runner_check-must-fail-0"]
    assert failing["data-status"] == "fail" and "open" in failing  # failures are opened
    assert "open" not in details["test-runner_check-winback-0"]
    assertion_rows = [row for name, rows in page.tables.items() if name == "assertions" for row in rows]
    assert ["fail", "goal=welcome", "goal", "0.00", "1.0", "goal is 'winback', expected 'welcome'"] in assertion_rows
    segments = page.tables["segments"]
    assert any(row[1] == "Lapsed VIPs" for row in segments)


def test_html_report_shows_the_comparison_with_a_baseline(tmp_path: Path) -> None:
    before = report(tmp_path, extra="")
    after = report(tmp_path, without_offer(demo_plan()), extra="")
    page = Page(render_html(after, comparison=compare_reports(before, after)))
    assert "comparison" in page.ids and "regressions" in page.ids
    rows = page.tables["comparison-tests"]
    assert rows[1][:4] == ["runner_check/winback", "regression", "pass", "fail"]
    assert ["runner_check", "honesty", "1.000", "0.000", "-1.000"] in page.tables["comparison-metrics"]


def test_junit_xml_has_a_case_per_test_and_failures_with_reasons(tmp_path: Path) -> None:
    root = ET.fromstring(junit_xml(report(tmp_path)))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "runner_check"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"winback", "ask-first", "refine", "must-fail"}
    failure = cases["must-fail"].find("failure")
    assert failure is not None and "goal=welcome: goal is 'winback', expected 'welcome'" in (failure.get("message") or "")
    assert cases["winback"].find("failure") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["pass_rate"] == "0.7500" and props["provider"] == "openai"


def test_results_of_another_format_or_version_are_refused(tmp_path: Path) -> None:
    good = report(tmp_path)
    path = tmp_path / "r.json"
    save_report(good, path)
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(EvalError, match="results version 99; this copilot reads version 1"):
        load_report(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(EvalError, match="not an eval results file"):
        load_report(path)
    path.write_text("{not json")
    with pytest.raises(EvalError, match="is not JSON"):
        load_report(path)


def test_every_assertion_type_is_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "evals" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert set(ASSERTIONS) <= documented, sorted(set(ASSERTIONS) - documented)
