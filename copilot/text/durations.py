"""Spans of time as briefs and copy write them ("6 months", "a couple of days", "30-day",
"seis meses", "14 Tagen", "deux semaines"), with the role the words around them give a brief:
a lapse since the last order, a delay after an event, a look-back window, a recurrence, a lead time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from copilot.text.fold import fold, lowered, word_start
from copilot.text.numbers import parse_number, spelled_number, spells_number
from copilot.text.words import QUANTITY_WORDS, UNIT_DAYS, alternation, canonical, languages, pattern

__all__ = ["Duration", "find_durations", "count_word", "quantity"]


@dataclass(frozen=True)
class Duration:
    """``days`` long; ``role`` lapse (since the last order), inactive (since they last came, used or
    visited), delay (after an event), window (in the
    last N), every (recurrence), before (lead time) or ''."""

    text: str
    days: float
    role: str
    start: int = 0
    unit: str = ""  # hour, day, week, month or year

    @property
    def hours(self) -> float:
        return self.days * 24


def quantity(langs: tuple[str, ...], articles: bool = True, spelled: bool = True) -> str:
    """A regex of a count: a figure, a spelled-out number or (with ``articles``) a word such as "a",
    "couple", "eine"."""
    words = rf"|{pattern('quantity', langs)}" if articles else ""
    # Possessive: a long run of digits is read once, not once per digit it could give back.
    return r"(?<![\d.,])\d++(?:[.,]\d++)?" + (f"|{spelled_number(langs)}" if spelled else "") + words


def count_word(token: str, locale: str | Iterable[str] = "en") -> float | None:
    """'3' -> 3, 'a' -> 1, 'couple' -> 2, 'seis' -> 6, 'zwei' -> 2, '1,5' -> 1.5; None otherwise."""
    langs = languages(locale)
    key = fold(token.strip())
    for lang in langs:
        table = {fold(w): v for w, v in QUANTITY_WORDS.get(lang, {}).items()}
        if key in table:
            return float(table[key])
    value = parse_number(token.replace(",", ".") if token[:1].isdigit() else token, langs)
    return float(value) if value is not None else None


_UNIT_NAMES = {1 / 24: "hour", 1: "day", 7: "week", 30: "month", 365: "year"}


@lru_cache(maxsize=32)
def _duration_regex(langs: tuple[str, ...], articles: bool, spelled: bool) -> tuple[re.Pattern[str], dict[str, float]]:
    units = {w: d for lang in langs for w, d in UNIT_DAYS.get(lang, {}).items()}
    folded = {fold(w): d for w, d in units.items()}
    regex = re.compile(rf"({quantity(langs, articles, spelled)})(?:\s*\+)?[\s-]*({alternation(units)})\b")
    return regex, folded


_LAPSE_BEFORE = re.compile(
    r"(haven'?t|havent|have not|hasn'?t|not|no|never|without|inactive|lapsed|since|sin|no han|nicht|seit|"
    r"pas|jamais|sans|depuis)\b[^.;!?]{0,40}$", re.I)
_LAPSE_AFTER = re.compile(r"^[^.;!?]{0,25}\b(nicht (mehr )?(gekauft|bestellt)|sin comprar|ago|inactive|lapsed|"
                          r"sans (achat|commande))", re.I)
_BUY_WORDS = re.compile(r"(bought|buy|purchas|order|shop|compra|pedid|gekauft|bestell|kauf|achet|achat|command"
                        # not engaging is a lapse too: "haven't opened anything in 90 days"
                        r"|open|click|engag|read\b|abierto|abren|clic|geöffnet|öffne|geklickt|ouvert)", re.I)
_BUYING = re.compile(r"(bought|buy|purchas|order|shop|compra|pedid|gekauft|bestell|kauf|achet|achat|command)", re.I)
# Not coming, visiting, logging in or using the product is a lapse of activity, not of buying.
_ACTIVE_WORDS = re.compile(r"(been (to|in|back)|visit|came|come (in|by|back)|log(ged)? ?in|sign(ed)? ?in|used?\b|using"
                           r"|attend|book(ed)?\b|played|listened|watched|trained|worked out|opened the app|active"
                           r"|asistid|venido|usado|besucht|genutzt|trainiert|angemeldet|venu|utilisé|connect)", re.I)
_WINDOW_BEFORE = re.compile(r"(in the (last|past)|within|last|past|en los últimos|en las últimas|"
                            r"in den letzten|innerhalb|au cours des|dans les)\s*$", re.I)
_DELAY_AFTER = re.compile(r"^\s*(after|later|post|from|después|despues|más tarde|nach|später|danach|après|plus tard)\b",
                          re.I)
_DELAY_BEFORE = re.compile(r"(after|wait|delay|espera|esperar|nach|warte|après|attendre)\s*"
                           r"(about|around|roughly|unos|etwa|environ)?\s*$", re.I)
_EVERY_BEFORE = re.compile(r"(every|each|cada|alle|jede[nrs]?|tous les|toutes les)\s*$", re.I)
_BEFORE_AFTER = re.compile(r"^\s*(before|ahead|prior|antes|vor(her)?|avant)\b", re.I)
_DORMANT = re.compile(r"\b(lapsed|inactive|dormant)\b", re.I)
_RELATIVE = {
    "last week": 7, "past week": 7, "this week": 7, "la semana pasada": 7, "letzte woche": 7,
    "la semaine dernière": 7, "last month": 30, "past month": 30, "el mes pasado": 30, "letzten monat": 30,
    "le mois dernier": 30, "last year": 365, "past year": 365, "el año pasado": 365, "letztes jahr": 365,
    "l'année dernière": 365, "yesterday": 1, "ayer": 1, "gestern": 1,
}
_RELATIVE_DAYS = {fold(k): v for k, v in _RELATIVE.items()}
_RELATIVE_RE = re.compile(rf"(?<![^\W_]){alternation(_RELATIVE)}(?![^\W_])", re.I)


def _role(text: str, start: int, end: int) -> str:
    before, after = text[max(0, start - 60):start], text[end:end + 40]
    if _EVERY_BEFORE.search(before):
        return "every"
    if _DELAY_AFTER.match(after) or _DELAY_BEFORE.search(before):
        return "delay"
    lapsed = bool(_LAPSE_BEFORE.search(before) or _LAPSE_AFTER.match(after))
    if lapsed and _BUYING.search(before + after):
        return "lapse"
    # "haven't opened the app in 30 days" is activity; "haven't opened anything in 90 days" is email
    if _LAPSE_BEFORE.search(before) and _ACTIVE_WORDS.search(before[-45:] + after[:20]):
        return "inactive"
    if (lapsed and _BUY_WORDS.search(before + after)) or _DORMANT.search(before[-25:]):
        return "lapse"
    if _WINDOW_BEFORE.search(before):
        return "window"
    if _BEFORE_AFTER.match(after):
        return "before"
    return ""


def find_durations(text: str, locale: str | Iterable[str] = ("en", "es", "de", "fr"), *,
                   roles: bool = True, articles: bool = True) -> list[Duration]:
    """Durations in text order; with ``roles``, what each is for in a brief, and relative
    phrases ("last week", "el mes pasado") as look-back windows; without ``articles`` only
    durations with a number ("30 days", "thirty days", not "a day")."""
    langs = languages(locale)
    low = lowered(text)
    key = canonical(langs)
    regex, units = _duration_regex(key, articles, articles or spells_number(low, key))
    out: list[Duration] = []
    for m in regex.finditer(low):
        if not word_start(low, m.start()):
            continue
        number, unit = m.group(1), fold(m.group(2))
        if unit in {"h", "mo", "mos"} and not number[0].isdigit():
            continue  # "a h" is not a duration
        count = count_word(number, langs)
        if count is None:
            continue
        days = count * units[unit]
        role = _role(text, m.start(), m.end()) if roles else ""
        out.append(Duration(text[m.start():m.end()], days, role, m.start(), _UNIT_NAMES.get(units[unit], "")))
    if roles:
        for m in _RELATIVE_RE.finditer(text):
            if not any(d.start <= m.start() < d.start + len(d.text) for d in out):
                days = _RELATIVE_DAYS[fold(re.sub(r"\s+", " ", m.group(0).replace("’", "'")))]
                out.append(Duration(m.group(0), days, "window", m.start()))
    out.sort(key=lambda d: d.start)
    return out
