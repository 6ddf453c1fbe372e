"""tone: the copy sounds like the brand (voice.yaml): no banned or discouraged phrases, spam
triggers, fake urgency, surveillance or over-familiar phrasing; exclamation marks, capitals
and emoji within the rules; reading grade and subject length on target; a CTA that fits the
journey stage."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz
from textstat.textstat import textstatistics

from copilot.errors import RenderError
from copilot.playbooks import stage_for_goal
from copilot.playbooks.catalogs import translate
from copilot.render import merge_context, render_field, variant_names
from copilot.text import (
    COMMON_CURRENCIES,
    PhraseMatcher,
    code_context,
    find_money,
    find_percents,
    normalize,
    sentence_bounds,
    skeleton,
    skeleton_phrase,
    spelled_number,
    tokenize,
)
from guards.context import PROSE_FIELDS, VariantContext
from guards.facts_index import fact_index
from guards.finding import Code, Finding, Guard
from guards.profiles import typical_contact

__all__ = ["GUARD"]


def _code(code: str, severity: str, title: str) -> Code:
    return Code(code, "tone", severity, title)  # type: ignore[arg-type]


BANNED = _code("TONE_BANNED_PHRASE", "block", "The copy uses a phrase the brand bans")
DISCOURAGED = _code("TONE_DISCOURAGED_PHRASE", "warn", "The copy uses a phrase the brand discourages")
SPAM = _code("TONE_SPAM_PHRASE", "warn", "The copy uses a classic spam-filter trigger")
SPAM_STACKED = _code("TONE_SPAM_STACKED", "block",
                     "One sentence stacks several spam triggers or unbacked pressure phrases")
# Labels whose phrases, two or more in one sentence, read as spam (one alone warns).
_STACKING = frozenset({"spam", "urgency_deadline", "urgency_scarcity"})
FAKE_URGENCY = _code("TONE_FAKE_URGENCY", "block", "The copy presses with urgency or scarcity the facts do not back")
OVER_FAMILIAR = _code("TONE_OVER_FAMILIAR", "warn", "The copy claims a closeness the reader never offered")
SURVEILLANCE = _code("TONE_SURVEILLANCE", "warn", "The copy tells the reader what was watched about them")
SURVEILLANCE_DETAIL = _code("TONE_SURVEILLANCE_DETAIL", "block",
                            "The copy quotes how long or how often the reader looked at something")
EXCLAMATIONS = _code("TONE_EXCLAMATIONS", "warn", "More exclamation marks than the brand allows")
ALL_CAPS = _code("TONE_ALL_CAPS", "block", "Shouted words in capitals (acronyms, offer codes, product words and "
                 "voice.yaml allowed_caps are not shouting)")
EMOJI = _code("TONE_EMOJI", "warn", "Emoji outside the brand's emoji policy")
READING_GRADE = _code("TONE_READING_GRADE", "warn", "The body reads above the brand's target grade")
SUBJECT_LENGTH = _code("TONE_SUBJECT_LENGTH", "warn", "The subject is longer than the brand's limit")
SUBJECT_CUTOFF = _code("TONE_SUBJECT_CUTOFF", "info", "The offer or product in the subject is past what a phone shows")
CTA_STAGE = _code("TONE_CTA_STAGE", "warn", "The call to action does not fit the journey stage")
CTA_FORBIDDEN = _code("TONE_CTA_FORBIDDEN", "block", "The call to action is one the brand forbids at this journey stage")

PHONE_SUBJECT_CHARS = 40
GRADE_TOLERANCE = 2.0
_DATA = yaml.safe_load((Path(__file__).parent / "data" / "phrases.yaml").read_text(encoding="utf-8"))
_LABEL_CODE = {"banned": BANNED, "discouraged": DISCOURAGED, "spam": SPAM, "urgency_deadline": FAKE_URGENCY,
               "urgency_scarcity": FAKE_URGENCY, "over_familiar": OVER_FAMILIAR, "surveillance": SURVEILLANCE}
_VIEW_WORDS = r"(?:looked|looking|viewed|viewing|browsed|browsing|stared|staring|checked out|visited|spent|lingered)"
_VIEW_NEEDLES = ("look", "view", "brows", "star", "checked out", "visit", "spent", "linger")
_COUNT = rf"(?:\d+|{spelled_number(('en',))})"
_DETAIL = re.compile(
    rf"(?i)\b{_VIEW_WORDS}\b[^.!?\n]{{0,60}}?\b(?:for|spent)?\s*(?:{_COUNT}|a few|several)\s+(?:seconds?|minutes?|hours?|times)\b"
    rf"|\b(?:{_COUNT}|several)\s+(?:seconds?|minutes?|hours?|times)\b[^.!?\n]{{0,40}}?\b{_VIEW_WORDS}\b"
    rf"|\b{_VIEW_WORDS}\b[^.!?\n]{{0,40}}?\bat \d{{1,2}}(?::\d{{2}})?\s?(?:am|pm)\b")
_CAPS = re.compile(r"\b[A-Z][A-Z']{2,}\b|\b(?:SO|NO|GO|DO|BE|IS|IT|TO|UP|MY|WE)\b")  # two-letter words only when they are words
_ACRONYMS = frozenset({"USA", "VIP", "FAQ", "USD", "EUR", "GBP", "GPS", "XXL", "DIY", "UTC", "RSVP", "SPF", "UV",
                       "GTX", "PR", "PB", "ID", "APP", "iOS", "TV", "NYC", "LA"})
# One emoji is one grapheme: a flag (two regional indicators), or a pictograph with its variation
# selector and skin tone, joined by zero-width joiners to the next ("👨‍👩‍👧", "💪🏽" and "🇨🇦" are one each).
_EMOJI_MODS = "[\uFE0F\U0001F3FB-\U0001F3FF]*"
_EMOJI = re.compile("[\U0001F1E6-\U0001F1FF]{2}"
                    f"|[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55\U0001F1E6-\U0001F1FF]{_EMOJI_MODS}"
                    f"(?:\u200D[\U0001F300-\U0001FAFF\u2600-\u27BF\u2640\u2642]{_EMOJI_MODS})*")
# "only 3 spots left", "only a few hours left", "selling out", "filling up fast": counted or vague
# scarcity, which no fact backs (the fact sheet holds no stock levels). Bounded: linear in the copy.
_SCARCE = re.compile(rf"(?i)\bonly (?:{_COUNT}|a few|a handful of|a couple of)(?: [\w-]+){{0,2}} (?:left|remaining)\b"
                     r"|\b(?:selling|sold|booking|filling) (?:out|up) fast\b|\bselling out\b")
_KEY_WORD = re.compile(r"\b[A-Z0-9]{4,}\d\b|\bfree\b", re.I)  # a code, or "free"
_READER = textstatistics()
# "en-US" (hyphen, not underscore) makes textstat count syllables with pyphen's bundled
# dictionary instead of NLTK's cmudict, which it would try to download: guards never use the network.
_READER.set_lang("en-US")


@lru_cache(maxsize=64)
def _matcher(banned: tuple[str, ...], discouraged: tuple[str, ...]) -> PhraseMatcher:
    phrases = [(p, "banned") for p in banned] + [(p, "discouraged") for p in discouraged]
    for label in ("spam", "urgency_deadline", "urgency_scarcity", "over_familiar", "surveillance"):
        phrases += [(p, label) for p in _DATA[label]]
    return PhraseMatcher(phrases)


def check_variant(ctx: VariantContext) -> Iterator[Finding]:
    voice = ctx.workspace.voice
    matcher = _matcher(tuple(voice.banned_phrases), tuple(voice.discouraged_phrases))
    deadline_backed, why = _deadline_backed(ctx)
    for name in PROSE_FIELDS:
        text = ctx.prose[name]
        if not text.strip():
            continue
        stacking: list[tuple[int, int, str]] = []
        for hit in matcher.find(text):
            code = _LABEL_CODE[hit.label]
            if hit.label == "urgency_deadline" and deadline_backed:
                continue
            if hit.label == "spam" and _brand_says(ctx.workspace, hit.words):
                continue  # the brand's own offer name or CTA ("Double your gift"), not a spam trigger
            if hit.label in _STACKING:
                stacking.append((hit.start, hit.end, hit.words))
            detail = {"banned": f"the brand bans {hit.phrase.text!r}",
                      "discouraged": f"the brand discourages {hit.phrase.text!r}",
                      "spam": "a phrase spam filters score", "urgency_deadline": f"urgency the plan does not back ({why})",
                      "urgency_scarcity": "scarcity the fact sheet cannot back (it holds no stock levels)",
                      "over_familiar": "over-familiar", "surveillance": "tells the reader they were watched"}[hit.label]
            message = f"{hit.words!r}: {detail}"
            yield ctx.finding(code, field=name, span=(hit.start, hit.end), message=message,
                              evidence={"phrase": hit.phrase.text, "matched": hit.words, "exact": hit.exact},
                              fix=_FIXES[code.code])
        taken = [(h.start, h.end) for h in matcher.find(text) if h.label in ("banned", "discouraged")]
        for code, phrase, (a, b) in _disguised(voice, text, taken):
            label = "bans" if code is BANNED else "discourages"
            yield ctx.finding(code, field=name, span=(a, b), message=(
                f"{text[a:b]!r}: the brand {label} {phrase!r} (written with other spacing, hyphens or look-alike letters)"),
                evidence={"phrase": phrase, "matched": text[a:b], "exact": False}, fix=_FIXES[code.code])
        for m in _SCARCE.finditer(text):
            if any(a < m.end() and m.start() < b for a, b, _ in stacking):
                continue  # the phrase list already named it
            stacking.append((m.start(), m.end(), m.group(0)))
            yield ctx.finding(FAKE_URGENCY, field=name, span=m.span(), message=(
                f"{m.group(0)!r}: scarcity the fact sheet cannot back (it holds no stock levels)"),
                evidence={"matched": m.group(0)}, fix=_FIXES[FAKE_URGENCY.code])
        if len(stacking) >= 2:
            yield from _stacked(ctx, name, text, stacking)
        low = text.lower()
        details = _DETAIL.finditer(text) if any(w in low for w in _VIEW_NEEDLES) else ()
        for m in details:
            yield ctx.finding(SURVEILLANCE_DETAIL, field=name, span=m.span(), message=(
                f"{m.group(0)!r} tells the reader exactly what was tracked about them"),
                evidence={"matched": m.group(0)}, fix="Refer to the product, not to how the reader behaved.")
    yield from _punctuation_caps_emoji(ctx)
    yield from _reading_grade(ctx)
    yield from _subject(ctx)
    yield from _cta(ctx)


@lru_cache(maxsize=64)
def _skeletons(banned: tuple[str, ...], discouraged: tuple[str, ...]) -> tuple[tuple[str, Code, str], ...]:
    return tuple((form, code, p) for code, phrases in ((BANNED, banned), (DISCOURAGED, discouraged))
                 for p in phrases for form in skeleton_phrase(p) if len(form) >= 4)


def _disguised(voice: Any, text: str, taken: list[tuple[int, int]]) -> Iterator[tuple[Code, str, tuple[int, int]]]:
    """The brand's banned and discouraged phrases written with other spacing or hyphens, look-alike
    letters or a contraction spelled out ("hiddengem", "bucket-list", "N0 pain", "you are missing out"),
    whole words only, where the phrase matcher found nothing."""
    forms = _skeletons(tuple(voice.banned_phrases), tuple(voice.discouraged_phrases))
    if not forms:
        return
    letters, where = skeleton(text)
    taken = sorted(taken)  # the phrase matcher's hits, which do not overlap: looked up by bisect
    starts = [x for x, _ in taken]
    own: set[tuple[int, int]] = set()
    for form, code, phrase in forms:
        i = letters.find(form)
        while i >= 0:
            a, b = where[i], where[i + len(form) - 1] + 1
            whole = (a == 0 or not text[a - 1].isalnum()) and (b >= len(text) or not text[b].isalnum())
            k = bisect_right(starts, b - 1) - 1
            if whole and (a, b) not in own and not (k >= 0 and taken[k][1] > a):
                own.add((a, b))
                yield code, phrase, (a, b)
            i = letters.find(form, i + 1)


def _brand_says(workspace: Any, words: str) -> bool:
    """The words are part of a phrase the brand itself approved: a CTA in voice.yaml or an offer's
    name or words on the fact sheet."""
    return normalize(words) in _approved_text(workspace)


@lru_cache(maxsize=32)
def _joined(texts: tuple[str, ...]) -> str:
    return "\n".join(normalize(t) for t in texts)


def _approved_text(workspace: Any) -> str:
    texts = [t for options in workspace.voice.cta_rules.values() for t in options]
    for offer in workspace.facts.offers:
        texts += [offer.name, *getattr(offer, "words", [])]
    return _joined(tuple(texts))


def _stacked(ctx: VariantContext, name: str, text: str, hits: list[tuple[int, int, str]]) -> Iterator[Finding]:
    """One blocking finding per sentence holding two or more different trigger phrases."""
    bounds = sentence_bounds(text)
    starts = [a for a, _ in bounds]
    by_sentence: dict[int, list[tuple[int, int, str]]] = {}
    for hit in hits:
        i = bisect_right(starts, hit[0]) - 1
        by_sentence.setdefault(i, []).append(hit)
    for group in by_sentence.values():
        phrases = list(dict.fromkeys(words.lower() for _, _, words in group))
        if len(phrases) < 2:
            continue
        span = (group[0][0], group[-1][1])
        yield ctx.finding(SPAM_STACKED, field=name, span=span, message=(  # type: ignore[arg-type]
            f"{len(phrases)} spam triggers in one sentence: {', '.join(repr(p) for p in phrases)}"),
            evidence={"phrases": phrases}, fix="Keep at most one such phrase per sentence, or none.")


_FIXES = {
    BANNED.code: "Rephrase without the banned phrase (voice.yaml).",
    DISCOURAGED.code: "Prefer a plainer phrase (voice.yaml lists it as discouraged).",
    SPAM.code: "Rephrase: spam filters score this phrase.",
    FAKE_URGENCY.code: "Name the real end date, or drop the pressure.",
    OVER_FAMILIAR.code: "Write as the brand, warm but not intimate.",
    SURVEILLANCE.code: "Say what is useful ('still thinking it over?'), not what was observed.",
}


def _deadline_backed(ctx: VariantContext) -> tuple[bool, str]:
    window = ctx.plan.send_window
    if window is None:
        return False, "the plan has no send window to check it against"
    soon = [o for o in ctx.offers if o.ends is not None and window.start <= o.ends <= window.end + timedelta(days=2)]
    if soon:
        return True, ""
    return False, "none of the plan's offers ends during the send window"


def _punctuation_caps_emoji(ctx: VariantContext) -> Iterator[Finding]:
    voice = ctx.workspace.voice
    seen = 0
    for name in PROSE_FIELDS:
        text = ctx.prose[name]
        i = text.find("!")
        while i >= 0:
            seen += 1
            if seen == voice.max_exclamation_marks + 1:
                total = sum(ctx.prose[n].count("!") for n in PROSE_FIELDS)
                yield ctx.finding(EXCLAMATIONS, field=name, span=(i, i + 1), message=(
                    f"{total} exclamation marks; the brand allows {voice.max_exclamation_marks} per email"),
                    evidence={"count": total, "limit": voice.max_exclamation_marks},
                    fix="Keep at most one; let the offer carry the energy.")
            i = text.find("!", i + 1)
    index = fact_index(ctx.workspace)
    allowed = (_ACRONYMS | set(index.codes) | index.caps_words | {w.upper() for w in index.brand_words}
               | {w.upper() for w in voice.allowed_caps} | set(index.currencies) | set(COMMON_CURRENCIES)
               # a word the voice's own phrase lists write in capitals ("FOMO") is reported as that phrase
               | {w for p in (*voice.banned_phrases, *voice.discouraged_phrases) for w in p.split() if w.isupper()})
    introduces_code = code_context(ctx.variant.locale)
    for name in PROSE_FIELDS:
        text = ctx.prose[name]
        shouted = [m for m in _CAPS.finditer(text) if m.group(0) not in allowed
                   and not introduces_code.search(text[max(0, m.start() - 20):m.start()])
                   and not (len(m.group(0)) <= 4 and any(c.isdigit() for c in text[m.end():m.end() + 1]))]
        if shouted:
            words = [m.group(0) for m in shouted]
            yield ctx.finding(ALL_CAPS, field=name, span=shouted[0].span(), message=(
                f"shouted in capitals: {', '.join(words)}"), evidence={"words": words},
                fix="Write these words in normal case.")
    policy = voice.emoji
    counts = {name: list(_EMOJI.finditer(ctx.prose[name])) for name in PROSE_FIELDS}
    total = sum(len(v) for v in counts.values())
    first = next(((n, v[0]) for n, v in counts.items() if v), None)
    if first is not None:
        name, m = first
        problem = None
        if not policy.allowed:
            problem = "the brand uses no emoji"
        elif total > policy.max_per_message:
            problem = f"{total} emoji; the brand allows {policy.max_per_message} per email"
        elif counts["subject"] and not policy.subject_allowed:
            name, m = "subject", counts["subject"][0]  # type: ignore[assignment]
            problem = "the brand keeps emoji out of subject lines"
        if problem:
            yield ctx.finding(EMOJI, field=name, span=m.span(), message=problem,  # type: ignore[arg-type]
                              evidence={"count": total, "emoji": [e.group(0) for v in counts.values() for e in v]},
                              fix="Follow voice.yaml's emoji policy.")


def _reading_grade(ctx: VariantContext) -> Iterator[Finding]:
    if not ctx.variant.locale.lower().startswith("en"):
        return  # Flesch-Kincaid is an English formula
    text = ctx.prose["body"]
    if len(text.split()) < 40:
        return  # too short for a stable grade
    grade = float(_READER.flesch_kincaid_grade(re.sub(r"[*_#>`\[\]()]", " ", text)))
    target = ctx.workspace.voice.reading_grade_target
    if grade > target + GRADE_TOLERANCE:
        yield ctx.finding(READING_GRADE, field="body", message=(
            f"the body reads at grade {grade:.1f}; the brand aims for {target:g} (tolerance {GRADE_TOLERANCE:g})"),
            evidence={"grade": round(grade, 1), "target": target},
            fix="Use shorter sentences and plainer words.")


def _subject(ctx: VariantContext) -> Iterator[Finding]:
    # Measured as a typical contact sees it ("Alex", not "{{ first_name }}").
    variant = ctx.variant
    try:
        subject = render_field(variant, "subject", merge_context(
            variant, typical_contact(variant_names(variant), ctx.workspace)))
    except RenderError:
        subject = variant.subject  # the fallbacks guard reports why it does not render
    limit = ctx.workspace.voice.subject_max_length
    if len(subject) > limit:
        yield ctx.finding(SUBJECT_LENGTH, field="subject", message=(
            f"the subject is {len(subject)} characters for a typical contact; the brand's limit is {limit}"),
            evidence={"length": len(subject), "limit": limit}, fix="Cut the subject to its offer and one idea.")
    locale = ctx.variant.locale
    key = _KEY_WORD.search(subject)
    offers = [x.start for x in (*find_percents(subject, locale), *find_money(subject, locale))]
    mentions = fact_index(ctx.workspace).mentions(tokenize(subject))
    starts = [s for s in ((key.start() if key else None), (mentions[0].start if mentions else None), *offers)
              if s is not None]
    if starts and min(starts) >= PHONE_SUBJECT_CHARS:
        at = min(starts)
        yield ctx.finding(SUBJECT_CUTOFF, field="subject", message=(
            f"the subject's offer or product starts at character {at}; phones show about {PHONE_SUBJECT_CHARS}: "
            f"{subject[:PHONE_SUBJECT_CHARS]!r}"), evidence={"position": at, "visible": subject[:PHONE_SUBJECT_CHARS]},
            fix="Put the offer or product first.")


def _cta(ctx: VariantContext) -> Iterator[Finding]:
    rules = ctx.workspace.voice.cta_rules
    stage = stage_for_goal(ctx.plan.goal, rules)
    cta = normalize(ctx.prose["cta_text"])
    if stage is None or not cta:
        return

    def fits(options: list[str]) -> bool:
        # a listed CTA fits in the variant's language too, as the playbook catalogs translate it
        local = [t for t in (translate(o, ctx.variant.locale) for o in options) if t]
        return any(fuzz.ratio(cta, normalize(o)) >= 85 for o in (*options, *local))

    forbidden = ctx.workspace.voice.cta_forbidden.get(stage, [])
    if forbidden and fits(forbidden):
        yield ctx.finding(CTA_FORBIDDEN, field="cta_text", span=(0, len(ctx.variant.cta_text)), message=(
            f"{ctx.variant.cta_text!r} is a CTA the brand forbids at the {stage} stage (voice.yaml cta_rules)"),
            evidence={"stage": stage, "forbidden": list(forbidden), "allowed": list(rules[stage])},
            fix=f"Use one of: {', '.join(rules[stage])}.")
        return
    if fits(rules[stage]):
        return
    elsewhere = [s for s, options in rules.items() if s != stage and fits(options)]
    where = f"; it is a {elsewhere[0]} CTA" if elsewhere else ""
    yield ctx.finding(CTA_STAGE, field="cta_text", span=(0, len(ctx.variant.cta_text)), message=(
        f"{ctx.variant.cta_text!r} does not fit the {stage} stage{where}; the brand uses: {', '.join(rules[stage])}"),
        evidence={"stage": stage, "allowed": list(rules[stage]), "other_stage": elsewhere[0] if elsewhere else None},
        fix=f"Use one of: {', '.join(rules[stage])}.")


GUARD = Guard(
    name="tone",
    description="Brand voice: phrases, urgency, surveillance, punctuation, capitals, emoji, reading grade, "
                "subject length and CTA per journey stage.",
    codes=(BANNED, DISCOURAGED, SPAM, SPAM_STACKED, FAKE_URGENCY, OVER_FAMILIAR, SURVEILLANCE, SURVEILLANCE_DETAIL,
           EXCLAMATIONS, ALL_CAPS, EMOJI, READING_GRADE, SUBJECT_LENGTH, SUBJECT_CUTOFF, CTA_STAGE, CTA_FORBIDDEN),
    check_variant=check_variant,
)
