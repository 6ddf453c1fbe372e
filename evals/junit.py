"""JUnit XML for CI dashboards: a <testsuite> per eval suite, a <testcase> per test (and repeat)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from evals.results import RunReport, TestResult

__all__ = ["junit_xml", "write_junit"]


def _case_name(test: TestResult, repeats: int) -> str:
    return f"{test.id} #{test.repeat + 1}" if repeats > 1 else test.id


def junit_xml(report: RunReport) -> str:
    root = ET.Element("testsuites", name=f"copilot eval {report.run.id}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in report.suites:
        time_s = sum(t.latency_ms for t in suite.tests) / 1000
        node = ET.SubElement(root, "testsuite", name=suite.name, tests=str(suite.total), failures=str(suite.failed),
                             errors=str(suite.errored), skipped="0", time=f"{time_s:.3f}",
                             timestamp=report.run.started_at.isoformat())
        props = ET.SubElement(node, "properties")
        for key, value in (("pass_rate", f"{suite.pass_rate:.4f}"), ("threshold", f"{suite.threshold:.4f}"),
                           ("provider", report.run.provider), ("model", report.run.model or ""),
                           ("git_sha", report.run.git_sha or "")):
            ET.SubElement(props, "property", name=key, value=value)
        for test in suite.tests:
            case = ET.SubElement(node, "testcase", classname=f"eval.{suite.name}",
                                 name=_case_name(test, report.run.repeat), time=f"{test.latency_ms / 1000:.3f}")
            failed = [a for a in test.assertions if not a.skipped and not a.passed and a.weight > 0]
            if test.status == "error" and test.error is not None:
                err = ET.SubElement(case, "error", type=test.error.type, message=test.error.message.splitlines()[0])
                err.text = test.error.message
            elif test.status == "fail":
                first = failed[0] if failed else None
                message = f"{first.label}: {first.reason}" if first else f"score {test.score:.2f} below threshold"
                fail = ET.SubElement(case, "failure", type="assertion", message=message[:500])
                fail.text = "\n".join(f"[turn {a.turn + 1}] {a.label}: {a.reason}" for a in failed) or message
            lines = [f"[turn {a.turn + 1}] {'SKIP' if a.skipped else 'PASS' if a.passed else 'FAIL'} "
                     f"{a.label} ({a.score:.2f}): {a.reason}" for a in test.assertions]
            if test.guard_case:
                lines.append(f"guard case: {test.guard_case}")
            if lines:
                ET.SubElement(case, "system-out").text = "\n".join(lines)
        totals["tests"] += suite.total
        totals["failures"] += suite.failed
        totals["errors"] += suite.errored
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(report), encoding="utf-8")
