"""The model as the reader of a brief: the narrow role a small model can do well (COPILOT_LLM_ROLE=reader).

A small model (0.5B, served locally) cannot write a whole plan that fits a workspace, but it
can read a brief into a few choices drawn from that workspace: which moment, which of the
brand's named groups, which offer; and read a follow-up into a few edits of the current
plan: which segments stay, which offer, how many emails, what tone. The response format
enumerates every option, so a server with grammar-constrained output (llama-server) can only
answer with one of them, and a strict json_schema server (OpenAI) the same. The offline
playbooks build the plan from the model's choices; the revision's note says which parts the
model chose and which the playbooks built, so "the model answered" means its answer was used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from copilot.brief import AudienceHint, BriefReading, OfferMention, read_brief
from copilot.brief.lexicon import lexicon
from copilot.plan import Plan
from copilot.planner.base import AudienceStats
from copilot.planner.clock import local_date
from copilot.planner.compose import compose_plan
from copilot.segments import describe_rule
from copilot.planner.followup import apply_tone, carry_over, limit_emails
from copilot.planner.timing import sent_messages
from copilot.playbooks import get_playbook, load_playbooks, load_vocabulary
from copilot.workspace import Workspace

__all__ = ["ReaderOptions", "reader_options", "brief_answer_model", "revision_answer_model", "apply_brief_answer",
           "apply_revision_answer", "Applied", "UNCLEAR", "NO_OFFER", "NOT_SAID", "KEEP"]

UNCLEAR, NO_OFFER, NOT_SAID, KEEP = "unclear", "no_offer", "not_said", "keep"
_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ReaderOptions:
    """What the model may choose from, all drawn from the playbooks and the workspace."""

    brand: str
    customers: tuple[str, ...]
    moments: dict[str, str]  # playbook id -> "Name: summary"
    audiences: dict[str, AudienceHint]  # the brand's named groups, by label
    offers: dict[str, str]  # offer id -> "name, code"
    tones: tuple[str, ...]

    def context(self) -> dict[str, Any]:
        """The prompt's view: plain strings only."""
        return {"brand": self.brand, "customers": list(self.customers), "moments": self.moments,
                "audiences": list(self.audiences), "offers": self.offers}


def reader_options(workspace: Workspace) -> ReaderOptions:
    audiences: dict[str, AudienceHint] = {}
    seen: set[str] = set()
    for hint in lexicon(workspace).audience:
        if hint.label.lower() not in seen:  # the catalog and an enum's words may name a group alike
            seen.add(hint.label.lower())
            audiences[hint.label] = hint
    return ReaderOptions(
        brand=workspace.name,
        customers=tuple(workspace.brand.customer_words),
        moments={b.id: f"{b.name}: {_first_sentence(b.summary)}"
                 for b in sorted(load_playbooks(), key=lambda b: b.order)},
        audiences=audiences,
        offers={o.id: f"{o.name}, {'code ' + o.code if o.code else 'no code'}" for o in workspace.facts.offers},
        tones=tuple(load_vocabulary().tone_copy),
    )


def _first_sentence(text: str, limit: int = 110) -> str:
    """A playbook's summary, shortened: a small model reads every option on every turn."""
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " ..."


def _choice(values: list[str]) -> Any:
    return Literal.__getitem__(tuple(values))  # type: ignore[attr-defined]


_MODELS: dict[tuple[Any, ...], type[BaseModel]] = {}


