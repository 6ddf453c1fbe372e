"""Assertions on the rendered copy (every variant for every sample contact) and on findings."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from copilot.plan import COPY_FIELD_BY_NAME, COPY_FIELDS
from copilot.text import find_money
from evals.assertions.base import Outcome, Scope, assertion, skip
from evals.assertions.plan_checks import _first_contact_renders, _no_plan_reason, values_of
from evals.results import RenderRecord
from evals.spec import AssertionSpec

__all__ = ["render_text", "reading_grade_of"]


def render_text(render: RenderRecord, field: str | None) -> str:
    """The part of a rendered email a copy assertion looks at; "any" (default) joins the visible parts."""
    if field in (None, "any"):
        return "\n".join(render_text(render, f.name) for f in COPY_FIELDS)
    if field in COPY_FIELD_BY_NAME and COPY_FIELD_BY_NAME[field].kind == "markdown":
        return render.text  # the body as the reader sees it
    return getattr(render, field)


def _renders(scope: Scope, spec: AssertionSpec) -> list[RenderRecord]:
    return [r for r in scope.turn.renders if not spec.segment or r.segment == spec.segment]


def _where(render: RenderRecord) -> str:
    return f"{render.segment}/{render.message}/{render.variant} for {render.contact}"


def _share(spec: AssertionSpec, scope: Scope, test, describe: str, *,  # type: ignore[no-untyped-def]
           by_render: bool = False) -> Outcome:
    renders = _renders(scope, spec)
    if not renders:
        return Outcome(0, f"no rendered copy ({_no_plan_reason(scope)})")
    hits = [r for r in renders if (test(render_text(r, spec.field), r) if by_render
                                   else test(render_text(r, spec.field)))]
    misses = [r for r in renders if r not in hits]
    score = len(hits) / len(renders)
    detail = f"{len(hits)} of {len(renders)} renders {describe}"
    if misses and hits:
        detail += f"; not in {_where(misses[0])}"
    elif hits:
        detail += f"; e.g. {_where(hits[0])}"
    return Outcome(score, detail)


@assertion("contains", needs=("value",))
def contains(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Every render contains the text (case-insensitive; a list means all of them); score = share. An
    amount of money ("$150") is found as the render's language writes it ("150,00 $" in German copy)."""
    wanted = [w.lower() for w in values_of(spec)]
    currencies = (scope.workspace.brand.currency,)

    def has(text: str, render: RenderRecord) -> bool:
        low = text.lower()
        for w in wanted:
            if w in low:
                continue
            money = find_money(w, "en", currencies=currencies)
            if not (money and render.locale) or not any(
                    (m.amount, m.currency) == (money[0].amount, money[0].currency)
                    for m in find_money(text, render.locale, currencies=currencies)):
                return False
        return True

    return _share(spec, scope, has, f"contain {' and '.join(map(repr, values_of(spec)))}", by_render=True)


@assertion("not_contains", needs=("value",))
def not_contains(spec: AssertionSpec, scope: Scope) -> Outcome:
    """No render contains the text (or any of a list); score = share clean. No copy is clean."""
    banned = values_of(spec)
    renders = _renders(scope, spec)
    if not renders:
        return Outcome(1, f"no rendered copy ({_no_plan_reason(scope)})")
    dirty = []
    for r in renders:
        text = render_text(r, spec.field)
        found = [b for b in banned if b.lower() in text.lower()]
        if found:
            dirty.append((r, found[0]))
    score = (len(renders) - len(dirty)) / len(renders)
    if dirty:
        r, found = dirty[0]
        return Outcome(score, f"{len(dirty)} of {len(renders)} renders contain {found!r}, e.g. {_where(r)}")
    return Outcome(1, f"none of {len(renders)} renders contains {' or '.join(map(repr, banned))}")


