"""Assertions on the planner's answer: the plan's shape, the fields it uses, questions and notes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from copilot.plan import Plan
from evals.assertions.base import Outcome, Scope, assertion
from evals.spec import AssertionSpec

__all__ = ["plan_fields", "values_of"]

_MERGE_VAR = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)")


def values_of(spec: AssertionSpec) -> list[str]:
    """The spec's value as a list of strings (a scalar becomes a one-item list)."""
    value = spec.value
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def plan_fields(plan: Plan) -> set[str]:
    """Every contact field the plan uses: in any rule (segments, branches, exclusions),
    as a merge field, or as a {{ variable }} in the copy."""
    data = plan.model_dump(mode="json")
    used = {n["field"] for n in _walk(data) if n.get("type") == "field" and isinstance(n.get("field"), str)}
    for variant in plan.variants:
        used.update(m.name for m in variant.merge_fields)
        for _, text in variant.copy_items():
            used.update(_MERGE_VAR.findall(text or ""))
    return used


def _plan(scope: Scope) -> Plan | None:
    return scope.turn.answer.plan_model()


def _no_plan_reason(scope: Scope) -> str:
    answer = scope.turn.answer
    if answer.error:
        return f"no plan: the planner raised {answer.error.type}: {answer.error.message}"
    if answer.questions:
        return f"no plan: the planner asked {answer.questions[0]!r}"
    return "no plan"