def brief_answer_model(options: ReaderOptions) -> type[BaseModel]:
    """The reply and the choices for a new plan, each an enumeration of the options."""
    key = ("brief", options.brand, tuple(options.moments), tuple(options.audiences), tuple(options.offers))
    if key not in _MODELS:
        # Choices first, the reply last: a 0.5B model that writes the reply first echoes the brief and
        # then takes the first option of every list (measured on llama-server with the bundled brands).
        fields: dict[str, Any] = {
            "moment": (_choice([*options.moments, UNCLEAR]), Field(description="the campaign moment's id")),
        }
        if options.audiences:
            fields["audience"] = (list[_choice(list(options.audiences))],  # type: ignore[misc]
                                  Field(description="named groups the brief limits the campaign to"))
        fields["offer"] = (_choice([*options.offers, NO_OFFER, NOT_SAID]), Field(description="the offer's id"))
        fields["reply"] = (str, Field(description="one or two sentences to the marketer: the campaign you understood"))
        _MODELS[key] = create_model("BriefChoices", __config__=_STRICT, **fields)
    return _MODELS[key]


def revision_answer_model(options: ReaderOptions, plan: Plan) -> type[BaseModel]:
    """The reply and the edits for a follow-up, each an enumeration of what this plan allows."""
    names = [s.name for s in plan.segments]
    emails = len(set(sent_messages(list(plan.trigger.steps))))
    key = ("revision", options.brand, tuple(options.offers), tuple(names), emails, options.tones)
    if key not in _MODELS:
        _MODELS[key] = create_model(
            "RevisionChoices", __config__=_STRICT,
            reply=(str, Field(description="one sentence to the marketer: what you will change")),
            keep_segments=(list[_choice(names)],  # type: ignore[misc]
                           Field(description="segments that stay in the plan")),
            offer=(_choice([KEEP, *options.offers, NO_OFFER]), Field(description="keep, an offer id, or no_offer")),
            max_emails=(_choice([KEEP, *(str(n) for n in range(1, emails))]),
                        Field(description="keep, or the most emails per person")),
            tone=(_choice([KEEP, *options.tones]), Field(description="keep, or the copy's new tone")),
        )
    return _MODELS[key]


def current_plan_context(plan: Plan, workspace: Workspace) -> dict[str, Any]:
    return {"title": plan.title, "goal": plan.goal, "offers": list(plan.offers),
            "emails": len(set(sent_messages(list(plan.trigger.steps)))),
            "segments": [{"name": s.name, "who": describe_rule(s.rule, workspace)} for s in plan.segments]}


@dataclass
class Applied:
    """What the model's choices did: the parts it decided, and notes for the reviewer."""

    parts: list[str] = field(default_factory=list)  # e.g. "moment <playbook id>", "offer <offer id>"
    notes: list[str] = field(default_factory=list)
    # part -> how to see it in the plan built: a part the plan does not carry is not claimed
    shows: dict[str, Callable[[Plan], bool]] = field(default_factory=dict)

    def choose(self, part: str, shows: Callable[[Plan], bool]) -> None:
        self.parts.append(part)
        self.shows[part] = shows

    def settle(self, plan: Plan | None) -> None:
        """Keep the parts the plan shows; say which choices the playbooks could not follow."""
        if plan is None:
            return
        unused = [p for p in self.parts if not self.shows[p](plan)]
        self.parts = [p for p in self.parts if p not in unused]
        if unused:
            self.notes.append(f"The model also chose {'; '.join(unused)}, which the plan does not carry.")

    def note(self, model: str, built: str) -> str:
        chose = "; ".join(self.parts) if self.parts else "nothing beyond its reply"
        return f"Model-answered ({model}): the reply, and {chose}. {built}"


def _rule_json(plan: Plan) -> str:
    return json.dumps([s.rule.model_dump(mode="json") for s in plan.segments], sort_keys=True)


def _exclusions_json(plan: Plan) -> str:
    return json.dumps([r.model_dump(mode="json") for r in plan.suppression.exclusions], sort_keys=True)


def _offer_mention(offer_id: str, workspace: Workspace) -> OfferMention:
    offer = workspace.offers_by_id[offer_id]
    return OfferMention(text=offer.name, kind="named", code=offer.code, offer_id=offer.id)