@assertion("regex", needs=("value",))
def regex(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Every render in the brand's default language matches the regular expression (``flags: i`` ignores
    case); score = share."""
    flags = re.IGNORECASE if "i" in spec.flags else 0
    flags |= re.MULTILINE if "m" in spec.flags else 0
    pattern = re.compile(str(spec.value), flags)
    return _share(spec, scope, lambda text: pattern.search(text) is not None, f"match /{spec.value}/")


@assertion("subject_length")
def subject_length(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Every rendered subject is within [min, max] characters (max defaults to the brand's limit)."""
    high = spec.max if spec.max is not None else scope.workspace.voice.subject_max_length
    low = spec.min if spec.min is not None else 1
    renders = _renders(scope, spec)
    if not renders:
        return Outcome(0, f"no rendered copy ({_no_plan_reason(scope)})")
    bad = [r for r in renders if not low <= len(r.subject) <= high]
    lengths = sorted(len(r.subject) for r in renders)
    detail = f"subject lengths {lengths[0]}..{lengths[-1]} (allowed {low:g}..{high:g})"
    if bad:
        detail += f"; {len(bad)} outside, e.g. {bad[0].subject!r}"
    return Outcome((len(renders) - len(bad)) / len(renders), detail)


@lru_cache(maxsize=1)
def _reader() -> Any:
    from textstat.textstat import textstatistics

    reader = textstatistics()
    # "en-US" (with a hyphen) counts syllables with pyphen's bundled dictionary; plain "en"
    # makes textstat fetch NLTK's cmudict over the network, which evals never use.
    reader.set_lang("en-US")
    return reader


def reading_grade_of(text: str) -> float:
    """The Flesch-Kincaid grade of the text (Markdown marks stripped), as the tone guard measures it."""
    return float(_reader().flesch_kincaid_grade(re.sub(r"[*_#>`\[\]()]", " ", text)))


@assertion("reading_grade")
def reading_grade(spec: AssertionSpec, scope: Scope) -> Outcome:
    """Each variant's body reads at or below ``max`` (default: the brand's target) and above ``min``."""
    high = spec.max if spec.max is not None else float(scope.workspace.voice.reading_grade_target)
    low = spec.min if spec.min is not None else float("-inf")
    renders = _first_contact_renders(scope, spec.segment)
    if not renders:
        return Outcome(0, f"no rendered copy ({_no_plan_reason(scope)})")
    grades = [(r, reading_grade_of(r.text)) for r in renders]
    bad = [(r, g) for r, g in grades if not low <= g <= high]
    shown = ", ".join(f"{g:.1f}" for _, g in grades[:6])
    detail = f"grades {shown} (max {high:g})"
    if bad:
        detail += f"; {bad[0][0].segment}/{bad[0][0].variant} at {bad[0][1]:.1f}"
    return Outcome((len(grades) - len(bad)) / len(grades), detail)


@assertion("no_blocking_findings")
def no_blocking_findings(spec: AssertionSpec, scope: Scope) -> Outcome:
    """No guard finding has severity block."""
    if scope.turn.answer.plan is None:
        return skip(f"nothing to guard ({_no_plan_reason(scope)})")
    blocking = [f for f in scope.turn.findings if f.severity == "block"]
    if blocking:
        codes = sorted({f.code for f in blocking})
        return Outcome(0, f"{len(blocking)} blocking finding(s): {', '.join(codes)}; first: {blocking[0].message}")
    return Outcome(1, f"no blocking finding ({len(scope.turn.findings)} finding(s) in all)")


@assertion("finding_code", needs=("value",))
def finding_code(spec: AssertionSpec, scope: Scope) -> Outcome:
    """The guards reported each listed finding code; score = share reported."""
    wanted = values_of(spec)
    found = {f.code for f in scope.turn.findings}
    missing = [c for c in wanted if c not in found]
    score = (len(wanted) - len(missing)) / len(wanted)
    if missing:
        return Outcome(score, f"not reported: {', '.join(missing)} (reported: {', '.join(sorted(found)) or 'none'})")
    return Outcome(1, f"reported {', '.join(wanted)}")
