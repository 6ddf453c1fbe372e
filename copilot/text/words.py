"""The words the recognisers read, per language (English, Spanish, German, French).

Only what Babel cannot give lives here: spelled-out numbers (CLDR has no parsing rules for
them), duration units (CLDR lacks the German dative "Tagen", "Monaten"), and the small
function words around a figure that say what it is ("off", "de descuento", "bis", "jusqu'au").
Month and weekday names, decimal and group separators and currency symbols come from Babel
(see ``dates`` and ``numbers``). Words may carry accents; patterns accept them with or without.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from babel import localedata

from copilot.text.fold import fold

__all__ = ["LANGUAGES", "languages", "canonical", "alternation", "pattern", "spellings", "NUMBER_WORDS", "QUANTITY_WORDS", "UNIT_DAYS",
           "CURRENCY_WORDS", "ROLE_WORDS", "RELATIVE_DAYS", "FILLER_WORDS", "NUMBER_JOINERS"]

LANGUAGES = ("en", "es", "de", "fr")

_EN = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
       "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
       "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
       "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100}
_ES = {"cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
       "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
       "quince": 15, "dieciséis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
       "veintiuno": 21, "veintiún": 21, "veintidós": 22, "veintitrés": 23, "veinticuatro": 24, "veinticinco": 25,
       "veintiséis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40,
       "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100}
_DE = {"null": 0, "eins": 1, "ein": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
       "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13, "vierzehn": 14,
       "fünfzehn": 15, "sechzehn": 16, "siebzehn": 17, "achtzehn": 18, "neunzehn": 19, "zwanzig": 20,
       "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80, "neunzig": 90,
       "hundert": 100, "einhundert": 100}
_FR = {"zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
       "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
       "seize": 16, "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19, "vingt": 20, "trente": 30, "quarante": 40,
       "cinquante": 50, "soixante": 60, "soixante-dix": 70, "quatre-vingt": 80, "quatre-vingts": 80,
       "quatre-vingt-dix": 90, "cent": 100}
# Cardinal words; compounds are read part by part ("twenty-five", "veinte y cinco", "fünfundzwanzig",
# "soixante-quinze"), the longest listed part first.
NUMBER_WORDS: dict[str, dict[str, int]] = {"en": _EN, "es": _ES, "de": _DE, "fr": _FR}
NUMBER_JOINERS = {"en": r"[- ]", "es": r"\s+(?:y\s+)?", "de": r"und", "fr": r"-et-|\s+et\s+|[- ]"}
# ("an", one French year, is left out: "1 an email" in an English brief is not a year.)
# Words that count things in a brief's durations and limits ("a week", "a couple of days", "eine Woche").
QUANTITY_WORDS: dict[str, dict[str, int]] = {
    "en": {"a": 1, "an": 1, "single": 1, "couple": 2, "few": 3},
    "es": {"un": 1, "una": 1, "uno": 1},
    "de": {"ein": 1, "eine": 1, "einem": 1, "einen": 1, "einer": 1},
    "fr": {"un": 1, "une": 1, "quelques": 3},
}
UNIT_DAYS: dict[str, dict[str, float]] = {
    "en": {"hour": 1 / 24, "hours": 1 / 24, "hr": 1 / 24, "hrs": 1 / 24, "h": 1 / 24, "day": 1, "days": 1,
           "week": 7, "weeks": 7, "wk": 7, "wks": 7, "month": 30, "months": 30, "mo": 30, "mos": 30,
           "year": 365, "years": 365, "yr": 365, "yrs": 365},
    "es": {"hora": 1 / 24, "horas": 1 / 24, "día": 1, "días": 1, "semana": 7, "semanas": 7, "mes": 30,
           "meses": 30, "año": 365, "años": 365},
    "de": {"stunde": 1 / 24, "stunden": 1 / 24, "tag": 1, "tage": 1, "tagen": 1, "woche": 7, "wochen": 7,
           "monat": 30, "monate": 30, "monaten": 30, "jahr": 365, "jahre": 365, "jahren": 365},
    "fr": {"heure": 1 / 24, "heures": 1 / 24, "jour": 1, "jours": 1, "semaine": 7, "semaines": 7, "mois": 30,
           "ans": 365, "année": 365, "années": 365},
}
# Currency names as copy writes them; symbols and ISO codes come from Babel.
CURRENCY_WORDS: dict[str, dict[str, str]] = {
    "en": {"dollar": "USD", "dollars": "USD", "bucks": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP",
           "pounds": "GBP"},
    "es": {"dólar": "USD", "dólares": "USD", "euro": "EUR", "euros": "EUR", "libra": "GBP", "libras": "GBP"},
    "de": {"dollar": "USD", "euro": "EUR", "pfund": "GBP"},
    "fr": {"dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "livre": "GBP", "livres": "GBP"},
}
# What the words around a figure make of it. "before" lists end right before the figure,
# "after" lists start right after it; "deadline", "on" and "after_date" precede a date.
ROLE_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "percent_unit": {"en": ("%", "percent", "per cent", "pct"), "es": ("%", "por ciento"), "de": ("%", "prozent"),
                     "fr": ("%", "pour cent")},
    "half_price": {"en": ("half off", "half price", "half-price"), "es": ("a mitad de precio", "mitad de precio"),
                   "de": ("zum halben preis", "halber preis"), "fr": ("à moitié prix", "moitié prix")},
    "discount_after": {"en": ("off", "discount", "savings", "saving", "less", "reduction", "taken off"),
                       "es": ("de descuento", "descuento", "de rebaja", "menos"),
                       "de": ("rabatt", "nachlass", "ermäßigung", "günstiger", "auf alles", "auf"),
                       "fr": ("de réduction", "de remise", "de rabais", "réduction", "remise")},
    "discount_before": {"en": ("save", "saving", "take", "get", "enjoy", "discount of", "up to", "an extra", "extra"),
                        "es": ("ahorra", "ahorre", "ahorrar", "obtén", "obtenga", "hasta un", "hasta el", "un extra"),
                        "de": ("spare", "sparen", "spart", "spar", "bis zu", "extra", "bekommen", "bekommt", "erhalten",
                               "gibt es"),
                        "fr": ("économisez", "économise", "profitez de", "jusqu'à", "remise de")},
    "share_after": {"en": ("of", "in", "more", "merino", "cotton", "wool", "recycled", "natural", "organic", "sure",
                           "guaranteed"),
                    "es": ("de", "del", "en", "más", "algodón", "lana", "reciclado", "natural", "orgánico", "seguro"),
                    "de": ("der", "aus", "mehr", "baumwolle", "wolle", "recycelt", "natürlich", "bio", "sicher"),
                    "fr": ("de", "des", "du", "en", "plus", "coton", "laine", "recyclé", "naturel", "bio", "sûr")},
    "threshold_before": {"en": ("over", "above", "order of", "orders of", "spend", "more than", "minimum",
                                "minimum order", "minimum order of", "minimum of", "min", "at least"),
                         "es": ("más de", "superior a", "superiores a", "a partir de", "pedidos de", "mínimo de",
                                "al menos"),
                         "de": ("über", "ab", "mehr als", "mindestens", "mindestbestellwert", "bestellungen ab"),
                         "fr": ("plus de", "dès", "à partir de", "au-delà de", "minimum de", "au moins")},
    "threshold_after": {"en": ("or more", "and up", "or above", "and over", "minimum"), "es": ("o más",),
                        "de": ("oder mehr",), "fr": ("ou plus",)},
    "ceiling_before": {"en": ("under", "below", "less than"), "es": ("menos de", "por debajo de"),
                       "de": ("unter", "weniger als"), "fr": ("moins de", "en dessous de")},
    "previous_before": {"en": ("was", "were", "originally", "regularly", "usually", "before", "down from", "~~"),
                        "es": ("antes", "antes a", "antes costaba", "costaba", "antes era", "precio original",
                               "~~"),
                        "de": ("statt", "vorher", "früher", "ursprünglich", "uvp", "~~"),
                        "fr": ("au lieu de", "avant", "prix initial", "coûtait", "auparavant", "~~")},
    "deadline": {"en": ("before", "by", "until", "till", "no later than", "ahead of", "prior to", "end", "ends",
                        "ending", "thru", "through", "expires", "expire", "expiring", "valid", "valid until",
                        "valid through", "last day", "closes", "close"),
                 "es": ("antes de", "antes del", "hasta", "hasta el", "termina", "termina el", "vence", "vence el",
                        "válido hasta", "válida hasta", "a más tardar", "a más tardar el", "último día"),
                 "de": ("bis", "bis zum", "bis am", "vor", "vor dem", "spätestens", "spätestens am", "endet",
                        "endet am", "gültig bis", "letzter tag"),
                 "fr": ("avant", "avant le", "jusqu'au", "jusqu'à", "jusqu'à le", "d'ici le", "au plus tard le",
                        "se termine le", "expire le", "valable jusqu'au", "dernier jour")},
    "after_date": {"en": ("after",), "es": ("después de", "después del"), "de": ("nach", "nach dem"),
                   "fr": ("après", "après le")},
    "on_date": {"en": ("on", "starting", "start", "from", "at", "launch", "launches", "launching"),
                "es": ("el", "desde", "desde el", "para el", "a partir del"),
                "de": ("am", "ab", "ab dem"), "fr": ("le", "dès le", "à partir du")},
    "relative_determiner": {"en": ("this", "next"), "es": ("el", "este", "esta", "el próximo", "este próximo"),
                            "de": ("am", "diesen", "diesem", "nächsten", "kommenden"), "fr": ("ce", "le")},
    "only": {"en": ("only",), "es": ("solo", "sólo", "solamente", "únicamente"), "de": ("nur",),
             "fr": ("seulement", "uniquement")},
    "code_intro": {"en": ("code", "coupon", "promo", "promo code", "voucher"),
                   "es": ("código", "código promocional", "cupón"),
                   "de": ("code", "gutschein", "gutscheincode", "rabattcode"),
                   "fr": ("code", "code promo", "coupon", "bon de réduction")},
    "code_verb": {"en": ("use", "enter", "apply"), "es": ("usa", "use", "introduce", "aplica", "ingresa"),
                  "de": ("nutze", "nutzen", "verwende", "verwenden"), "fr": ("utilisez", "entrez", "saisissez")},
}
# Articles and possessives carry no meaning when matching a vocabulary: "abandoned their cart" is "abandoned cart".
FILLER_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "a", "an", "their", "his", "her", "my", "your", "our", "its"),
    "es": ("el", "la", "los", "las", "sus", "su"),
    "de": ("der", "die", "das", "den", "dem", "des", "ihre", "ihren", "ihr"),
    "fr": ("le", "les", "leur", "leurs", "ses"),
}
RELATIVE_DAYS: dict[str, dict[str, str]] = {
    "en": {"today": "today", "tonight": "tonight", "tomorrow": "tomorrow", "midnight": "midnight"},
    "es": {"hoy": "today", "esta noche": "tonight", "mañana": "tomorrow", "medianoche": "midnight"},
    "de": {"heute": "today", "heute nacht": "tonight", "heute abend": "tonight", "morgen": "tomorrow",
           "mitternacht": "midnight"},
    "fr": {"aujourd'hui": "today", "ce soir": "tonight", "demain": "tomorrow", "minuit": "midnight"},
}


def languages(locales: str | Iterable[str] | None) -> tuple[str, ...]:
    """Language codes from locales ("es-MX", "de_DE" -> "es", "de"), in order, without repeats;
    a language Babel does not know is left out, and none left reads as English."""
    items = (locales,) if isinstance(locales, str) else tuple(locales or LANGUAGES)
    return _languages(items)


def canonical(langs: tuple[str, ...]) -> tuple[str, ...]:
    """The languages in one order, so word patterns are built once whichever language comes first
    (the first one only decides how figures read)."""
    return tuple(sorted(langs))


@lru_cache(maxsize=256)
def _languages(items: tuple[str, ...]) -> tuple[str, ...]:
    out = [re.split(r"[-_]", loc.strip())[0].lower() for loc in items if loc and loc.strip()]
    return tuple(dict.fromkeys(lang for lang in out if localedata.exists(lang))) or ("en",)


def spellings(word: str) -> set[str]:
    """A word as listed, without accents, with German umlauts spelled out, and with either apostrophe."""
    out = {word, fold(word)}
    if any(c in word for c in "äöü"):
        out.add(word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss"))
    if "ß" in word:
        out.add(word.replace("ß", "ss"))
    return out


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first (so "bis zum" wins over "bis"), each spelled as
    listed or without accents, any run of spaces between words, either apostrophe."""
    forms = {s for w in words for s in spellings(w.lower())}
    parts = []
    for form in sorted(forms, key=lambda f: (-len(f), f)):
        escaped = re.escape(form).replace(r"\ ", r"\s+").replace("'", "['’]")
        parts.append(escaped)
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


def _table_words(table: Mapping[str, Mapping[str, object] | tuple[str, ...]], langs: tuple[str, ...]) -> list[str]:
    return [w for lang in langs for w in table.get(lang, table.get("en", ()))]  # type: ignore[union-attr]


@lru_cache(maxsize=256)
def pattern(role: str, langs: tuple[str, ...]) -> str:
    """The alternation of a ROLE_WORDS list (or "number", "quantity", "unit", "currency") for ``langs``."""
    tables: dict[str, Mapping[str, object]] = {"number": NUMBER_WORDS, "quantity": QUANTITY_WORDS, "unit": UNIT_DAYS,
                                               "currency": CURRENCY_WORDS}
    table = tables.get(role) or ROLE_WORDS[role]
    return alternation(_table_words(table, langs))  # type: ignore[arg-type]