@assertion("plan_valid")
def plan_valid(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The plan fits the plan schema and passes the workspace validation."""
    problems = scope.turn.validation_problems
    if _plan(scope) is None and not problems:
        return Outcome(0, _no_plan_reason(scope))
    if problems:
        listed = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return Outcome(0, f"{len(problems)} validation problem(s): {listed}{more}")
    return Outcome(1, "schema-valid and passes workspace validation")


def _equals(spec: AssertionSpec, scope: Scope, what: str, actual: str | None) -> Outcome:
    if _plan(scope) is None:
        return Outcome(0, _no_plan_reason(scope))
    wanted = values_of(spec)
    if actual in wanted:
        return Outcome(1, f"{what} is {actual!r}")
    return Outcome(0, f"{what} is {actual!r}, expected {' or '.join(map(repr, wanted))}")


@assertion("goal", needs=("value",))
def goal(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The plan's goal (playbook) is the value (or one of a list)."""
    plan = _plan(scope)
    return _equals(spec, scope, "goal", plan.goal if plan else None)


@assertion("trigger_kind", needs=("value",))
def trigger_kind(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The trigger kind is event, schedule or recurring as given."""
    plan = _plan(scope)
    return _equals(spec, scope, "trigger kind", plan.trigger.kind if plan else None)


@assertion("entry_event", needs=("value",))
def entry_event(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The trigger's entry event is the value."""
    plan = _plan(scope)
    return _equals(spec, scope, "entry event", plan.trigger.entry_event if plan else None)


@assertion("segments_count", needs=("range",))
def segments_count(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The number of segments is within [min, max]."""
    plan = _plan(scope)
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    n = len(plan.segments)
    low = spec.min if spec.min is not None else float("-inf")
    high = spec.max if spec.max is not None else float("inf")
    names = ", ".join(s.name for s in plan.segments)
    ok = low <= n <= high
    return Outcome(1 if ok else 0, f"{n} segment(s) ({names}){'' if ok else ', outside ' + spec.label.split('[', 1)[-1].rstrip(']')}")


@assertion("fields_used", needs=("value",))
def fields_used(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Each listed contact field is used (rules, merge fields or copy); score = share used."""
    plan = _plan(scope)
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    wanted = values_of(spec)
    used = plan_fields(plan)
    missing = [f for f in wanted if f not in used]
    score = (len(wanted) - len(missing)) / len(wanted)
    return Outcome(score, f"missing: {', '.join(missing)}" if missing else f"uses {', '.join(wanted)}")


@assertion("fields_not_used", needs=("value",))
def fields_not_used(spec: AssertionSpec, scope: Scope) -> Outcome:
    """None of the listed fields is used; score = share not used. No plan uses no field."""
    plan = _plan(scope)
    if plan is None:
        return Outcome(1, f"{_no_plan_reason(scope)}, so no field is used")
    wanted = values_of(spec)
    used = plan_fields(plan)
    bad = [f for f in wanted if f in used]
    score = (len(wanted) - len(bad)) / len(wanted)
    return Outcome(score, f"uses {', '.join(bad)}" if bad else f"none of {', '.join(wanted)} used")


@assertion("no_plan")
def no_plan(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The answer holds no plan (only questions or an error)."""
    plan = _plan(scope)
    if plan is None:
        return Outcome(1, _no_plan_reason(scope))
    return Outcome(0, f"a plan was returned: {plan.title!r}")


@assertion("asks_question")
def asks_question(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The planner asked the marketer something (optionally containing ``value``)."""
    questions = scope.turn.answer.questions
    wanted = values_of(spec)
    if not questions:
        return Outcome(0, "no question asked")
    if wanted:
        hits = [q for q in questions if any(w.lower() in q.lower() for w in wanted)]
        if not hits:
            return Outcome(0, f"asked {questions[0]!r} but none mentions {' or '.join(map(repr, wanted))}")
        return Outcome(1, f"asked {hits[0]!r}")
    return Outcome(1, f"asked {questions[0]!r}" + (f" (+{len(questions) - 1})" if len(questions) > 1 else ""))


@assertion("note_contains", needs=("value",))
def note_contains(spec: AssertionSpec, scope: Scope) -> Outcome:
    """A planner note contains the value (case-insensitive); a list means any of them."""
    notes = scope.turn.answer.notes
    wanted = values_of(spec)
    for note in notes:
        if any(w.lower() in note.lower() for w in wanted):
            return Outcome(1, f"note: {note!r}")
    shown = "; ".join(repr(n) for n in notes[:3]) or "no notes"
    return Outcome(0, f"no note contains {' or '.join(map(repr, wanted))} ({shown})")


@assertion("error", needs=("value",))
def error(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The planner refused the request with this error type (e.g. BriefError)."""
    err = scope.turn.answer.error
    wanted = values_of(spec)
    if err is None:
        return Outcome(0, f"no error raised, expected {' or '.join(wanted)}")
    if err.type in wanted:
        return Outcome(1, f"{err.type}: {err.message}")
    return Outcome(0, f"raised {err.type}: {err.message}; expected {' or '.join(wanted)}")


def _says(text: str, spellings: Iterable[str]) -> bool:
    """Does the text hold one of the spellings, not as part of a longer figure ("5%" is not in "15%")?"""
    return any(re.search(r"(?<![\d.,])" + re.escape(s.lower()) + r"(?![\d])", text) for s in spellings)


def _offer_statements(offer: Any, workspace: Any) -> list[tuple[str, Callable[[str], bool]]]:
    """What the copy must state for an offer, each as (what, test of the copy), in any of the brand's
    languages and its currency: "15%", "15 %", "15 percent"; "$30", "30 €", "£15.00", "CA$25", "25 $";
    "free shipping", "envío gratis", "livraison offerte"; and the code, as written in the fact sheet."""
    from copilot.text.money import currency_symbols, find_money, find_percents
    from copilot.text.offers import find_free_shipping

    langs = tuple(dict.fromkeys(["en", *workspace.brand.locales]))
    out: list[tuple[str, Callable[[str], bool]]] = []
    value = offer.value
    if offer.kind == "percent_off" and value is not None:
        v = f"{value:g}"
        words = [f"{v}%", f"{v} %", f"{v}\u00a0%", f"{v}\u202f%", f"{v} percent", f"{v} por ciento", f"{v} prozent",
                 f"{v} pour cent"]
        out.append(("the percentage", lambda text: any(p.value == value for p in find_percents(text, langs))
                    or _says(text, words)))
    elif offer.kind == "amount_off" and value is not None:
        currency = workspace.brand.currency
        units = [u for u, code in currency_symbols(langs, (currency,)).items() if code == currency]
        figures = {f"{value:g}", f"{value:.2f}", f"{value:.2f}".replace(".", ",")}
        spelled = {f"{a}{sep}{b}" for f in figures for u in units for a, b in ((u, f), (f, u)) for sep in ("", " ")}
        out.append(("the amount", lambda text: any(m.amount == value and m.currency == currency
                                                   for m in find_money(text, langs, currencies=(currency,)))
                    or _says(text, spelled)))
    elif offer.kind == "free_shipping":
        out.append(("free shipping", lambda text: bool(find_free_shipping(text, langs))))
    if getattr(offer, "code", None):
        code = offer.code.lower()
        out.append(("the code", lambda text: code in text))
    return out


@assertion("offer_in_copy", needs=("value",))
def offer_in_copy(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The plan uses the fact-sheet offer and every (segment's) variant states its exact
    value and code; score = share of variants that do."""
    plan = _plan(scope)
    if plan is None:
        return Outcome(0, _no_plan_reason(scope))
    offer_id = values_of(spec)[0]
    offer = scope.workspace.offers_by_id.get(offer_id)
    if offer is None:
        return Outcome(0, f"offer {offer_id!r} is not in the fact sheet")
    if offer_id not in plan.offers:
        return Outcome(0, f"the plan's offers are {plan.offers}, not {offer_id!r}")
    renders = _first_contact_renders(scope, spec.segment)
    if not renders:
        return Outcome(0, "no rendered variant to check")
    needed = _offer_statements(offer, scope.workspace)
    bad = []
    for r in renders:
        copy = "\n".join((r.subject, r.preheader, r.text, r.cta_text)).lower()
        missing = [what for what, states in needed if not states(copy)]
        if missing:
            bad.append(f"{r.segment}/{r.variant} lacks {' and '.join(missing)}")
    score = (len(renders) - len(bad)) / len(renders)
    if bad:
        return Outcome(score, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""))
    return Outcome(1, f"all {len(renders)} variant(s) state {offer_id} ({', '.join(w for w, _ in needed) or 'by name'})")


def _first_contact_renders(scope: Scope, segment: str | None) -> list[Any]:
    """One render per variant (the first sample contact's), optionally for one segment."""
    seen: dict[tuple[str, str, str], Any] = {}
    for r in scope.turn.renders:
        if segment and r.segment != segment:
            continue
        seen.setdefault((r.segment, r.message, r.variant), r)
    return list(seen.values())
