"""run_plan / run_variant: clean plans pass, findings are located and stable, brand severity
overrides apply (but cannot hide broken inboxes), and a failing guard fails closed."""

from __future__ import annotations

import dataclasses

from guards import Finding, has_blocking, run_plan, run_variant
from guards.pipeline import _guarded, run_deliverability
from guards.registry import registered_guards


def _with_overrides(ws, overrides):  # type: ignore[no-untyped-def]
    voice = ws.voice.model_copy(update={"severity_overrides": overrides})
    return dataclasses.replace(ws, voice=voice, _cache={})


def test_the_base_plan_has_no_findings(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    assert run_plan(make_plan(), demo_workspace) == []


def test_a_finding_names_guard_location_span_evidence_and_fix(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    body = "Take 15% off with code COMEBACK15 until March 19, 2027. The Tempo Fly is $150."
    [finding] = run_plan(make_plan(body=body), demo_workspace)
    assert (finding.guard, finding.code, finding.severity) == ("facts", "FACT_PRICE_MISMATCH", "block")
    assert (finding.segment, finding.message_key, finding.variant, finding.field) == (
        "Lapsed customers", "email_1", "A", "body")
    assert body[finding.span[0]:finding.span[1]] == "$150"
    assert finding.evidence["fact_price"] == "160.0" and finding.fix == "Use $160."
    assert has_blocking([finding])


def test_fingerprint_survives_an_edit_elsewhere_in_the_field(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    tail = "Take 15% off with code COMEBACK15 until March 19, 2027. The Tempo Fly is $150."
    [a] = run_plan(make_plan(body=tail), demo_workspace)
    [b] = run_plan(make_plan(body="Spring is close. " + tail), demo_workspace)
    assert a.span != b.span and a.fingerprint == b.fingerprint
    [c] = run_plan(make_plan(body=tail.replace("$150", "$151")), demo_workspace)
    assert c.fingerprint != a.fingerprint
    assert Finding.model_validate(a.model_dump(mode="json")) == a  # stored findings load back


def test_run_variant_checks_an_edit_without_touching_the_rest(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(plan={"send_window": None})  # a plan-level finding run_variant leaves out
    edited = plan.variants[0].model_copy(update={"subject": "ACT NOW: 15% off your next run"})
    codes = {f.code for f in run_variant(edited, plan, demo_workspace)}
    assert codes == {"TONE_BANNED_PHRASE", "TONE_ALL_CAPS"}
    assert "FACT_NO_SEND_WINDOW" in {f.code for f in run_plan(plan, demo_workspace)}


def test_brand_overrides_raise_and_lower_severities(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    ws = _with_overrides(demo_workspace, {"TONE_ALL_CAPS": "warn", "TONE_BANNED_PHRASE": "info"})
    found = {f.code: f.severity for f in run_plan(make_plan(subject="ACT NOW: 15% off your next run"), ws)}
    assert found == {"TONE_ALL_CAPS": "warn", "TONE_BANNED_PHRASE": "info"}


def test_overrides_cannot_hide_a_broken_inbox_and_typos_are_reported(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    ws = _with_overrides(demo_workspace, {"FB_RAW_MERGE_SYNTAX": "info", "TONE_EXCLAMATION": "info"})
    findings = run_plan(make_plan(subject="*|FNAME|*, 15% off your next run"), ws)
    by_code = {f.code: f for f in findings}
    assert by_code["FB_RAW_MERGE_SYNTAX"].severity == "block"
    assert by_code["GUARD_OVERRIDE_IGNORED"].evidence == {"code": "FB_RAW_MERGE_SYNTAX", "wanted": "info"}
    assert by_code["GUARD_UNKNOWN_OVERRIDE"].evidence == {"code": "TONE_EXCLAMATION"}


def test_a_guard_that_crashes_becomes_a_blocking_finding(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    from guards.context import PlanContext

    def broken(ctx):  # type: ignore[no-untyped-def]
        raise KeyError("boom")

    pctx = PlanContext(make_plan(), demo_workspace)
    [finding] = _guarded(registered_guards()[0], broken, pctx,
                         lambda code, msg, ev: pctx.finding(code, message=msg, evidence=ev))
    assert (finding.code, finding.severity) == ("GUARD_FAILED", "block")
    assert finding.evidence == {"guard": "facts", "error": "KeyError"}


def test_findings_are_grouped_in_plan_order(make_plan, demo_workspace, plan_data) -> None:  # type: ignore[no-untyped-def]
    second = dict(plan_data["segments"][0], name="Second", priority=2)
    variant = dict(plan_data["variants"][0], segment="Second", subject="ACT NOW: 15% off")
    plan = make_plan(plan={"segments": [plan_data["segments"][0], second],
                           "variants": [variant, plan_data["variants"][0] | {"subject": "HUGE: 15% off"}],
                           "send_window": None})
    order = [(f.segment, f.code) for f in run_plan(plan, demo_workspace)]
    assert order[0] == (None, "FACT_NO_SEND_WINDOW")
    assert [s for s, _ in order[1:]] == sorted([s for s, _ in order[1:]], key=["Lapsed customers", "Second"].index)


def test_deliverability_reports_spam_rules_or_says_it_did_not_check(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    import shutil

    plan = make_plan(subject="FREE MONEY!!! 100% GUARANTEED", body="Click here: 100% guaranteed, risk free, CASH BONUS.")
    findings = run_deliverability(plan, demo_workspace)
    if shutil.which("spamassassin") is None:
        assert [f.code for f in findings] == ["DELIV_NOT_CHECKED"]
        return
    rules = {f.evidence.get("rule") for f in findings if f.code in {"DELIV_SPAM_RULE", "DELIV_SPAM_RULE_MINOR"}}
    assert "GUARANTEED_100_PERCENT" in rules
    assert all(f.segment == "Lapsed customers" and f.variant == "A" for f in findings)
