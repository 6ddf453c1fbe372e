"""Dates, weekdays, relative days and times of day, with the role the words before a date give it
(a deadline: "by March 19", "hasta el 3 de diciembre", "bis 3. Dezember", "jusqu'au 3 décembre";
a send day: "on", "el", "am", "le"; or "after").

Month and weekday names are Babel's (CLDR), wide and abbreviated, in every regional variant of
each language ("Sept" of en_GB, "setiembre" of es_PE, "Jänner" of de_AT), read with or without
accents and with German umlauts spelled out ("Maerz").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from babel import localedata
from babel.dates import get_day_names, get_month_names

from copilot.text.fold import fold, lowered, word_end, word_start
from copilot.text.words import RELATIVE_DAYS, alternation, canonical, languages, pattern, spellings

__all__ = ["DateMatch", "WeekdayMatch", "RelativeDay", "find_dates", "find_weekdays", "find_relative_deadlines",
           "date_role", "deadline_words", "month_names", "weekday", "weekday_names", "weekday_pattern", "time_of_day"]

_NOT_WORD = r"(?![^\W_])"


def _regional(lang: str) -> list[str]:
    """The regional variants of a language without a script subtag ("en_GB", ... not "en_Dsrt")."""
    return [ident for ident in localedata.locale_identifiers()
            if ident.startswith(lang + "_") and not any(len(p) == 4 and p.istitle() for p in ident.split("_")[1:])]


@lru_cache(maxsize=16)
def month_names(lang: str) -> dict[str, int]:
    """Every spelling of a month in ``lang`` (lower-case, final dot dropped) -> month number: the
    language's own names, wide and abbreviated, then those its regional variants change."""
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in get_month_names(width, context=context, locale=lang).items():
                names.setdefault(name.lower().rstrip("."), number)
    for ident in _regional(lang):
        # Only what the variant itself changes (unmerged data is a small file each, read fast).
        # (Babel caches a locale's data under its name whether merged or not: once a regional locale was
        # used merged (a price formatted for es_US), its months hold aliases, tuples here, that are skipped.)
        own = localedata.load(ident, merge_inherited=False).get("months", {})
        for context in own.values():
            for width in ("wide", "abbreviated"):
                table = context.get(width) if hasattr(context, "get") else None
                for number, name in (table.items() if hasattr(table, "items") else ()):
                    if isinstance(number, int) and isinstance(name, str):
                        names.setdefault(name.lower().rstrip("."), number)
    return names


@lru_cache(maxsize=16)
def weekday_names(lang: str) -> dict[str, int]:
    """Every full weekday name in ``lang`` (lower-case) -> Python weekday (Monday 0)."""
    names: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for number, name in get_day_names("wide", context=context, locale=lang).items():
            names.setdefault(name.lower(), number)
    return names


def _lookup(table: dict[str, int], word: str) -> int | None:
    return table.get(word.lower().rstrip("."))


@lru_cache(maxsize=64)
def _names(kind: str, langs: tuple[str, ...]) -> tuple[dict[str, int], str]:
    """Every spelling of the month (or weekday) names of ``langs`` -> number, and their alternation."""
    source = month_names if kind == "month" else weekday_names
    table: dict[str, int] = {}
    for lang in langs:
        for name, number in source(lang).items():
            for form in spellings(name):
                table.setdefault(form, number)
    return table, alternation(table)


def _months(langs: tuple[str, ...]) -> tuple[dict[str, int], str]:
    return _names("month", canonical(langs))


def _weekdays(langs: tuple[str, ...]) -> tuple[dict[str, int], str]:
    return _names("weekday", canonical(langs))


def weekday_pattern(locale: str | Iterable[str]) -> str:
    """A regex alternation of the full weekday names of the languages (read them with ``weekday``)."""
    return _weekdays(languages(locale))[1]


@dataclass(frozen=True)
class DateMatch:
    """A calendar date as written; ``year`` is None when the text gives none."""

    text: str
    year: int | None
    month: int
    day: int
    start: int
    end: int

    def on(self, today: date) -> date | None:
        """The date; without a year, its next occurrence on or after ``today``. None if impossible."""
        try:
            when = date(self.year or today.year, self.month, self.day)
            if self.year is None and when < today:
                when = date(today.year + 1, self.month, self.day)
        except ValueError:
            return None
        return when


