"""The offline playbook planner: plans from the playbook library, with no model and no network.

It reads the brief, picks the playbook that names the moment, and composes a plan whose
facts come only from the fact sheet. What it cannot settle it asks; what it refuses
(risky fields, instructions to skip checks) it says. Same request, same plan, byte for byte.
"""

from __future__ import annotations

from copilot.brief import BriefReading, check_brief_text, read_brief
from copilot.planner.base import Planner, PlanRequest, PlanResult, TokenCallback
from copilot.planner.choices import unknown_product_text
from copilot.planner.clock import local_date, planning_now
from copilot.planner.compose import Draft, compose_plan
from copilot.planner.timeline import timeline
from copilot.playbooks import get_playbook, load_playbooks
from copilot.workspace import Workspace

__all__ = ["OfflinePlanner", "honesty_notes"]

_LANGUAGES = {"es": "Spanish", "de": "German", "fr": "French"}


def honesty_notes(reading: BriefReading, workspace: Workspace) -> list[str]:
    """What the planner refuses or cannot do, said plainly (these change nothing in the plan)."""
    notes = []
    if reading.injections:
        quoted = ", ".join(f"“{i}”" for i in reading.injections)
        notes.append(f"I ignored instructions in the brief ({quoted}): every plan goes through the guards and "
                     "needs a reviewer's approval, and a brief cannot change that.")
    for risky in reading.risky_fields:
        notes.append(f"I left out {risky.field} (you asked for “{risky.text}”): {risky.reason}.")
    for channel in reading.constraints.unsupported_channels:
        notes.append(f"This copilot plans email only, so the plan has no {channel} step.")
    if reading.language in _LANGUAGES:
        notes.append(f"I read the brief in {_LANGUAGES[reading.language]}; the copy is written in the brand's "
                     f"default language ({workspace.brand.default_locale}).")
    return notes


def _moment_question(workspace: Workspace) -> str:
    names = ", ".join(b.name.lower() for b in load_playbooks())
    return ("Which moment is this campaign for, and who should get it? For example: " + names +
            ". A sentence like “win back customers who haven't ordered in 6 months” is enough.")


def _reply(draft: Draft, reading: BriefReading, workspace: Workspace, notes: list[str]) -> str:
    lines: list[str] = []
    plan = draft.plan
    if plan is not None:
        book = get_playbook(plan.goal)
        names = ", ".join(f"{s.name}" for s in plan.segments)
        lines.append(f"Here is a {book.name.lower()} plan for {workspace.name}: {len(plan.segments)} segment"
                     f"{'s' if len(plan.segments) != 1 else ''} ({names}).")
        if reading.goal_text:
            lines.append(f"I read the moment from “{reading.goal_text}”.")
        if draft.audience:
            lines.append(f"Only for: {', '.join(draft.audience)}.")
        lines.append("Timeline: " + "; ".join(line.strip() for line in timeline(plan.trigger)) + ".")
        if plan.offers:
            offer = workspace.offers_by_id[plan.offers[0]]
            lines.append(f"Offer: {offer.name}, worded exactly as the fact sheet has it "
                         f"({'ends ' + str(offer.ends) if offer.ends else 'no end date'}).")
        for seg in plan.segments:
            h = seg.hypothesis
            lines.append(f"{seg.name}: {h.sentence()}.")
        if reading.alternatives:
            others = ", ".join(get_playbook(a).name.lower() for a in reading.alternatives)
            lines.append(f"The brief could also mean {others}; say so and I will switch.")
    for q in draft.questions:
        lines.append(f"Question: {q}")
    for n in notes + draft.notes:
        lines.append(f"Note: {n}")
    return "\n".join(lines)


class OfflinePlanner(Planner):
    """Plans from the playbook library; needs no model, key or network."""

    name = "offline-playbook"

    async def plan(self, request: PlanRequest, *, on_token: TokenCallback | None = None) -> PlanResult:
        result = self.plan_now(request)
        if on_token is not None:
            for line in result.reply.splitlines(keepends=True):
                await on_token(line)
        return result

    def plan_now(self, request: PlanRequest) -> PlanResult:
        """The synchronous core of ``plan`` (the CLI and benchmarks call it directly)."""
        from copilot.planner.followup import revise

        workspace = request.workspace
        text = check_brief_text(request.brief)
        now = planning_now(workspace, request.now)
        if request.current_plan is not None:
            draft, reading = revise(request.current_plan, text, workspace, now=now, audience=request.audience)
            notes = honesty_notes(reading, workspace)
            return self._result(draft, reading, workspace, notes)
        return self.plan_from_reading(request, self.read(request))

    def read(self, request: PlanRequest) -> BriefReading:
        """What the brief of a new plan says (an answer to our question completes the earlier brief)."""
        workspace = request.workspace
        text = check_brief_text(request.brief)
        today = local_date(planning_now(workspace, request.now), workspace)
        reading = read_brief(text, workspace, today=today)
        earlier = [t.content for t in request.history if t.role == "user"]
        if reading.goal is None and earlier:
            # an answer to our question ("cart abandoners") completes the earlier brief
            combined = "\n".join([*earlier, text])[-4000:]
            reading = read_brief(combined, workspace, today=today)
        return reading

    def plan_from_reading(self, request: PlanRequest, reading: BriefReading) -> PlanResult:
        """A new plan from a reading of its brief: this planner's own, or one a model filled in."""
        workspace = request.workspace
        now = planning_now(workspace, request.now)
        notes = honesty_notes(reading, workspace)
        if reading.goal is None:
            if reading.unknown_products and not reading.products:
                notes.append(unknown_product_text(reading))
            draft = Draft(None, [_moment_question(workspace)])
            return self._result(draft, reading, workspace, notes)
        draft = compose_plan(reading, get_playbook(reading.goal), workspace, now=now, audience=request.audience)
        return self._result(draft, reading, workspace, notes)

    def _result(self, draft: Draft, reading: BriefReading, workspace: Workspace, notes: list[str]) -> PlanResult:
        return PlanResult(plan=draft.plan, planner=self.name, reply=_reply(draft, reading, workspace, notes),
                          questions=list(draft.questions), notes=notes + draft.notes)
