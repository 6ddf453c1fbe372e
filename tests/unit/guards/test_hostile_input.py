"""Hostile input gives findings or clear errors, never a crash: template injection in copy and
in contact values, megabyte-long copy, and malformed plans."""

from __future__ import annotations

import pytest

from guards import run_plan, run_variant

SSTI = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config.items() }}",
    "{{ self._TemplateReference__context }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{% set x = 'a' * 10**9 %}",
    "{{ request|attr('application') }}",
    "{% include '/etc/passwd' %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ 9**9**9 }}",
    "{{ 7*7 }}",
]


@pytest.mark.parametrize("payload", SSTI)
@pytest.mark.parametrize("field", ["subject", "preheader", "body", "cta_text", "cta_url"])
def test_template_injection_in_copy_is_a_blocking_finding(make_plan, demo_workspace, payload, field) -> None:  # type: ignore[no-untyped-def]
    findings = run_plan(make_plan(**{field: payload}), demo_workspace)
    codes = {f.code for f in findings if f.field == field}
    assert codes & {"FB_SANDBOX_VIOLATION", "FB_TEMPLATE_ERROR", "FB_NOT_A_MERGE_FIELD"}, codes
    assert "GUARD_FAILED" not in {f.code for f in findings}


@pytest.mark.parametrize("payload", SSTI + ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "*|FNAME|*",
                                            "%%Name%%", "\u202eevil", "A" * 100_000, "\x00\x07", "None"])
def test_hostile_contact_values_fall_back_without_findings(make_plan, demo_workspace, payload) -> None:  # type: ignore[no-untyped-def]
    samples = {"Lapsed customers": [{"first_name": payload, "city": payload, "locale": "en"}]}
    findings = run_plan(make_plan(), demo_workspace, samples=samples)
    assert findings == []


def test_megabyte_copy_is_refused_with_a_finding(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    big = "Run far. " * 120_000  # about a megabyte
    findings = run_plan(make_plan(body=big, subject="x" * 5_000), demo_workspace)
    assert {(f.code, f.field) for f in findings} == {("GUARD_COPY_TOO_LONG", "body"), ("GUARD_COPY_TOO_LONG", "subject")}
    assert all(f.severity == "block" for f in findings)


def test_long_but_legal_copy_is_checked(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    body = ("Take 15% off with code COMEBACK15 until March 19, 2027. " * 1500)[:99_000]
    findings = run_variant(make_plan(body=body).variants[0], make_plan(), demo_workspace)
    assert "GUARD_COPY_TOO_LONG" not in {f.code for f in findings}
    assert "GUARD_FAILED" not in {f.code for f in findings}


def test_odd_but_valid_plans_do_not_crash_the_guards(make_plan, demo_workspace, plan_data) -> None:  # type: ignore[no-untyped-def]
    odd = [
        make_plan(plan={"offers": ["nope", "winback15", "winback15"]}),
        make_plan(segment="No such segment"),
        make_plan(subject="", preheader="", cta_text="", body=""),
        make_plan(merge_fields=[{"name": "", "fallback": ""}, {"name": "first_name", "fallback": "{{ 7*7 }}"}]),
        make_plan(locale="zz-ZZ", body="\u202e\u0000 emoji 🏃🏽‍♀️🏳️‍🌈 ﷽ " * 50),
        make_plan(plan={"segments": [dict(plan_data["segments"][0], rule={"type": "not", "rule": {
            "type": "any", "rules": [{"type": "segment", "segment": "Lapsed customers"},
                                     {"type": "consent", "state": "subscribed"}]}})]}),
    ]
    for plan in odd:
        findings = run_plan(plan, demo_workspace, samples={"Lapsed customers": [{"first_name": None}, {}]})
        assert "GUARD_FAILED" not in {f.code for f in findings}, [f.message for f in findings]