# How each language marks a day number and joins it to the month: "19th of March", "3 de diciembre",
# "3. Dezember", "1er décembre". The German "3." is no ordinal in English copy ("the Cloudstride 3. March on").
_ORDINALS = {"en": ("st", "nd", "rd", "th"), "es": ("º", ".º", "ª"), "de": (".",), "fr": ("er",)}
_DAY_MONTH_JOINERS = {"en": ("of",), "es": ("de",), "de": (), "fr": ()}


@dataclass(frozen=True)
class _DateWords:
    months: re.Pattern[str]  # any month name of the languages, searched first (a fast literal scan)
    table: dict[str, int]
    english: frozenset[str]  # names that may come before the day ("March 19")
    day_before: re.Pattern[str]  # "19 ", "3. ", "3 de ", "19th of ", right before a name
    day_after: re.Pattern[str]  # " 19", ". 19th, 2027", right after an English name
    year_after: re.Pattern[str]  # ", 2027", " de 2026", right after a day-first date


@lru_cache(maxsize=32)
def _date_words(langs: tuple[str, ...]) -> _DateWords:
    table, names = _months(langs)
    english = frozenset(_months(("en",))[0]) if "en" in langs else frozenset()
    ordinal = alternation(o for lang in langs for o in _ORDINALS.get(lang, ()))
    joiner = alternation(j for lang in langs for j in _DAY_MONTH_JOINERS.get(lang, ()))
    return _DateWords(re.compile(names), table, frozenset(k for k in table if k in english or fold(k) in english),
                      re.compile(rf"(?<![\w.,])(\d{{1,2}}){ordinal}?\s+(?:{joiner}\s+)?$"),
                      re.compile(r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(\d{4})\b)?"),
                      re.compile(rf"\.?(?:,?\s+(?:{joiner}\s+)?(\d{{4}})\b)?"))


