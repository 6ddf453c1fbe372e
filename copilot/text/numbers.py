"""Numbers as written: figures in a locale's format (Babel: '29,99' and '1.250,50' in German,
'1,250.50' in English) and spelled-out numbers ('fifteen', 'veinticinco', 'fünfundzwanzig')."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

from copilot.text.fold import fold, lowered
from copilot.text.words import NUMBER_JOINERS, NUMBER_WORDS, alternation, canonical, languages

__all__ = ["FIGURE", "FIGURE_SPACED", "Number", "find_numbers", "find_ordinals", "parse_amount", "parse_number", "spelled_number", "spells_number", "numbers_in",
           "count_of"]

_SPACES = "\u00a0\u202f "


@lru_cache(maxsize=64)
def _symbols(lang: str) -> tuple[str, str]:
    try:
        return get_decimal_symbol(lang), get_group_symbol(lang)
    except Exception:  # a language Babel does not know reads as English  # noqa: BLE001
        return ".", ","


@lru_cache(maxsize=4096)
def parse_amount(raw: str, locale: str = "en") -> Decimal | None:
    """A figure as the locale writes it: '29,99' -> 29.99 and '1.250,50' -> 1250.50 in de/es/fr,
    '1,250.50' -> 1250.50 in en. A figure the locale cannot read is tried the other way round
    ('29.99' in German copy is 29.99, not 2999); None when neither reads it."""
    lang = languages(locale)[0]
    text = raw.strip()
    decimal, group = _symbols(lang)
    text = re.sub(r"(?<=\d)[\u00a0\u202f ](?=\d{3}\b)", group if group in _SPACES else "", text)
    other = "de" if decimal == "." else "en"
    for loc in (lang, other):
        try:
            return parse_decimal(text, locale=loc, strict=True)
        except (NumberFormatError, ValueError):
            continue
    return None


@lru_cache(maxsize=64)
def _number_words(lang: str) -> tuple[dict[str, int], re.Pattern[str], re.Pattern[str]]:
    words = NUMBER_WORDS.get(lang, NUMBER_WORDS["en"])
    values = {form: v for w, v in words.items() for form in {w, fold(w)}}
    one = alternation(words)
    joiner = NUMBER_JOINERS.get(lang, NUMBER_JOINERS["en"])
    whole = re.compile(rf"(?<![^\W_]){one}(?:(?:{joiner}){one}){{0,3}}(?![^\W_])", re.I)
    return values, re.compile(one, re.I), whole


@lru_cache(maxsize=4096)
def spells_number(low: str, langs: tuple[str, ...]) -> bool:
    """Whether the lower-cased text holds a spelled-out number word of the languages (a cheap test
    before the slower patterns that read them)."""
    return any(w in low for w in _number_needles(langs))


@lru_cache(maxsize=32)
def _number_needles(langs: tuple[str, ...]) -> tuple[str, ...]:
    words = {form for lang in langs for w in NUMBER_WORDS.get(lang, {}) for form in (w, fold(w))}
    # A word that contains another listed word is found through it ("fifteen" through "fif" is not,
    # "nineteen" through "nine" is): keep only the shortest.
    return tuple(w for w in sorted(words, key=len) if not any(o != w and o in w for o in words))


def spelled_number(langs: tuple[str, ...]) -> str:
    """A regex of a spelled-out number in any of ``langs`` ('twenty-five', 'quince', 'fünfundzwanzig')."""
    return "(?:" + "|".join(_number_words(lang)[2].pattern for lang in langs) + ")"


def parse_number(text: str, locale: str = "en") -> Decimal | None:
    """'15', '1,250.50' (en) or '1.250,50' (de), 'fifteen', 'twenty-five', 'a hundred',
    'veinticinco', 'fünfundzwanzig' -> Decimal; None otherwise."""
    figure_value = parse_amount(text, locale) if any(c.isdigit() for c in text) else None
    if figure_value is not None:
        return figure_value
    for lang in dict.fromkeys((*languages(locale), "en")):
        values, one, whole = _number_words(lang)
        if not whole.fullmatch(text.strip()):
            continue
        total = 0
        for part in one.findall(text):
            value = values.get(part.lower(), values.get(fold(part), 0))
            total = max(total, 1) * 100 if value == 100 else total + value
        return Decimal(total)
    return None


# A figure as any supported locale writes it (read it with ``parse_amount``): groups of three
# after ',' '.' or a no-break space, then decimals; or digits with one separator. FIGURE_SPACED
# also takes plain spaces between groups ("1 250,50 €"), for amounts, where a currency says it is one.
FIGURE = r"\d{1,3}(?:[,.\u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)?"
FIGURE_SPACED = r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)?"


@dataclass(frozen=True)
class Number:
    text: str
    value: Decimal
    start: int
    end: int


@lru_cache(maxsize=32)
def _numbers(langs: tuple[str, ...], alone: bool, spelled: bool) -> re.Pattern[str]:
    if alone:  # not part of a word, an amount or a percentage: "5L", "$60" and "15%" are not plain numbers
        figure = rf"(?<![\w$€£¥.,])(?:{FIGURE})(?![\w%$€£¥]|[.,]\d)"
    else:
        figure = rf"(?<![\d.,])(?:{FIGURE})"
    return re.compile(rf"{figure}|{spelled_number(langs)}" if spelled else figure)


def find_numbers(text: str, locale: str | tuple[str, ...] = "en", *, alone: bool = True) -> list[Number]:
    """Every number in ``text``: figures read in the first language's format, and spelled-out
    numbers; with ``alone`` only numbers that stand alone (not "5L", "$60" or "15%")."""
    langs = languages(locale)
    low = lowered(text)
    out = []
    key = canonical(langs)
    for m in _numbers(key, alone, spells_number(low, key)).finditer(low):
        value = parse_number(m.group(0), langs[0])
        if value is not None:
            out.append(Number(text[m.start():m.end()], value, m.start(), m.end()))
    return out


# A count written as an ordinal: "50th", "10th", "3rd" (en), "50.º"/"50º"/"50ª" (es), "50e"/"50ème"/"1er"
# (fr); German "50." only before a word ("50. Kurs"), since a full stop ends sentences.
_ORDINAL = re.compile(r"(?<![\w$€£¥.,])(\d{1,6})(?:(?:st|nd|rd|th|er|re|e|ème|eme)(?!\w)|\.?[ºª](?!\w)"
                      r"|\.(?=\s+[^\W\d_]))", re.I)


def find_ordinals(text: str) -> list[Number]:
    """Every count written as an ordinal ("their 50th class" -> 50), in any supported language."""
    return [Number(m.group(0), Decimal(m.group(1)), m.start(), m.end()) for m in _ORDINAL.finditer(text)]


def numbers_in(text: str, locale: str | tuple[str, ...] = "en") -> set[Decimal]:
    """The values of every number in ``text`` (normalized: 4.70 and 4.7 are one)."""
    return {n.value.normalize() for n in find_numbers(text, locale, alone=False)}


def count_of(n: int | None, noun: str, plural: str | None = None) -> str:
    """'1 contact', '2,140 contacts' (English, for people reading the plan: CLI, chat, review pages)."""
    if n is None:
        return f"an unknown number of {plural or noun + 's'}"
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
