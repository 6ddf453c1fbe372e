"""copilot.text recognisers: money, percentages, numbers, dates, weekdays, times, durations and the
roles the words around them give, in English, Spanish, German and French."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from copilot.text import (
    amount_role,
    date_role,
    find_dates,
    find_durations,
    find_free_shipping,
    find_introduced_codes,
    find_money,
    find_numbers,
    find_percents,
    find_relative_deadlines,
    find_weekdays,
    month_names,
    parse_amount,
    parse_number,
    percent_role,
    time_of_day,
)


@pytest.mark.parametrize(("raw", "locale", "value"), [
    ("29,99", "de", "29.99"),
    ("1.250,50", "de", "1250.50"),
    ("1.250,50", "es", "1250.50"),
    ("1 250,50", "fr", "1250.50"),
    ("1\u202f250,50", "fr", "1250.50"),
    ("1,250.50", "en", "1250.50"),
    ("1,250", "en", "1250"),
    ("1,250", "de", "1.250"),
    ("29.99", "de", "29.99"),  # not 2999: a figure the locale cannot read is read the other way round
])
def test_figures_are_read_in_the_locale_format(raw: str, locale: str, value: str) -> None:
    assert parse_amount(raw, locale) == Decimal(value)


@pytest.mark.parametrize(("words", "locale", "value"), [
    ("fifteen", "en", 15), ("twenty-five", "en", 25), ("a hundred", "en", 100),
    ("veinticinco", "es", 25), ("treinta y cinco", "es", 35), ("ciento veinte", "es", 120),
    ("fünfundzwanzig", "de", 25), ("FÜNFZEHN", "de", 15),
    ("soixante-quinze", "fr", 75), ("quatre-vingt-dix", "fr", 90),
])
def test_spelled_out_numbers_are_read(words: str, locale: str, value: int) -> None:
    assert parse_number(words, locale) == value


@pytest.mark.parametrize(("text", "locale", "said", "amount", "currency", "role"), [
    ("Ahora 29,99 € en vez de 39,99 €", "es", "29,99 €", "29.99", "EUR", ""),
    ("Now €29.99", "en", "€29.99", "29.99", "EUR", ""),
    ("Las Cloudstride cuestan 140 US$", "es", "140 US$", "140", "USD", ""),
    ("Nur 29,99 € statt 39,99 €", "de", "39,99 €", "39.99", "EUR", "previous"),
    ("1 250,50 € la paire", "fr", "1 250,50 €", "1250.50", "EUR", ""),
    ("free shipping on orders over $75", "en", "$75", "75", "USD", "threshold"),
    ("Versand ab 50 € gratis", "de", "50 €", "50", "EUR", "threshold"),
    ("$10 off two packs", "en", "$10", "10", "USD", "discount"),
    ("10 € de descuento", "es", "10 €", "10", "EUR", "discount"),
    ("fifty dollars", "en", "fifty dollars", "50", "USD", ""),
    ("USD 140 each", "en", "USD 140", "140", "USD", ""),
    ("shoes under £50", "en", "£50", "50", "GBP", "ceiling"),
])
def test_money_comes_out_with_amount_currency_and_role(text: str, locale: str, said: str, amount: str,
                                                       currency: str, role: str) -> None:
    found = {m.text: m for m in find_money(text, locale)}
    m = found[said]
    assert (m.amount, m.currency, amount_role(text, m, locale)) == (Decimal(amount), currency, role)
    assert text[m.start:m.end] == said


def test_a_currency_inside_a_word_is_no_currency() -> None:
    assert find_money("Europe 5 and 140 eurozone", "en") == []


@pytest.mark.parametrize(("text", "locale", "value", "role"), [
    ("15% off one order", "en", "15", "discount"),
    ("20 % de descuento en zapatillas", "es", "20", "discount"),
    ("20 % Rabatt auf alles", "de", "20", "discount"),
    ("20 % de réduction", "fr", "20", "discount"),
    ("-20 % sur tout", "fr", "20", "discount"),
    ("save 20% today", "en", "20", "discount"),
    ("half off everything", "en", "50", "discount"),
    ("fifteen percent off", "en", "15", "discount"),
    ("veinte por ciento de descuento", "es", "20", "discount"),
    ("95% of testers", "en", "95", "share"),
    ("100% merino", "en", "100", "share"),
    ("Give 100% on race day", "en", "100", ""),
])
def test_percentages_come_out_with_value_and_role(text: str, locale: str, value: str, role: str) -> None:
    [p] = find_percents(text, locale)
    assert (p.value, percent_role(text, p, locale)) == (Decimal(value), role)


@pytest.mark.parametrize(("text", "locale", "said", "ymd", "role"), [
    ("valid until March 19, 2027", "en", "March 19, 2027", (2027, 3, 19), "deadline"),
    ("by the 19th of March", "en", "19th of March", (None, 3, 19), "deadline"),
    ("hasta el 3 de diciembre", "es", "3 de diciembre", (None, 12, 3), "deadline"),
    ("hasta el 3 de diciembre de 2026", "es", "3 de diciembre de 2026", (2026, 12, 3), "deadline"),
    ("bis 3. Dezember", "de", "3. Dezember", (None, 12, 3), "deadline"),
    ("bis zum 3. Dezember", "de", "3. Dezember", (None, 12, 3), "deadline"),
    ("jusqu'au 3 décembre", "fr", "3 décembre", (None, 12, 3), "deadline"),
    ("envíalo el 15 de enero", "es", "15 de enero", (None, 1, 15), "on"),
    ("am 15. Januar verschicken", "de", "15. Januar", (None, 1, 15), "on"),
    ("le 1er décembre 2026", "fr", "1er décembre 2026", (2026, 12, 1), "on"),
    ("después del 3 de marzo", "es", "3 de marzo", (None, 3, 3), "after"),
    ("send on 2027-01-15", "en", "2027-01-15", (2027, 1, 15), "on"),
    ("bis 3. Maerz", "de", "3. Maerz", (None, 3, 3), "deadline"),  # umlaut spelled out
])
def test_dates_come_out_with_their_role(text: str, locale: str, said: str, ymd: tuple[int | None, int, int],
                                         role: str) -> None:
    [d] = find_dates(text, locale)
    assert (d.text, (d.year, d.month, d.day)) == (said, ymd)
    assert date_role(text[:d.start], locale) == role


@pytest.mark.parametrize(("text", "locale"), [
    ("the Cloudstride 3. March on", "en"),  # the German ordinal dot is no date in English
    ("15 marathons", "en"),
    ("you may 5x your miles", "en"),  # "may" is a month only when written as one
    ("bought 3 months ago 15 people", ("en", "es", "de", "fr")),  # "ago 15" is not the 15th of agosto
])
def test_words_that_only_look_like_dates_are_not_dates(text: str, locale: str) -> None:
    assert find_dates(text, locale) == []


def test_month_names_come_from_babel_with_regional_variants() -> None:
    assert month_names("en")["sept"] == 9  # en_GB
    assert month_names("es")["setiembre"] == 9  # es_PE and others
    assert month_names("de")["jänner"] == 1  # de_AT
    assert month_names("fr")["août"] == 8


def test_a_date_without_a_year_is_its_next_occurrence() -> None:
    [d] = find_dates("by March 19", "en")
    assert d.on(date(2026, 11, 20)) == date(2027, 3, 19)
    assert d.on(date(2027, 3, 1)) == date(2027, 3, 19)


@pytest.mark.parametrize(("text", "when"), [
    ("Ends Friday!", 4), ("today only", "today"), ("Termina el viernes", 4), ("solo hoy", "today"),
    ("Endet am Sonntag", 6), ("nur heute", "today"), ("jusqu'à ce soir", "tonight"), ("until tomorrow", "tomorrow"),
])
def test_relative_deadlines_in_four_languages(text: str, when: int | str) -> None:
    [r] = find_relative_deadlines(text, ("en", "es", "de", "fr"))
    assert r.when == when and r.text == text.rstrip("!")


def test_weekdays_in_four_languages_with_or_without_accents() -> None:
    found = find_weekdays("viernes, Freitag, vendredi, Friday, miercoles", ("en", "es", "de", "fr"))
    assert [(w.text, w.weekday) for w in found] == [("viernes", 4), ("Freitag", 4), ("vendredi", 4), ("Friday", 4),
                                                    ("miercoles", 2)]


@pytest.mark.parametrize(("text", "hhmm"), [
    ("at 9am", "09:00"), ("6 pm", "18:00"), ("um 18:30 Uhr", "18:30"), ("a las 9h", "09:00"), ("à 9h", "09:00"),
    ("wait 2h", None),
])
def test_times_of_day(text: str, hhmm: str | None) -> None:
    assert time_of_day(text) == hhmm


@pytest.mark.parametrize(("text", "days", "role"), [
    ("haven't ordered in 9 months", 270, "lapse"),
    ("seit sechs Monaten nicht gekauft", 180, "lapse"),
    ("no han comprado en un año", 365, "lapse"),
    ("wait 2 hours after the cart", 2 / 24, "delay"),
    ("every two weeks", 14, "every"),
    ("in the last 14 days", 14, "window"),
    ("en los últimos 30 días", 30, "window"),
    ("la semaine dernière", 7, "window"),
    ("retours sous 30 jours", 30, ""),
])
def test_durations_and_their_roles(text: str, days: float, role: str) -> None:
    [d] = find_durations(text)
    assert (d.days, d.role) == (pytest.approx(days), role)


def test_durations_without_articles_need_a_number() -> None:
    assert [d.text for d in find_durations("within a day, or 30-day returns", "en", articles=False)] == ["30-day"]


def test_plain_numbers_leave_out_amounts_percentages_and_model_names() -> None:
    assert [n.text for n in find_numbers("9 months, 15%, $60, 5L, 4,001", "en")] == ["9", "4,001"]


def test_free_shipping_and_codes_in_four_languages() -> None:
    text = "Free shipping! Envío gratis. Versandkostenfrei. Livraison offerte."
    assert [text[a:b] for a, b in find_free_shipping(text, ("en", "es", "de", "fr"))] == [
        "Free shipping", "Envío gratis", "Versandkostenfrei", "Livraison offerte"]
    codes = find_introduced_codes("code COMEBACK15, cupón: VUELVE15, Gutscheincode SPRING20, barcode X12",
                                  ("en", "es", "de", "fr"))
    assert [(c.text, c.code) for c in codes] == [("code COMEBACK15", "COMEBACK15"), ("cupón: VUELVE15", "VUELVE15"),
                                                 ("Gutscheincode SPRING20", "SPRING20")]


@pytest.mark.parametrize("text", [
    "1," * 20_000 + "x",
    "1 " * 20_000 + "€",
    "9" * 50_000 + "%",
    "hasta el " * 5_000 + "3 de diciembre",
    " " * 50_000 + "5 days",
    "a" * 50_000,
])
def test_hostile_text_is_read_in_one_pass(text: str) -> None:
    # Patterns with nested or overlapping repeats would not finish on these; each is read correctly.
    langs = ("en", "es", "de", "fr")
    find_money(text, langs)
    find_percents(text, langs)
    find_numbers(text, langs)
    find_durations(text, langs)
    dates = find_dates(text, langs)
    assert [d.text for d in dates] == (["3 de diciembre"] if "diciembre" in text else [])
