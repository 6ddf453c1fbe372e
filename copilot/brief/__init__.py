"""Reading a marketer's brief: goal, moment, audience, offer, timing, constraints, risky asks, injections."""

from copilot.brief.extract import DateMention, Duration, NumberMention
from copilot.brief.lexicon import brief_form
from copilot.brief.reader import MAX_BRIEF_CHARS, check_brief_text, dated_fields, read_brief, risk_reason
from copilot.brief.reading import AudienceHint, BriefReading, Constraints, OfferMention, RiskyField

# ``normalize`` is the name planner modules import: a phrase in the brief reader's matching form.
normalize = brief_form

__all__ = [
    "MAX_BRIEF_CHARS",
    "AudienceHint",
    "BriefReading",
    "Constraints",
    "DateMention",
    "Duration",
    "NumberMention",
    "OfferMention",
    "RiskyField",
    "brief_form",
    "check_brief_text",
    "dated_fields",
    "normalize",
    "read_brief",
    "risk_reason",
]
