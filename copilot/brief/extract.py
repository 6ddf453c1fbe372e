"""Exact extraction from a brief: numbers, percentages, money, durations, dates, times, counts.

The recognisers are copilot.text's (the guards read copy with the same ones); this module
turns what they find into a brief's mentions: a marketer's "15%" or "March 19" comes out
exactly as typed. English, Spanish, German and French forms are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from copilot.text import (
    LANGUAGES,
    Duration,
    amount_role,
    count_word,
    date_role,
    find_dates,
    find_durations,
    find_money,
    find_numbers,
    find_percents,
    find_weekdays,
    languages,
    percent_role,
    quantity,
    time_of_day,
    weekday,
    weekday_pattern,
)

__all__ = [
    "NumberMention",
    "Duration",
    "DateMention",
    "date_role",
    "extract_numbers",
    "extract_durations",
    "extract_dates",
    "extract_time_of_day",
    "extract_max_emails",
    "extract_recurrence",
    "extract_recurring_weekday",
]

Locales = str | tuple[str, ...]


@dataclass(frozen=True)
class NumberMention:
    """A number as the marketer typed it: ``kind`` percent, money or number; ``role`` from its context."""

    text: str
    value: Decimal
    kind: str  # percent | money | number
    role: str = ""  # discount | threshold | ceiling | ""
    start: int = 0


def extract_numbers(text: str, locale: Locales = LANGUAGES) -> list[NumberMention]:
    """Percentages, amounts and plain figures; figures are read in the first language's format."""
    langs = languages(locale)
    out: list[NumberMention] = []
    taken: list[tuple[int, int]] = []
    for p in find_percents(text, langs):
        role = "discount" if percent_role(text, p, langs) == "discount" else ""
        out.append(NumberMention(p.text, p.value, "percent", role, p.start))
        taken.append((p.start, p.end))
    for m in find_money(text, langs):
        if any(s <= m.start < e for s, e in taken):
            continue
        role = amount_role(text, m, langs)
        out.append(NumberMention(m.text, m.amount, "money", "" if role == "previous" else role, m.start))
        taken.append((m.start, m.end))
    for n in find_numbers(text, langs):
        if n.text[:1].isdigit() and not any(s <= n.start < e for s, e in taken):
            out.append(NumberMention(n.text, n.value, "number", "", n.start))
    out.sort(key=lambda n: n.start)
    return out


def extract_durations(text: str, locale: Locales = LANGUAGES) -> list[Duration]:
    return find_durations(text, locale)


@dataclass(frozen=True)
class DateMention:
    """A calendar date: ``role`` deadline (before/by), on (send that day), after, or ''."""

    text: str
    on: date
    role: str
    start: int = 0


def extract_dates(text: str, today: date, locale: Locales = LANGUAGES) -> list[DateMention]:
    """Explicit dates and weekdays; a date without a year is its next occurrence on or after
    ``today``, a weekday the next such day after it ("Friday" never means today)."""
    langs = languages(locale)
    out: list[DateMention] = []
    for d in find_dates(text, langs):
        when = d.on(today)
        if when is not None:
            out.append(DateMention(d.text, when, date_role(text[max(0, d.start - 30):d.start], langs), d.start))
    spans = [(d.start, d.start + len(d.text)) for d in out]
    for w in find_weekdays(text, langs):
        if not any(s <= w.start < e for s, e in spans):
            role = date_role(text[max(0, w.start - 30):w.start], langs) or "on"
            out.append(DateMention(w.text, w.next_after(today), role, w.start))
    out.sort(key=lambda d: d.start)
    return out


def extract_time_of_day(text: str) -> str | None:
    """'9am', '6 pm', '18:30 Uhr', 'a las 9h' -> 'HH:MM' (the first one)."""
    return time_of_day(text)


_EMAIL_WORDS = (r"(?:(?:short|helpful|friendly|quick|simple|gentle|soft|polite|light|warm|more|follow-?up|reminder|"
                r"kurze|breve|courts?)\s+)?"
                r"(?:emails?|e mails?|messages?|mails?|sends?|touches|touchpoints|reminders?|nudges?|correos?|"
                r"mensajes?|recordatorios?|nachrichten|erinnerungen|e-mails?|courriels?|rappels?)\b")
_LIMIT_WORDS = r"(?:only|just|max(?:imum)?|at most|no more than|up to|solo|sólo|nur|maximal|höchstens|seulement)"
_ARTICLES = {"a", "an", "un", "una", "ein", "eine", "une"}


def _emails_regex(langs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{_LIMIT_WORDS}\s+)?({quantity(langs)})[\s-]*{_EMAIL_WORDS}", re.I)


def extract_max_emails(text: str, locale: Locales = LANGUAGES) -> int | None:
    """'just one email', 'a 2-email series', 'max 3 emails' -> how many emails the journey may send."""
    langs = languages(locale)
    for m in _emails_regex(langs).finditer(text):
        n = count_word(m.group(1), langs)
        if n is None:
            continue
        if m.group(1).lower() in _ARTICLES and "single" not in m.group(0).lower():
            continue  # "an email" is not a count
        if 1 <= n <= 10:
            return int(n)
    return None


_RECURRING = [
    (re.compile(r"\b(monthly|every month|each month|once a month|mensual(mente)?|mensuales?|cada mes|monatlich\w*|"
                r"jeden monat|mensuel(le)?|chaque mois|tous les mois)\b", re.I), "monthly"),
    (re.compile(r"\b(weekly|every week|each week|once a week|semanal(mente)?|semanales|cada semana|wöchentlich\w*|"
                r"jede woche|hebdomadaire|chaque semaine|toutes les semaines)\b", re.I), "weekly"),
    (re.compile(r"\b(every other week|biweekly|fortnightly|every two weeks|every 2 weeks|cada dos semanas|"
                r"alle zwei wochen|alle 2 wochen|toutes les deux semaines)\b", re.I), "biweekly"),
]


def extract_recurrence(text: str) -> str | None:
    for pattern, name in reversed(_RECURRING):  # "every two weeks" before "every week"
        if pattern.search(text):
            return name
    return None


def _cadence_regexes(langs: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    day = f"({weekday_pattern(langs)})"
    every_other = re.compile(r"\b(?:every other|every second|each other|alternate|cada dos|jeden zweiten|"
                             r"un sur deux)\s+" + day + r"s?\b", re.I)
    every = re.compile(r"\b(?:every|each|cada|todos los|jeden|chaque|tous les)\s+" + day + r"s?\b|\b" + day + r"s\b",
                       re.I)
    return every_other, every


def extract_recurring_weekday(text: str, locale: Locales = LANGUAGES) -> tuple[int, bool] | None:
    """'every Friday', 'on Fridays', 'freitags' -> (4, False); 'every other Friday' -> (4, True).

    Weekday numbers are Python's (Monday 0). A single "Friday" is a date, not a cadence.
    """
    langs = languages(locale)
    every_other, every = _cadence_regexes(langs)
    m = every_other.search(text)
    if m:
        found = weekday(m.group(1), langs)
        if found is not None:
            return found, True
    for m in every.finditer(text):
        name = m.group(1) or m.group(2) or ""
        if name.lower().endswith("s") and not m.group(1) and weekday(name, langs) is not None:
            continue  # "viernes", "miércoles": the plain Spanish name ends in s; it is one day, not "Fridays"
        found = weekday(name, langs)
        if found is not None:
            return found, False
    return None
