"""The facts guard reads copy in the variant's language: a Spanish, German or French price, discount
or deadline is held to the fact sheet as an English one is (winback15: 15% off, code COMEBACK15,
ends 2027-03-19; the Cloudstride 3 costs $140)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from copilot.workspace import Workspace, load_workspace
from guards import has_blocking, run_plan

SPANISH = {
    "locale": "es",
    "subject": "15 % de descuento para volver",
    "preheader": "Código COMEBACK15 hasta el 19 de marzo de 2027",
    "body": "Hola {{ first_name }}:\n\nVuelve con un 15 % de descuento en un pedido con el código COMEBACK15 "
            "hasta el 19 de marzo de 2027. Las Cloudstride 3 cuestan 140 US$.",
    "cta_text": "Come back for 15% off",
}
GERMAN = {
    "locale": "de",
    "subject": "15 % Rabatt für deine Rückkehr",
    "preheader": "Code COMEBACK15 bis 19. März 2027",
    "body": "Hallo {{ first_name }},\n\nkomm zurück: 15 % Rabatt auf eine Bestellung mit dem Code COMEBACK15 "
            "bis 19. März 2027. Der Cloudstride 3 kostet 140,00 $.",
    "cta_text": "Come back for 15% off",
}


def _facts(findings):  # type: ignore[no-untyped-def]
    return sorted((f.code, f.field, f.evidence.get("text")) for f in findings if f.guard == "facts")


@pytest.mark.parametrize("variant", [SPANISH, GERMAN], ids=["es", "de"])
def test_a_variant_stating_the_fact_sheet_in_its_own_language_passes(make_plan, demo_workspace, variant) -> None:  # type: ignore[no-untyped-def]
    assert _facts(run_plan(make_plan(**variant), demo_workspace)) == []


@pytest.mark.parametrize(("variant", "price", "wrong_price", "deadline", "wrong_deadline"), [
    (SPANISH, "140 US$", "130 US$", "19 de marzo de 2027", "3 de diciembre"),  # "hasta el 3 de diciembre"
    (GERMAN, "140,00 $", "139,99 $", "19. März 2027", "3. Dezember"),  # "bis 3. Dezember"
], ids=["es", "de"])
def test_a_variant_with_a_wrong_price_and_a_wrong_date_is_blocked(make_plan, demo_workspace, variant, price: str,  # type: ignore[no-untyped-def]
                                                                   wrong_price: str, deadline: str,
                                                                   wrong_deadline: str) -> None:
    body = variant["body"].replace(price, wrong_price).replace(deadline, wrong_deadline)
    findings = run_plan(make_plan(**{**variant, "body": body}), demo_workspace)
    facts = _facts(findings)
    assert ("FACT_PRICE_MISMATCH", "body", wrong_price) in facts
    assert ("FACT_DATE_UNGROUNDED", "body", wrong_deadline) in facts
    assert has_blocking(findings)
    price_finding = next(f for f in findings if f.code == "FACT_PRICE_MISMATCH")
    assert price_finding.evidence["fact_price"] == "140.0" and price_finding.fix == "Use $140."
    date_finding = next(f for f in findings if f.code == "FACT_DATE_UNGROUNDED")
    assert "deadline" in date_finding.message  # "hasta el", "bis": only an offer's end date grounds it


@pytest.mark.parametrize(("locale", "said"), [
    ("es", "un 20 % de descuento"),
    ("de", "20 % Rabatt"),
    ("fr", "20 % de réduction"),
    ("de", "-20 %"),
])
def test_a_discount_of_another_offer_in_another_language_is_blocked(make_plan, demo_workspace, locale: str,  # type: ignore[no-untyped-def]
                                                                    said: str) -> None:
    body = f"{said} con el código COMEBACK15." if locale == "es" else f"{said} mit Code COMEBACK15."
    findings = run_plan(make_plan(locale=locale, body=body), demo_workspace)
    # 20% off is the spring sale's, which this plan does not include
    assert ("FACT_OFFER_NOT_IN_PLAN", "body") in {(f.code, f.field) for f in findings}


def test_a_french_deadline_is_read_as_one(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    ok = "15 % de réduction avec le code COMEBACK15 jusqu'au 19 mars 2027."
    assert _facts(run_plan(make_plan(locale="fr", body=ok, preheader="Code COMEBACK15"), demo_workspace)) == []
    wrong = ok.replace("19 mars 2027", "3 décembre")
    facts = _facts(run_plan(make_plan(locale="fr", body=wrong, preheader="Code COMEBACK15"), demo_workspace))
    assert ("FACT_DATE_UNGROUNDED", "body", "3 décembre") in facts


def test_a_price_in_a_currency_the_brand_does_not_sell_in_is_blocked_in_any_language(make_plan, demo_workspace) -> None:  # type: ignore[no-untyped-def]
    body = GERMAN["body"].replace("140,00 $", "140,00 €")
    assert ("FACT_CURRENCY_MISMATCH", "body", "140,00 €") in _facts(
        run_plan(make_plan(**{**GERMAN, "body": body}), demo_workspace))


@pytest.fixture
def euro_workspace(tmp_path: Path, demo_workspace: Workspace) -> Workspace:
    """The demo brand selling in euros, in four languages, with a price that has cents."""
    folder = tmp_path / "euro"
    shutil.copytree(demo_workspace.path, folder)
    brand = yaml.safe_load((folder / "brand.yaml").read_text(encoding="utf-8"))
    brand.update(currency="EUR", locales=["en", "es", "de", "fr"])
    (folder / "brand.yaml").write_text(yaml.safe_dump(brand, allow_unicode=True), encoding="utf-8")
    facts = yaml.safe_load((folder / "facts.yaml").read_text(encoding="utf-8"))
    for product in facts["products"]:
        if product["name"] == "Tempo Fly":
            product["price"] = 1249.5
    (folder / "facts.yaml").write_text(yaml.safe_dump(facts, allow_unicode=True), encoding="utf-8")
    return load_workspace(folder)


@pytest.mark.parametrize(("locale", "price", "grounded"), [
    ("de", "1.249,50 €", True),
    ("es", "1249,50 €", True),
    ("fr", "1 249,50 €", True),
    ("en", "€1,249.50", True),
    ("de", "1.249,00 €", False),
    ("es", "1.294,50 €", False),
    ("en", "€1,294.50", False),
])
def test_euro_prices_are_read_in_the_variant_locale_format(make_plan, euro_workspace, locale: str, price: str,  # type: ignore[no-untyped-def]
                                                           grounded: bool) -> None:
    body = f"15 % — code COMEBACK15 — 19/03/2027. Tempo Fly: {price}."
    facts = _facts(run_plan(make_plan(locale=locale, body=body, preheader="Code COMEBACK15"), euro_workspace))
    mismatches = [f for f in facts if f[0] == "FACT_PRICE_MISMATCH"]
    assert mismatches == ([] if grounded else [("FACT_PRICE_MISMATCH", "body", price)])
