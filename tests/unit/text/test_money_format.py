"""copilot.text.format_amount: an amount as the brand's readers write it (the currency's home spelling)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copilot.text import find_money, format_amount
from copilot.text.money import amount_role


@pytest.mark.parametrize(("amount", "currency", "locale", "written"), [
    ("140", "USD", "en", "$140"), ("14.5", "USD", "en", "$14.50"), ("45", "CAD", "en", "$45"),
    ("45", "CAD", "fr", "45\u00a0$"), ("38", "EUR", "en", "€38"), ("38", "EUR", "de", "38\u00a0€"),
    ("15", "GBP", "en", "£15"), ("1990", "CAD", "en", "$1,990"),
])
def test_amounts_are_written_as_the_currencys_home_writes_them(amount: str, currency: str, locale: str,
                                                                written: str) -> None:
    assert format_amount(Decimal(amount), currency, locale) == written


def test_a_dollar_sign_is_the_brands_own_dollar() -> None:
    # a Canadian brand's "$45" is 45 CAD, as its fact sheet writes it; other brands' "$" stays USD
    assert [m.currency for m in find_money("the workshop is $45", "en", currencies=("CAD",))] == ["CAD"]
    assert [m.currency for m in find_money("the workshop is $45", "en", currencies=("EUR",))] == ["USD"]


def test_saving_an_amount_is_a_discount_but_up_to_is_not() -> None:
    text = "Save $200 when you switch. Matched up to $50,000."
    roles = [amount_role(text, m, "en") for m in find_money(text, "en")]
    assert roles == ["discount", ""]
