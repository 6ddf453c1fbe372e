"""One eval test through the product's own path: planner, then the service's checking path, then rendering.

Plans are checked by ``copilot.services.checking.check`` (validate, lint, guard), as every chat
turn is; only the audience differs: sample contacts from a fixed file instead of the database,
so scores do not depend on a built audience.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from copilot.errors import CopilotError, EvalError
from copilot.plan import Plan
from copilot.planner.base import PlanRequest, Turn
from copilot.services.checking import SampleAudience, check
from copilot.workspace import Workspace
from evals.answers import AnswerSource
from evals.assertions import Grader, Scope, evaluate
from evals.results import AssertionResult, PlannerAnswer, RenderRecord, TurnResult
from evals.spec import TestSpec
from guards import Finding

__all__ = ["check_answer", "run_conversation", "load_contacts", "contact_label", "CONTACTS_DIR"]

CONTACTS_DIR = Path(__file__).resolve().parent / "contacts"


def load_contacts(spec: str | Sequence[Mapping[str, Any]], base: Path | None = None) -> list[dict[str, Any]]:
    """Sample contacts: a list given inline, a name in evals/contacts/ ("demo"), or a YAML file path."""
    if not isinstance(spec, str):
        return [dict(c) for c in spec]
    path = CONTACTS_DIR / f"{spec}.yaml"
    if not path.exists():
        path = (base / spec) if base is not None and not Path(spec).is_absolute() else Path(spec)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EvalError(f"contacts {spec!r} not found (a name in {CONTACTS_DIR} or a YAML file)",
                        file=str(path), path="contacts") from exc
    except UnicodeDecodeError as exc:
        raise EvalError(f"contacts file {path} is not UTF-8 text ({exc.reason})", file=str(path),
                        path="(file)") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise EvalError(f"contacts file {path} is malformed YAML at {where}: "
                        f"{getattr(exc, 'problem', None) or exc}", file=str(path), path=where) from exc
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise EvalError(f"contacts file {path} must be a list of mappings", file=str(path), path="(top level)")
    return data


def contact_label(contact: Mapping[str, Any], index: int) -> str:
    return str(contact.get("email") or f"contact {index + 1}")


def _renders(plan: Plan, workspace: Workspace, contacts: Sequence[Mapping[str, Any]]) -> list[RenderRecord]:
    from copilot.render import render_variant

    out = []
    for variant in plan.variants:
        for i, contact in enumerate(contacts):
            base = dict(segment=variant.segment, variant=variant.key, message=variant.message,
                        contact=contact_label(contact, i), cta_text=variant.cta_text, locale=variant.locale)
            try:
                email = render_variant(variant, contact, workspace=workspace)
            except CopilotError as exc:
                out.append(RenderRecord(**base, error=f"{type(exc).__name__}: {exc.message}"))
                continue
            out.append(RenderRecord(**base, subject=email.subject, preheader=email.preheader, text=email.text,
                                    html=email.html, cta_url=email.cta_url))
    return out


def check_answer(answer: PlannerAnswer, workspace: Workspace, contacts: Sequence[Mapping[str, Any]],
                 now: datetime | None = None) -> tuple[list[dict[str, str]], list[Finding], list[RenderRecord]]:
    """Validation problems, guard findings and renders for one answer (nothing when it has no plan).

    The plan is checked by the service's own checking path (``copilot.services.checking.check``)
    with the sample contacts as its audience; a plan with problems is neither guarded nor rendered.
    """
    if answer.plan is None:
        return [], [], []
    checked = check(answer.plan, workspace, audience=SampleAudience(contacts), now=now)
    problems = [{"path": p.path, "message": p.message} for p in checked.problems]
    if checked.plan is None:
        return problems, [], []
    return problems, checked.findings, _renders(checked.plan, workspace, contacts) if checked.valid else []


async def run_conversation(test: TestSpec, *, source: AnswerSource, workspace: Workspace,
                           contacts: Sequence[Mapping[str, Any]], sample: int = 0,
                           grader: Grader | None = None) -> list[TurnResult]:
    """Every turn of the test in order, each revising the latest plan, with its assertions scored.

    ``every_turn`` and the turn's own assertions are checked on each turn's answer; the
    test's own assertions on the final turn (where budgets add up every turn).
    """
    history: list[Turn] = []
    current: Plan | None = None
    results: list[TurnResult] = []
    turns = test.turns
    for index, turn in enumerate(turns):
        request = PlanRequest(brief=turn.message, workspace=workspace, history=tuple(history),
                              current_plan=current, now=test.now)
        key, answer = await source.answer(request, sample=sample)
        problems, findings, renders = check_answer(answer, workspace, contacts, test.now)
        result = TurnResult(index=index, message=turn.message, request_hash=key, answer=answer,
                            validation_problems=problems, findings=findings, renders=renders)
        results.append(result)
        scope = Scope(turn=result, turns=list(results), level="turn", workspace=workspace, grader=grader,
                      brief=turn.message)
        result.assertions.extend([await evaluate(a, scope) for a in [*test.every_turn, *turn.assert_]])
        history += [Turn(role="user", content=turn.message), Turn(role="assistant", content=answer.reply)]
        if answer.plan is not None:
            current = answer.plan_model()
    final = results[-1]
    scope = Scope(turn=final, turns=list(results), level="test", workspace=workspace, grader=grader,
                  brief=turns[-1].message)
    final_results: list[AssertionResult] = [await evaluate(a, scope) for a in test.assert_]
    final.assertions.extend(final_results)
    return results
