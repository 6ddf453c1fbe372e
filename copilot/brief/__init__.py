"""Reading a marketer's brief: goal, moment, audience, offer, timing, constraints, risky asks, injections."""

from copilot.brief.extract import DateMention, Duration, NumberMention
from copilot.brief.matcher import PhraseMatcher, normalize, tokenize
from copilot.brief.reader import MAX_BRIEF_CHARS, check_brief_text, read_brief, risk_reason
from copilot.brief.reading import AudienceHint, BriefReading, Constraints, OfferMention, RiskyField

__all__ = [
    "MAX_BRIEF_CHARS",
    "AudienceHint",
    "BriefReading",
    "Constraints",
    "DateMention",
    "Duration",
    "NumberMention",
    "OfferMention",
    "PhraseMatcher",
    "RiskyField",
    "check_brief_text",
    "normalize",
    "read_brief",
    "risk_reason",
    "tokenize",
]
