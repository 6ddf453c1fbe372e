"""Money and percentages as copy and briefs write them, with what the words around them make of
them: "29,99 €", "€29.99", "US$ 140", "fifty dollars"; "20 % de descuento", "20 % Rabatt",
"-20 %", "half price"; a discount, a threshold ("orders over $60"), a ceiling, a former price.

Currency symbols and ISO codes come from Babel for the languages asked, so "US$" (es),
"$US" (fr) and "$" (en, de) are all dollars; figures are read in the locale's format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_symbol

from copilot.text.fold import fold, lowered, word_end, word_start
from copilot.text.language import language_of
from copilot.text.numbers import FIGURE, FIGURE_SPACED, parse_number, spelled_number, spells_number
from copilot.text.words import CURRENCY_WORDS, ROLE_WORDS, alternation, canonical, languages, pattern

__all__ = ["Money", "Percent", "find_money", "find_percents", "amount_role", "percent_role", "currency_symbols",
           "format_money", "COMMON_CURRENCIES"]

# Currencies every reader knows besides the brand's own: a price in one of them is a mismatch to report.
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY", "MXN")
_NOT_WORD = r"(?![^\W_])"


@dataclass(frozen=True)
class Money:
    text: str
    amount: Decimal
    currency: str  # ISO 4217
    start: int
    end: int


@dataclass(frozen=True)
class Percent:
    text: str
    value: Decimal
    start: int
    end: int
    half: bool = False  # "half off", "a mitad de precio"


@lru_cache(maxsize=64)
def currency_symbols(langs: tuple[str, ...], currencies: tuple[str, ...]) -> dict[str, str]:
    """Symbol or code (lower-case) -> ISO code, from Babel, for ``currencies`` in ``langs``.
    A symbol two currencies share keeps the first currency listed ("$" is USD before CAD). The bare
    sign of a symbol that qualifies it ("CA$", "$CA", "A$") is that currency's too when it comes
    first: a Canadian brand (its currency listed first) writes "$189" for Canadian dollars."""
    out: dict[str, str] = {}
    for code in currencies:
        out.setdefault(code.lower(), code)
        for lang in langs:
            # the currency's home spelling first ("$" for CAD in English or French), then the language's ("CA$")
            home = home_symbol(code, lang)
            if home:
                out.setdefault(home.lower(), code)
            try:
                symbol = get_currency_symbol(code, locale=lang).lower()
            except Exception:  # a language Babel lacks: the code alone  # noqa: BLE001
                continue
            out.setdefault(symbol, code)
            bare = "".join(ch for ch in symbol if not ch.isalpha()).strip()
            if bare and bare != symbol:
                out.setdefault(bare, code)
    return out


@lru_cache(maxsize=128)
def home_symbol(currency: str, locale: str) -> str | None:
    """How ``locale``'s language writes ``currency`` in the currency's home territory (ISO 4217's first two
    letters: CAD is Canada's, so English and French write "$"), or None when Babel has no such regional
    locale or it spells the currency as the language does (EUR has no home territory)."""
    from babel import localedata

    home = f"{language_of(locale)}_{currency[:2].upper()}"
    if not localedata.exists(home):
        return None
    # the regional data alone (unmerged: copilot.text.dates reads regional month names the same way)
    symbols = localedata.load(home, merge_inherited=False).get("currency_symbols", {})
    found = symbols.get(currency) if hasattr(symbols, "get") else None
    return found if isinstance(found, str) else None


def format_amount(amount: Decimal, currency: str, locale: str = "en") -> str:
    """An amount as the brand's readers write it: "$140", "$14.50" (USD, CAD in English), "£15", "140 €",
    "45 $" (CAD in French); whole amounts without decimals, as fact sheets give them."""
    from babel import Locale
    from babel.numbers import format_currency

    loc = Locale.parse(language_of(locale))
    pattern = loc.currency_formats["standard"].pattern
    if amount == amount.to_integral_value():
        pattern = pattern.replace(".00", "")
    symbol = home_symbol(currency, locale)
    if symbol:
        pattern = pattern.replace("¤", "'" + symbol.replace("'", "''") + "'")
    return format_currency(amount, currency, format=pattern, locale=loc, currency_digits=False)


@dataclass(frozen=True)
class _MoneyWords:
    units: re.Pattern[str]  # any symbol, code or currency word
    codes: dict[str, str]  # unit (lower-case, and folded) -> ISO code
    prefixes: frozenset[str]  # units written before the amount: symbols and codes, not words
    figure_after: re.Pattern[str]
    figure_before: re.Pattern[str]


@lru_cache(maxsize=64)
def _money_words(langs: tuple[str, ...], currencies: tuple[str, ...], spelled: bool) -> _MoneyWords:
    symbols = currency_symbols(langs, currencies)
    words = {w: code for lang in langs for w, code in CURRENCY_WORDS.get(lang, {}).items()}
    units = {**symbols, **words}
    number = f"{FIGURE_SPACED}|{spelled_number(langs)}" if spelled else FIGURE_SPACED
    return _MoneyWords(re.compile(alternation(units)), {**units, **{fold(u): c for u, c in units.items()}},
                       frozenset(symbols), re.compile(rf"\s?({FIGURE_SPACED})"), re.compile(rf"(?:{number})\s?$"))


def find_money(text: str, locale: str | Iterable[str] = "en", *, currencies: Iterable[str] = ()) -> list[Money]:
    """Amounts with their currency; figures read in the first language's format. ``currencies``
    (the brand's) are known besides COMMON_CURRENCIES."""
    langs = languages(locale)
    low = lowered(text)
    known = tuple(dict.fromkeys([*currencies, *COMMON_CURRENCIES]))
    key = canonical(langs)
    w = _money_words(key, known, spells_number(low, key))
    found: list[Money] = []
    # Unit first (a literal alternation Python's re skips through fast), then the amount beside it.
    for u in w.units.finditer(low):
        unit, (s, e) = u.group(0), u.span()
        lettered = unit[:1].isalpha()
        if lettered and not word_start(low, s):
            continue  # "eur" in "europe" is no unit, nor "usd" in "xusd"
        if unit in w.prefixes:
            after = w.figure_after.match(low, e)
            value = parse_number(after.group(1), langs[0]) if after is not None else None
            if after is not None and value is not None:
                found.append(Money(text[s:after.end()], value, w.codes[unit], s, after.end()))
                continue
        if lettered and not word_end(low, e):
            continue
        before = w.figure_before.search(low, max(0, s - 40), s)
        if before is None or not _starts_clean(low, before.start()):
            continue
        value = parse_number(before.group(0).strip(), langs[0])
        if value is not None:
            found.append(Money(text[before.start():e], value, w.codes.get(unit) or w.codes[fold(unit)],
                               before.start(), e))
    out: list[Money] = []
    for m in sorted(found, key=lambda m: m.start):
        if not out or m.start >= out[-1].end:
            out.append(m)
    return out


def _starts_clean(low: str, i: int) -> bool:
    """A number starts at ``i``: not in the middle of a figure or a word."""
    return i <= 0 or not (low[i - 1].isalnum() or low[i - 1] in ".,")


@dataclass(frozen=True)
class _PercentWords:
    units: re.Pattern[str]
    figure_before: re.Pattern[str]


@lru_cache(maxsize=32)
def _percent_words(langs: tuple[str, ...], spelled: bool) -> _PercentWords:
    words = [w for lang in langs for w in ROLE_WORDS["percent_unit"].get(lang, ()) if w != "%"]
    half = pattern("half_price", langs)
    number = f"(?:{FIGURE})|{spelled_number(langs)}" if spelled else f"(?:{FIGURE})"
    return _PercentWords(re.compile(rf"%|(?P<word>{alternation(words)})|(?P<half>{half})"),
                         re.compile(rf"(?:{number})\s*$"))


def find_percents(text: str, locale: str | Iterable[str] = "en") -> list[Percent]:
    """Percentages ('15%', '20 %', 'fifteen percent', 'veinte por ciento', 'half off' = 50)."""
    langs = languages(locale)
    low = lowered(text)
    key = canonical(langs)
    w = _percent_words(key, spells_number(low, key))
    out: list[Percent] = []
    for u in w.units.finditer(low):
        s, e = u.span()
        if (u.group("word") or u.group("half")) and not (word_start(low, s) and word_end(low, e)):
            continue
        if u.group("half"):
            out.append(Percent(text[s:e], Decimal(50), s, e, half=True))
            continue
        before = w.figure_before.search(low, max(0, s - 40), s)
        if before is None or not _starts_clean(low, before.start()):
            continue
        value = parse_number(before.group(0).strip(), langs[0])
        if value is not None and (not out or before.start() >= out[-1].end):
            out.append(Percent(text[before.start():e], value, before.start(), e))
    return out


@lru_cache(maxsize=256)
def _around(role: str, langs: tuple[str, ...], after: bool) -> re.Pattern[str]:
    words = pattern(role, langs)
    if after:
        return re.compile(rf"[\s,:–-]*{words}{_NOT_WORD}", re.I)
    return re.compile(rf"(?<![^\W_]){words}\s*$", re.I)


def _after(text: str, end: int, role: str, langs: tuple[str, ...]) -> bool:
    return bool(_around(role, canonical(langs), True).match(text, end, min(len(text), end + 30)))


def _before(text: str, start: int, role: str, langs: tuple[str, ...], reach: int = 25) -> bool:
    return bool(_around(role, canonical(langs), False).search(text[max(0, start - reach):start]))


def amount_role(text: str, money: Money, locale: str | Iterable[str] = "en") -> str:
    """What an amount is: "discount" ("$10 off", "10 € de descuento", "save $10"), "threshold" ("orders over $60",
    "ab 60 €"), "ceiling" ("under $50"), "previous" ("was $180", "statt 180 €") or ""."""
    langs = languages(locale)
    if _after(text, money.end, "discount_after", langs):
        return "discount"
    if _after(text, money.end, "threshold_after", langs):
        return "threshold"  # "journeys of €1,000 or more"
    for role in ("threshold", "ceiling", "previous"):
        if _before(text, money.start, f"{role}_before", langs):
            return role
    if _SAVE_BEFORE.search(text[max(0, money.start - 20):money.start]):
        return "discount"  # "Save $200 when you switch", "ahorra 30 $" (not "up to $50,000": a ceiling)
    return ""


_SAVE_BEFORE = re.compile(r"(?<![^\W_])(?:save|saving|ahorra|ahorre|ahorrar|spare|sparen|spart|économisez|économise)"
                          r"\s+(?:an? extra\s+|un extra\s+)?$", re.I)


def percent_role(text: str, percent: Percent, locale: str | Iterable[str] = "en") -> str:
    """What a percentage is: "discount" ("15% off", "20 % de descuento", "20 % Rabatt", "-20 %",
    "save 20%", "half price"), "share" ("95% of testers", "100% merino") or ""."""
    langs = languages(locale)
    if percent.half or _after(text, percent.end, "discount_after", langs) \
            or text[max(0, percent.start - 1):percent.start] in {"-", "−", "–"}:
        return "discount"
    share = _after(text, percent.end, "share_after", langs)
    if not share and _before(text, percent.start, "discount_before", langs, reach=20):
        return "discount"
    return "share" if share else ""


def format_money(value: Decimal, currency: str) -> str:
    """'$140', '$1,250.50', '€29.99', 'CHF 80': how a finding quotes a fact-sheet amount."""
    symbol = get_currency_symbol(currency, locale="en")  # the code itself when Babel has no symbol
    return f"{symbol}{' ' if symbol[-1:].isalpha() else ''}{value:,.2f}".removesuffix(".00")
