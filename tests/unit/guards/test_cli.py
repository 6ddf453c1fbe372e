"""``copilot guard``: findings grouped by segment and variant; exit 0, 1 or 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from copilot.cli import cli


def _write(tmp_path: Path, data) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, default=str), encoding="utf-8")
    return path


def test_a_clean_plan_exits_0(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data))])
    assert result.exit_code == 0, result.output
    assert "passed: nothing blocks" in result.output


def test_a_blocking_finding_exits_1_and_is_grouped(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    plan_data["variants"][0]["body"] = "Take 15% off with code COMEBACK20 until March 19, 2027."
    plan_data["send_window"] = None
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data))])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines.index("Plan") < lines.index("Segment Lapsed customers") < lines.index("  email_1 / variant A")
    assert any(line.startswith("    BLOCK FACT_CODE_UNKNOWN body[") for line in lines)
    assert any("fix:" in line for line in lines)


def test_json_output_lists_findings_with_fingerprints(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    plan_data["variants"][0]["subject"] = "ACT NOW: 15% off your next run"
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data)), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["blocked"] is True and data["counts"] == {"block": 2}  # shouting blocks too
    assert {f["code"] for f in data["findings"]} == {"TONE_BANNED_PHRASE", "TONE_ALL_CAPS"}
    assert all(len(f["fingerprint"]) == 32 for f in data["findings"])


def test_malformed_json_exits_2_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, '{"title": "x",')
    result = CliRunner().invoke(cli, ["guard", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}: plan is not JSON" in result.output


def test_a_plan_that_does_not_fit_exits_2_naming_the_path(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    plan_data["segments"][0]["rule"] = {"type": "field", "field": "city"}
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data))])
    assert result.exit_code == 2
    assert "segments[0].rule.op" in result.output


def test_samples_file_feeds_the_render_checks(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    samples = tmp_path / "samples.json"
    # A reader of a language the brand does not write gets the default-language copy: a warning.
    samples.write_text(json.dumps({"Lapsed customers": [{"first_name": "Jeanne", "locale": "fr"}]}))
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data)), "--samples", str(samples), "--json"])
    assert result.exit_code == 0
    assert [f["code"] for f in json.loads(result.output)["findings"]] == ["FB_LOCALE_DEFAULT"]
    # Copy in another of the brand's languages read by someone else is a mismatch: it blocks.
    for variant in plan_data["variants"]:
        variant["locale"] = "es"
    samples.write_text(json.dumps({"Lapsed customers": [{"first_name": "Jana", "locale": "de"}]}))
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data)), "--samples", str(samples), "--json"])
    assert result.exit_code == 1
    assert "FB_LOCALE_MISMATCH" in [f["code"] for f in json.loads(result.output)["findings"]]
    samples.write_text("[1, 2]")
    assert CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data)), "--samples", str(samples)]).exit_code == 2


def test_readers_without_copy_of_their_own_are_the_default_variants_concern(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    """With English and German copy, an Italian reader gets the English variant (a warning there); the
    German variant, which only German readers get, has nothing to say about them."""
    german = [dict(v, locale="de") for v in plan_data["variants"]]
    plan_data["variants"] = plan_data["variants"] + german
    samples = tmp_path / "samples.json"
    samples.write_text(json.dumps({"Lapsed customers": [{"first_name": "Gianna", "locale": "it"},
                                                        {"first_name": "Jana", "locale": "de"}]}))
    result = CliRunner().invoke(cli, ["guard", str(_write(tmp_path, plan_data)), "--samples", str(samples), "--json"])
    locale_findings = [(f["code"], f["evidence"]["locale"]) for f in json.loads(result.output)["findings"]
                       if f["code"].startswith("FB_LOCALE")]
    assert locale_findings == [("FB_LOCALE_DEFAULT", "en")] * len(german)


def test_now_decides_whether_the_send_time_has_passed(tmp_path, plan_data) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, plan_data)  # sends 2027-02-10
    late = CliRunner().invoke(cli, ["guard", str(path), "--now", "2027-03-01T00:00:00Z"])
    assert late.exit_code == 1 and "TIME_SEND_IN_PAST" in late.output
    early = CliRunner().invoke(cli, ["guard", str(path), "--now", "2027-02-01"])
    assert early.exit_code == 0, early.output
    bad = CliRunner().invoke(cli, ["guard", str(path), "--now", "yesterday"])
    assert bad.exit_code == 2 and "--now" in bad.output
