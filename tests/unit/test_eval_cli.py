"""``copilot eval`` end to end with the real offline planner: exit codes, report files, rescore, compare."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli import cli
from copilot.settings import get_settings

SUITE = """
suite: cli_check
threshold: 1.0
defaults:
  assert: [{type: plan_valid}]
tests:
  - id: welcome
    brief: welcome series for new subscribers
    assert:
      - {type: goal, value: welcome}
      - {type: not_contains, value: ["{{", "None"]}
"""


@pytest.fixture(autouse=True)
def offline_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "COPILOT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def suite(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "cli_check.yaml"
    path.write_text(SUITE + extra, encoding="utf-8")
    return path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["eval", *args], catch_exceptions=False)


def test_run_exits_0_when_the_suite_meets_its_threshold_and_writes_every_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(suite(tmp_path)), "--no-progress", "-o", str(out / "r.json"),
                    "--html", str(out / "r.html"), "--junit", str(out / "r.xml"))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-1] == "eval: 1 passed, 0 failed"
    data = json.loads((out / "r.json").read_text())
    assert data["format"] == "copilot-eval-results" and data["version"] == 1
    assert data["run"]["provider"] == "offline" and data["run"]["planner"] == "offline-playbook"
    assert data["suites"][0]["tests"][0]["turns"][0]["answer"]["plan"]["goal"] == "welcome"
    assert ET.parse(out / "r.xml").getroot().get("tests") == "1"
    assert (out / "r.html").read_text().startswith("<!doctype html>")


def test_run_exits_1_when_an_assertion_that_must_fail_fails(tmp_path: Path) -> None:
    path = suite(tmp_path, "  - id: must-fail\n    brief: welcome series for new subscribers\n"
                           "    assert: [{type: goal, value: cart_abandonment}]\n")
    result = invoke("run", str(path), "--no-progress")
    assert result.exit_code == 1, result.output
    assert "FAIL cli_check/must-fail: goal=cart_abandonment: goal is 'welcome', expected 'cart_abandonment'" in result.output
    assert result.output.rstrip().splitlines()[-1] == "eval: 1 passed, 1 failed"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "no_such_suite"], "error: suite 'no_such_suite' not found"),
    (["run", "{suite}", "--provider", "openai"], "error: --provider openai needs OPENAI_API_KEY or OPENAI_BASE_URL"),
    (["run", "{suite}", "--model", "gpt-4o"], "error: --model applies to --provider openai"),
    (["run", "{bad}"], "tests[0].assert[0].type: unknown assertion type 'gaol'"),
    (["run", "{no_workspace}"], "error: workspace folder not found"),
    (["rescore", "{not_results}"], "is not an eval results file"),
    (["run", "{suite}", "--filter", "no-such-test"], "error: --filter 'no-such-test' matches no test id"),
    (["run", "{suite}", "--filter", "wel(come"], "error: --filter 'wel(come' is not a valid regular expression"),
])
def test_a_run_that_cannot_happen_exits_2_with_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("suite: bad\ntests:\n  - {id: a, brief: hi, assert: [{type: gaol, value: x}]}\n")
    no_workspace = tmp_path / "nows.yaml"
    no_workspace.write_text("suite: nows\ndefaults: {workspace: ./missing}\ntests:\n  - {id: a, brief: hi}\n")
    not_results = tmp_path / "x.json"
    not_results.write_text("{}")
    paths = {"suite": str(suite(tmp_path)), "bad": str(bad), "no_workspace": str(no_workspace),
             "not_results": str(not_results)}
    result = CliRunner().invoke(cli, ["eval", *[a.format(**paths) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_filter_and_first_choose_which_tests_run(tmp_path: Path) -> None:
    path = suite(tmp_path, "  - id: cart\n    brief: remind people who left their carts\n"
                           "  - id: winback\n    brief: win back lapsed runners with 15% off\n")
    out = tmp_path / "r.json"

    def ran(*args: str) -> list[str]:
        result = invoke("run", str(path), "--no-progress", "-o", str(out), *args)
        assert result.exit_code == 0, result.output
        return [t["id"] for t in json.loads(out.read_text())["suites"][0]["tests"]]

    assert ran() == ["welcome", "cart", "winback"]
    assert ran("--filter", "^(CART|winback)$") == ["cart", "winback"]
    assert ran("--first", "2") == ["welcome", "cart"]
    assert ran("--filter", "a", "--first", "1") == ["cart"]


def test_rescore_reproduces_the_run_and_compare_reports_the_regression(tmp_path: Path) -> None:
    path = suite(tmp_path)
    first = tmp_path / "first.json"
    assert invoke("run", str(path), "--no-progress", "-o", str(first)).exit_code == 0
    same = invoke("rescore", str(first), "--no-progress", "-o", str(tmp_path / "same.json"))
    assert same.exit_code == 0 and same.output.rstrip().splitlines()[-1] == "eval: 1 passed, 0 failed"
    before = json.loads(first.read_text())["suites"][0]["tests"][0]
    after = json.loads((tmp_path / "same.json").read_text())["suites"][0]["tests"][0]
    assert [a["reason"] for t in after["turns"] for a in t["assertions"]] == [
        a["reason"] for t in before["turns"] for a in t["assertions"]]
    # Tighten an assertion and rescore: the stored answer now fails it; compare calls it a regression.
    path.write_text(path.read_text().replace("{type: goal, value: welcome}", "{type: goal, value: winback}"))
    worse = tmp_path / "worse.json"
    assert invoke("rescore", str(first), "--no-progress", "-o", str(worse)).exit_code == 1
    compared = invoke("compare", str(first), str(worse), "--html", str(tmp_path / "cmp.html"))
    assert compared.exit_code == 1
    assert "REGRESSION test cli_check/welcome: pass -> fail (now failing: goal=winback)" in compared.output
    assert invoke("compare", str(first), str(tmp_path / "same.json")).exit_code == 0


def test_the_openai_provider_uses_the_product_planner_behind_a_cache_keyed_by_model_and_prompts(tmp_path: Path) -> None:
    from copilot.settings import Settings
    from evals.answers import CachedAnswers
    from evals.providers import make_source, prompts_hash

    settings = Settings(data_dir=tmp_path, database_url="sqlite://", workspace_dir=None,
                        openai_base_url="http://llm.test/v1", model="small-model")
    source = make_source("openai", settings=settings)
    assert isinstance(source, CachedAnswers) and source.folder == tmp_path / "eval-cache" / "plans"
    assert source.identity == (f"llm:small-model|small-model|http://llm.test/v1|fallback:True|"
                               f"prompts:{prompts_hash()}")
    strict = make_source("openai", settings=settings.replace(llm_fallback=False))
    assert strict.identity != source.identity  # an offline answer is never served as the model's
    other = make_source("openai", settings=settings, model="bigger-model", cache=False)
    assert not isinstance(other, CachedAnswers) and "bigger-model" in other.identity