def apply_brief_answer(reading: BriefReading, answer: Any, workspace: Workspace) -> Applied:
    """Overrule the keyword reading with the model's choices where it made one (in place)."""
    applied = Applied()
    if answer.moment != UNCLEAR:
        if reading.goal and reading.goal != answer.moment:
            applied.notes.append(f"The model read the moment as {answer.moment}; the keyword reader as "
                                 f"{reading.goal}. The plan follows the model.")
        reading.goal, reading.goal_text, reading.alternatives = answer.moment, "", []
        applied.choose(f"moment {answer.moment}", lambda plan: plan.goal == answer.moment)
    chosen = list(dict.fromkeys(getattr(answer, "audience", [])))
    if chosen:
        options = reader_options(workspace).audiences
        reading.audience = [AudienceHint(label, label, options[label].rule, options[label].fields,
                                         options[label].events) for label in chosen]
        rules = [json.dumps(h.rule.model_dump(mode="json"), sort_keys=True) for h in reading.audience]
        applied.choose("audience " + ", ".join(chosen),
                       lambda plan: all(r in _rule_json(plan) or r in _exclusions_json(plan) for r in rules))
    if answer.offer == NO_OFFER:
        reading.offers, reading.offer_refused = [], True
        applied.choose("no offer", lambda plan: not plan.offers)
    elif answer.offer != NOT_SAID:
        reading.offers, reading.offer_refused = [_offer_mention(answer.offer, workspace)], False
        applied.choose(f"offer {answer.offer}", lambda plan: answer.offer in plan.offers)
    return applied


def apply_revision_answer(plan: Plan, answer: Any, message: str, workspace: Workspace, *, now: datetime,
                          audience: AudienceStats | None) -> tuple[Plan, Applied]:
    """The current plan with the model's edits applied by the playbooks' own helpers."""
    applied = Applied()
    new = plan
    current_offer = plan.offers[0] if plan.offers else None
    wanted = None if answer.offer == NO_OFFER else answer.offer
    if answer.offer != KEEP and wanted != current_offer:
        base = read_brief(plan.brief[-4000:], workspace, today=local_date(now, workspace))
        base.goal = plan.goal
        base.offers = [_offer_mention(wanted, workspace)] if wanted else []
        base.offer_refused = wanted is None
        draft = compose_plan(base, get_playbook(plan.goal), workspace, now=now, audience=audience)
        if draft.plan is not None:
            new, _ = carry_over(draft.plan, plan, workspace)
            applied.notes += draft.notes
            applied.choose(f"offer {answer.offer}",
                           lambda plan: (wanted in plan.offers) if wanted else not plan.offers)
        else:
            applied.notes += draft.questions
    keep = [s for s in new.segments if s.name in set(answer.keep_segments)]
    if keep and len(keep) < len(new.segments):
        dropped = [s.name for s in new.segments if s not in keep]
        new = new.model_copy(update={
            "segments": [s.model_copy(update={"priority": i}) for i, s in enumerate(keep, 1)],
            "variants": [v for v in new.variants if v.segment not in dropped]})
        applied.choose("segments kept " + ", ".join(s.name for s in keep),
                       lambda plan: [s.name for s in plan.segments] == [s.name for s in keep])
        applied.notes.append(f"Dropped {', '.join(dropped)}; the remaining segments moved up in priority.")
    if answer.max_emails != KEEP:
        new = limit_emails(new, int(answer.max_emails))
        applied.choose(f"at most {answer.max_emails} email(s)",
                       lambda plan: len(set(sent_messages(list(plan.trigger.steps)))) <= int(answer.max_emails))
    if answer.tone != KEEP:
        variants, tone_notes = apply_tone(list(new.variants), [answer.tone], workspace.name)
        new = new.model_copy(update={"variants": variants})
        applied.notes += tone_notes
        applied.choose(f"tone {answer.tone}", lambda plan: True)  # the note above says what it did
    if new != plan:
        new = new.model_copy(update={"brief": f"{plan.brief}\n{message}"[-4000:]})
    applied.settle(new)
    return new, applied
