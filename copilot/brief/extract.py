"""Exact extraction from a brief: numbers, percentages, money, durations, dates, times, counts.

Regular expressions, not fuzzy matching: a marketer's "15%" or "March 19" must come out
exactly as typed. English, Spanish and German forms are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

__all__ = [
    "NumberMention",
    "Duration",
    "DateMention",
    "extract_numbers",
    "extract_durations",
    "extract_dates",
    "extract_time_of_day",
    "extract_max_emails",
    "extract_recurrence",
    "extract_recurring_weekday",
    "word_number",
]

_NUMBER_WORDS = {
    # en
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "couple": 2, "three": 3, "few": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "eighteen": 18, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90,
    # es
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30,
    # de
    "ein": 1, "eine": 1, "einem": 1, "einen": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "fünfzehn": 15,
    "zwanzig": 20, "dreißig": 30,
}
_NUM = r"(\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"

_UNIT_DAYS = {
    "hour": 1 / 24, "hours": 1 / 24, "hr": 1 / 24, "hrs": 1 / 24, "h": 1 / 24,
    "hora": 1 / 24, "horas": 1 / 24, "stunde": 1 / 24, "stunden": 1 / 24,
    "day": 1, "days": 1, "día": 1, "días": 1, "dia": 1, "dias": 1, "tag": 1, "tage": 1, "tagen": 1,
    "week": 7, "weeks": 7, "wk": 7, "wks": 7, "semana": 7, "semanas": 7, "woche": 7, "wochen": 7,
    "month": 30, "months": 30, "mo": 30, "mos": 30, "mes": 30, "meses": 30,
    "monat": 30, "monate": 30, "monaten": 30,
    "year": 365, "years": 365, "yr": 365, "yrs": 365, "año": 365, "años": 365, "jahr": 365, "jahre": 365,
    "jahren": 365,
}
_UNIT = r"(" + "|".join(sorted(_UNIT_DAYS, key=len, reverse=True)) + r")\b"


def word_number(token: str) -> float:
    token = token.lower()
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    return float(token.replace(",", "."))


@dataclass(frozen=True)
class NumberMention:
    """A number as the marketer typed it: ``kind`` percent, money or number; ``role`` from its context."""

    text: str
    value: Decimal
    kind: str  # percent | money | number
    role: str = ""  # discount | threshold | ceiling | ""
    start: int = 0


_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|percent\b|per cent\b|por ciento\b|prozent\b)", re.I)
_MONEY = re.compile(
    r"(?:(?P<sym>[$€£])\s?(?P<a>\d+(?:[.,]\d{1,2})?))"
    r"|(?:(?P<b>\d+(?:[.,]\d{1,2})?)\s?(?P<unit>[$€£]|dollars?\b|bucks\b|euros?\b|usd\b|eur\b))",
    re.I,
)
_PLAIN = re.compile(r"(?<![\w$€£.,])(\d+(?:[.,]\d+)?)(?![\w%$€£]|[.,]\d)")
_DISCOUNT_AFTER = re.compile(r"^\s*(off|discount|de descuento|descuento|rabatt|nachlass)\b", re.I)
_THRESHOLD_BEFORE = re.compile(r"(over|above|more than|at least|min(imum)?|más de|mas de|über|ueber|ab)\s*$", re.I)
_CEILING_BEFORE = re.compile(r"(under|below|less than|menos de|unter)\s*$", re.I)


def _decimal(raw: str) -> Decimal:
    return Decimal(raw.replace(",", "."))


def extract_numbers(text: str) -> list[NumberMention]:
    out: list[NumberMention] = []
    taken: list[tuple[int, int]] = []
    for m in _PERCENT.finditer(text):
        role = "discount" if _DISCOUNT_AFTER.match(text[m.end():]) or "off" in text[m.end():m.end() + 6].lower() \
            else ""
        out.append(NumberMention(m.group(0), _decimal(m.group(1)), "percent", role, m.start()))
        taken.append(m.span())
    for m in _MONEY.finditer(text):
        raw = m.group("a") or m.group("b")
        before = text[max(0, m.start() - 20):m.start()]
        role = ("discount" if _DISCOUNT_AFTER.match(text[m.end():]) else
                "threshold" if _THRESHOLD_BEFORE.search(before) else
                "ceiling" if _CEILING_BEFORE.search(before) else "")
        out.append(NumberMention(m.group(0), _decimal(raw), "money", role, m.start()))
        taken.append(m.span())
    for m in _PLAIN.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        out.append(NumberMention(m.group(1), _decimal(m.group(1)), "number", "", m.start()))
    out.sort(key=lambda n: n.start)
    return out


@dataclass(frozen=True)
class Duration:
    """A span of time: ``role`` lapse (since the last order), delay (after an event), window (in the
    last N), every (recurrence), before (lead time) or ''."""

    text: str
    days: float
    role: str
    start: int = 0

    @property
    def hours(self) -> float:
        return self.days * 24


_DURATION = re.compile(r"(?<![\w])" + _NUM + r"(?:\s*\+)?[\s-]*" + _UNIT, re.I)
_LAPSE_BEFORE = re.compile(
    r"(haven'?t|havent|have not|hasn'?t|not|no|never|without|inactive|lapsed|since|sin|no han|nicht|seit)"
    r"\b[^.;!?]{0,40}$",
    re.I,
)
_LAPSE_AFTER = re.compile(r"^[^.;!?]{0,25}\b(nicht (mehr )?(gekauft|bestellt)|sin comprar|ago|inactive|lapsed)", re.I)
_BUY_WORDS = re.compile(r"(bought|buy|purchas|order|shop|compra|pedid|gekauft|bestell|kauf"
                        # not engaging is a lapse too: "haven't opened anything in 90 days"
                        r"|open|click|engag|read\b|abierto|abren|clic|geöffnet|öffne|geklickt)", re.I)
_WINDOW_BEFORE = re.compile(r"(in the (last|past)|within|last|past|en los últimos|en las últimas|"
                            r"in den letzten|innerhalb)\s*$", re.I)
_DELAY_AFTER = re.compile(r"^\s*(after|later|post|from|después|despues|más tarde|nach|später|danach)\b", re.I)
_DELAY_BEFORE = re.compile(r"(after|wait|delay|espera|esperar|nach|warte)\s*(about|around|roughly|unos|etwa)?\s*$",
                           re.I)
_EVERY_BEFORE = re.compile(r"(every|each|cada|alle|jede[nrs]?)\s*$", re.I)
_BEFORE_AFTER = re.compile(r"^\s*(before|ahead|prior|antes|vor(her)?)\b", re.I)
_RELATIVE = {
    "last week": 7, "past week": 7, "this week": 7, "la semana pasada": 7, "letzte woche": 7,
    "last month": 30, "past month": 30, "el mes pasado": 30, "letzten monat": 30,
    "last year": 365, "past year": 365, "el año pasado": 365, "letztes jahr": 365,
    "yesterday": 1, "ayer": 1, "gestern": 1,
}


def extract_durations(text: str) -> list[Duration]:
    out: list[Duration] = []
    for m in _DURATION.finditer(text):
        number, unit = m.group(1), m.group(2).lower()
        if unit == "h" and not number[0].isdigit():
            continue  # "a h" is not a duration
        if unit in {"mo", "mos"} and not number[0].isdigit():
            continue
        days = word_number(number) * _UNIT_DAYS[unit]
        before, after = text[max(0, m.start() - 60):m.start()], text[m.end():m.end() + 40]
        if _EVERY_BEFORE.search(before):
            role = "every"
        elif _DELAY_AFTER.match(after) or _DELAY_BEFORE.search(before):
            role = "delay"
        elif (_LAPSE_BEFORE.search(before) and _BUY_WORDS.search(before + after)) or \
                (_LAPSE_AFTER.match(after) and _BUY_WORDS.search(before + after)) or \
                re.search(r"\b(lapsed|inactive|dormant)\b", before[-25:], re.I):
            role = "lapse"
        elif _WINDOW_BEFORE.search(before):
            role = "window"
        elif _BEFORE_AFTER.match(after):
            role = "before"
        else:
            role = ""
        out.append(Duration(m.group(0), days, role, m.start()))
    lowered = text.lower()
    for phrase, days in _RELATIVE.items():
        for m in re.finditer(r"\b" + re.escape(phrase) + r"\b", lowered):
            if not any(d.start <= m.start() < d.start + len(d.text) for d in out):
                out.append(Duration(text[m.start():m.end()], days, "window", m.start()))
    out.sort(key=lambda d: d.start)
    return out


_MONTHS = {
    **{m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                   "september", "october", "november", "december"], 1)},
    **{m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                   "nov", "dec"], 1)},
    "sept": 9,
    **{m: i for i, m in enumerate(["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                   "septiembre", "octubre", "noviembre", "diciembre"], 1)},
    **{m: i for i, m in enumerate(["januar", "februar", "märz", "april", "mai", "juni", "juli", "august",
                                   "september", "oktober", "november", "dezember"], 1)},
    "maerz": 3, "marz": 3, "setiembre": 9,
}
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
    re.compile(r"\b" + _MONTH.replace("(", "(?P<mon>", 1) +
               r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s*(?P<y>\d{4}))?", re.I),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:de\s+|of\s+)?" + _MONTH.replace("(", "(?P<mon>", 1) +
               r"(?:,?\s+(?:de\s+)?(?P<y>\d{4}))?", re.I),
]
_DEADLINE_BEFORE = re.compile(r"\b(before|by|until|till|no later than|ahead of|prior to|ends?|ending|antes de(l)?|"
                              r"hasta|bis( zum)?|vor( dem)?|spätestens)\s*(the\s+)?$", re.I)
_ON_BEFORE = re.compile(r"\b(on|starting|start|from|at|launch(es|ing)?|el|am|ab|desde|para el)\s*(the\s+)?$", re.I)
_AFTER_BEFORE = re.compile(r"\b(after|después de(l)?|nach( dem)?)\s*(the\s+)?$", re.I)


@dataclass(frozen=True)
class DateMention:
    """A calendar date: ``role`` deadline (before/by), on (send that day), after, or ''."""

    text: str
    on: date
    role: str
    start: int = 0


def date_role(before: str) -> str:
    if _DEADLINE_BEFORE.search(before):
        return "deadline"
    if _AFTER_BEFORE.search(before):
        return "after"
    if _ON_BEFORE.search(before):
        return "on"
    return ""


def extract_dates(text: str, today: date) -> list[DateMention]:
    """Explicit dates; a date without a year is its next occurrence on or after ``today``."""
    out: list[DateMention] = []
    seen: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in seen):
                continue
            groups = m.groupdict()
            month = int(groups["m"]) if groups.get("m") else _MONTHS.get(groups["mon"].lower().rstrip("."))
            if month is None:
                continue
            day = int(groups["d"])
            year = int(groups["y"]) if groups.get("y") else today.year
            try:
                when = date(year, month, day)
                if not groups.get("y") and when < today:
                    when = date(year + 1, month, day)
            except ValueError:
                continue
            seen.append(m.span())
            out.append(DateMention(m.group(0), when, date_role(text[max(0, m.start() - 30):m.start()]), m.start()))
    out.extend(_weekdays(text, today, seen))
    out.sort(key=lambda d: d.start)
    return out


_WEEKDAYS = {
    **{d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                   "sunday"])},
    **{d: i for i, d in enumerate(["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"])},
    **{d: i for i, d in enumerate(["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag",
                                   "sonntag"])},
    "miercoles": 2, "sabado": 5,
}
_WEEKDAY = re.compile(r"\b(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\b", re.I)


def _weekdays(text: str, today: date, seen: list[tuple[int, int]]) -> list[DateMention]:
    out = []
    for m in _WEEKDAY.finditer(text):
        if any(s <= m.start() < e for s, e in seen):
            continue
        target = _WEEKDAYS[m.group(1).lower()]
        ahead = (target - today.weekday()) % 7 or 7  # "Friday" means the next Friday, never today
        out.append(DateMention(m.group(0), today + timedelta(days=ahead),
                               date_role(text[max(0, m.start() - 30):m.start()]) or "on", m.start()))
    return out


_TIME = re.compile(r"\b(?:at\s+|a las\s+|um\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|uhr|h)\b", re.I)


def extract_time_of_day(text: str) -> str | None:
    """'9am', '6 pm', '18:30 Uhr', 'a las 9h' -> 'HH:MM' (the first one)."""
    for m in _TIME.finditer(text):
        hour, minute, suffix = int(m.group(1)), int(m.group(2) or 0), m.group(3).lower()
        if suffix.startswith("p") and hour < 12:
            hour += 12
        if suffix.startswith("a") and hour == 12:
            hour = 0
        if suffix == "h" and not m.group(0).lower().startswith(("at", "a las", "um")) and not m.group(2):
            continue  # "2h" is a duration, "at 9h" a time
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    return None


_EMAILS = re.compile(
    r"\b(?:(?:only|just|max(?:imum)?|at most|no more than|up to|solo|sólo|nur|maximal|höchstens)\s+)?"
    + _NUM + r"[\s-]*(?:(?:short|helpful|friendly|quick|simple|more|follow-?up|reminder|kurze|breve)\s+)?"
    r"(?:emails?|e mails?|messages?|mails?|sends?|touches|touchpoints|correos?|mensajes?|nachrichten|e-mails?)\b",
    re.I,
)


def extract_max_emails(text: str) -> int | None:
    """'just one email', 'a 2-email series', 'max 3 emails' -> how many emails the journey may send."""
    for m in _EMAILS.finditer(text):
        try:
            n = int(word_number(m.group(1)))
        except ValueError:
            continue
        if m.group(1).lower() in {"a", "an", "un", "una", "ein", "eine"} and "single" not in m.group(0).lower():
            continue  # "an email" is not a count
        if 1 <= n <= 10:
            return n
    return None


_RECURRING = [
    (re.compile(r"\b(monthly|every month|each month|once a month|mensual(mente)?|mensuales?|cada mes|monatlich\w*|"
                r"jeden monat)\b", re.I), "monthly"),
    (re.compile(r"\b(weekly|every week|each week|once a week|semanal(mente)?|semanales|cada semana|wöchentlich\w*|"
                r"jede woche)\b", re.I), "weekly"),
    (re.compile(r"\b(every other week|biweekly|fortnightly|every two weeks|every 2 weeks|cada dos semanas|"
                r"alle zwei wochen|alle 2 wochen)\b", re.I), "biweekly"),
]


def extract_recurrence(text: str) -> str | None:
    for pattern, name in reversed(_RECURRING):  # "every two weeks" before "every week"
        if pattern.search(text):
            return name
    return None


_DAY = "(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_EVERY_OTHER_DAY = re.compile(r"\b(?:every other|every second|each other|alternate|cada dos|jeden zweiten)\s+"
                              + _DAY + r"s?\b", re.I)
_EVERY_DAY = re.compile(r"\b(?:every|each|cada|todos los|jeden)\s+" + _DAY + r"s?\b|\b" + _DAY + r"s\b", re.I)


def extract_recurring_weekday(text: str) -> tuple[int, bool] | None:
    """'every Friday', 'on Fridays', 'freitags' -> (4, False); 'every other Friday' -> (4, True).

    Weekday numbers are Python's (Monday 0). A single "Friday" is a date, not a cadence.
    """
    m = _EVERY_OTHER_DAY.search(text)
    if m:
        return _WEEKDAYS[m.group(1).lower()], True
    for m in _EVERY_DAY.finditer(text):
        name = (m.group(1) or m.group(2) or "").lower()
        if name.endswith("s") and name in _WEEKDAYS and not m.group(1):
            continue  # "viernes", "miércoles": the plain Spanish name ends in s; it is one day, not "Fridays"
        if name in _WEEKDAYS:
            return _WEEKDAYS[name], False
    return None