_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def find_dates(text: str, locale: str | Iterable[str] = "en") -> list[DateMatch]:
    """Explicit dates: ISO (2027-03-19), month first (March 19, 2027; Dec. 3) or day first
    (19 March; 3. Dezember; 3 de diciembre de 2026; 1er décembre), in text order, not overlapping.
    Only English puts the month first: "ago 15" in an English brief is not the 15th of agosto."""
    langs = languages(locale)
    low = lowered(text)
    w = _date_words(canonical(langs))
    found: list[tuple[int, int, int | None, int, int]] = []  # start, end, year, month, day
    if "-" in low:
        found += [(m.start(), m.end(), int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in _ISO.finditer(low)]
    for m in w.months.finditer(low):
        s, e = m.span()
        if not (word_start(low, s) and word_end(low, e)):
            continue
        month = _lookup(w.table, m.group(0))
        if month is None:
            continue
        # English names come first ("March 19"), capitalised unless the whole text is typed in lower case
        # ("send it march 19"): "you may 5x your miles" holds no date.
        english = (m.group(0) in w.english or fold(m.group(0)) in w.english) and (text[s].isupper() or text.islower())
        after = w.day_after.match(low, e) if english else None
        if after is not None:
            found.append((s, after.end(), int(after.group(2)) if after.group(2) else None, month, int(after.group(1))))
            continue
        before = w.day_before.search(low, max(0, s - 12), s)
        if before is not None:
            year = w.year_after.match(low, e)
            found.append((before.start(), year.end() if year.group(1) else e,
                          int(year.group(1)) if year.group(1) else None, month, int(before.group(1))))
    out: list[DateMatch] = []
    covered = -1  # sorted by start, a match overlaps an earlier one exactly when it starts before their ends
    for s, e, year, month, day in sorted(found):
        if 1 <= month <= 12 and 1 <= day <= 31 and s >= covered:
            out.append(DateMatch(text[s:e], year, month, day, s, e))
            covered = max(covered, e)
    return out


@dataclass(frozen=True)
class WeekdayMatch:
    text: str
    weekday: int  # Monday 0
    start: int
    end: int

    def next_after(self, today: date) -> date:
        """The next such day after ``today`` ("Friday" said on a Friday means a week later)."""
        return today + timedelta(days=(self.weekday - today.weekday()) % 7 or 7)


@lru_cache(maxsize=32)
def _weekday_regex(langs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_weekdays(langs)[1])


def weekday(name: str, locale: str | Iterable[str] = "en") -> int | None:
    """The Python weekday (Monday 0) of a weekday name in one of the languages."""
    return _lookup(_weekdays(languages(locale))[0], name)


def find_weekdays(text: str, locale: str | Iterable[str] = "en") -> list[WeekdayMatch]:
    langs = languages(locale)
    table = _weekdays(langs)[0]
    low = lowered(text)
    out = []
    for m in _weekday_regex(canonical(langs)).finditer(low):
        day = _lookup(table, m.group(0)) if word_start(low, m.start()) and word_end(low, m.end()) else None
        if day is not None:
            out.append(WeekdayMatch(text[m.start():m.end()], day, m.start(), m.end()))
    return out


@lru_cache(maxsize=64)
def _role_regex(langs: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    article = r"(?:\s+(?:the|el|la|le|l'|dem|der|den|zum))?"
    return tuple((role, re.compile(rf"(?<![^\W_]){pattern(words, langs)}{article}\s*$", re.I))
                 for role, words in (("deadline", "deadline"), ("after", "after_date"), ("on", "on_date")))


def date_role(before: str, locale: str | Iterable[str] = "en") -> str:
    """The role the words right before a date or named moment give it: "deadline" (by, before,
    until, hasta el, bis zum, jusqu'au ...), "after", "on" (on, el, am, le ...) or ""."""
    for role, regex in _role_regex(canonical(languages(locale))):
        if regex.search(before[-40:]):
            return role
    return ""


def deadline_words(locale: str | Iterable[str] = "en") -> re.Pattern[str]:
    """A regex of the words that make a date a deadline, to search anywhere before it."""
    return _deadline_words(canonical(languages(locale)))


@lru_cache(maxsize=64)
def _deadline_words(langs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<![^\W_]){pattern('deadline', langs)}{_NOT_WORD}", re.I)


@dataclass(frozen=True)
class RelativeDay:
    """'ends Friday', 'until tonight', 'today only', 'solo hoy', 'endet am Sonntag': ``when`` is a
    weekday number or one of today, tonight, tomorrow, midnight."""

    text: str
    when: int | str
    start: int
    end: int


@lru_cache(maxsize=32)
def _relative_regex(langs: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    days = {w: v for lang in langs for w, v in RELATIVE_DAYS.get(lang, {}).items()}
    day = alternation(days)
    weekdays = _weekdays(langs)[1]
    regex = (rf"{pattern('deadline', langs)}\s+(?:{pattern('relative_determiner', langs)}\s+)?"
             rf"(?P<when>{weekdays}|{day}){_NOT_WORD}"
             rf"|(?P<only>{day})\s+{pattern('only', langs)}{_NOT_WORD}"
             rf"|{pattern('only', langs)}\s+(?P<only2>{day}){_NOT_WORD}")
    return re.compile(regex), {fold(k): v for k, v in days.items()}


def find_relative_deadlines(text: str, locale: str | Iterable[str] = "en") -> list[RelativeDay]:
    langs = languages(locale)
    regex, days = _relative_regex(canonical(langs))
    low = lowered(text)
    out = []
    for m in regex.finditer(low):
        if not word_start(low, m.start()):
            continue
        word = m.group("when") or m.group("only") or m.group("only2")
        key = fold(re.sub(r"\s+", " ", word.replace("’", "'")))
        when: int | str | None = days.get(key)
        if when is None:
            when = weekday(word, langs)
        if when is not None:
            out.append(RelativeDay(text[m.start():m.end()], when, m.start(), m.end()))
    return out


_TIME = re.compile(r"\b(?:at\s+|a\s+las\s+|um\s+|à\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|uhr|h)\b", re.I)


def time_of_day(text: str) -> str | None:
    """'9am', '6 pm', '18:30 Uhr', 'a las 9h', 'à 9h' -> 'HH:MM' (the first one); '2h' alone is a
    duration, not a time."""
    for m in _TIME.finditer(text):
        hour, minute, suffix = int(m.group(1)), int(m.group(2) or 0), m.group(3).lower()
        if suffix.startswith("p") and hour < 12:
            hour += 12
        if suffix.startswith("a") and hour == 12:
            hour = 0
        if suffix == "h" and not m.group(0).lower().startswith(("at", "a las", "um", "à")) and not m.group(2):
            continue
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    return None
