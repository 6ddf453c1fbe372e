"""An empty greeting is one the merge left bare ("Hi ,"); a greeting the copy itself writes before
punctuation ("Welcome back, 15% off" as an offer's name) is not."""

from __future__ import annotations


def _codes(findings):  # type: ignore[no-untyped-def]
    return [f.code for f in findings]


def test_a_greeting_the_copy_writes_itself_is_not_an_empty_salutation(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    from guards import run_plan

    body = ("Hi {{ first_name }},\n\n**Welcome back, 15% off:** take 15% off one order with code COMEBACK15 "
            "until March 19, 2027.")
    assert "FB_EMPTY_SALUTATION" not in _codes(run_plan(make_plan(body=body), demo_workspace))


def test_a_greeting_left_bare_by_an_empty_name_is_found(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    from guards import run_plan

    body = ("Hi {{ first_name }},\n\n**Welcome back, 15% off:** take 15% off one order with code COMEBACK15 "
            "until March 19, 2027.")
    plan = make_plan(body=body, merge_fields=[{"name": "first_name", "fallback": ""}])
    assert "FB_EMPTY_SALUTATION" in _codes(run_plan(plan, demo_workspace))
