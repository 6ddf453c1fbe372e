"""Playbook copy in other languages: every string of every playbook is translated in each language the
catalogs ship, with the same placeholders, and a plan for a brand that lists those languages is written
in them (scripts/extract_playbook_strings.py keeps the catalogs in step with the playbooks)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from copilot.plan import Plan
from copilot.planner.base import PlanRequest
from copilot.planner.offline import OfflinePlanner
from copilot.playbooks import load_playbooks
from copilot.playbooks.catalogs import LOCALES_DIR, catalog_languages, translate
from copilot.playbooks.extraction import COMMON, main, playbook_strings, untranslated, update_catalogs
from copilot.playbooks.library import PLAYBOOK_DIR
from copilot.workspace import load_workspace

SHIPPED = ["de", "es", "fr"]
BRANDS = Path(__file__).resolve().parents[2] / "copilot" / "brands"
# what must reach a translation unchanged: [[placeholders]], {{ merge fields }}, {format fields}, Markdown bold
_TOKENS = re.compile(r"\[\[[^\]]+\]\]|\{\{\s*[a-z_][a-z0-9_]*\s*\}\}|(?<!\{)\{[a-z_]+\}(?!\})|\*\*")


def _tokens(text: str) -> Counter[str]:
    return Counter(re.sub(r"\s+", "", t) for t in _TOKENS.findall(text))


def _catalog_files() -> list[Path]:
    return sorted(LOCALES_DIR.glob("*/*.po"))


def test_the_catalogs_ship_spanish_german_and_french() -> None:
    assert set(SHIPPED) <= set(catalog_languages())
    for lang in SHIPPED:
        names = {p.stem for p in (LOCALES_DIR / lang).glob("*.po")}
        assert names >= {COMMON, *(b.id for b in load_playbooks())}, f"{lang}: a playbook has no catalog"


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_string_of_every_playbook_has_a_translation(lang: str) -> None:
    """The extractor's --check, as a function: it covers whatever playbooks exist, new ones included."""
    assert untranslated([lang]) == []


def test_check_mode_exits_0_when_everything_is_translated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", *(f"--lang={lang}" for lang in SHIPPED)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("path", _catalog_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_translation_keeps_the_placeholders_merge_fields_and_markdown_of_the_english(path: Path) -> None:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=path.parent.name)
    checked = 0
    for message in catalog:
        if not message.id or not message.string:
            continue
        assert isinstance(message.id, str) and isinstance(message.string, str)
        assert _tokens(message.string) == _tokens(message.id), (
            f"{path.parent.name}/{path.name}: {message.id!r} -> {message.string!r}")
        assert message.string.strip() == message.string, f"{path.name}: stray spaces in {message.string!r}"
        checked += 1
    assert checked, f"{path} holds no translation"


def test_check_lists_every_untranslated_string_and_update_keeps_what_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books, locales = tmp_path / "playbooks", tmp_path / "locales"
    books.mkdir()
    shutil.copy(PLAYBOOK_DIR / "back_in_stock.yaml", books)
    book = next(b for b in load_playbooks(books))
    english = [e.text for e in playbook_strings(book)]
    assert "[[product_name]] is back in stock" in english and "See the details" in english
    assert not any(t.startswith("[[") and t.endswith("]]") for t in english)  # placeholders alone need no words

    update_catalogs(["es"], books, locales)
    missing = untranslated(["es"], books, locales)
    assert "es/back_in_stock.po: 'See the details'" in missing
    assert any(line.startswith("es/common.po: 'Valid until {date}.'") for line in missing)

    po = locales / "es" / "back_in_stock.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgid "See the details"\nmsgstr ""',
                                                         'msgid "See the details"\nmsgstr "Ver los detalles"'),
                  encoding="utf-8")
    # the English changes: a new string appears, the old one's translation is kept as obsolete
    text = (books / "back_in_stock.yaml").read_text(encoding="utf-8")
    (books / "back_in_stock.yaml").write_text(text.replace("cta: See the details", "cta: Take a look", 1),
                                              encoding="utf-8")
    load_playbooks.cache_clear()
    update_catalogs(["es"], books, locales)
    written = po.read_text(encoding="utf-8")
    assert '#~ msgid "See the details"\n#~ msgstr "Ver los detalles"' in written
    assert 'msgid "Take a look"\nmsgstr ""' in written
    assert "es/back_in_stock.po: 'Take a look'" in untranslated(["es"], books, locales)
    # a second run with nothing new rewrites nothing
    assert update_catalogs(["es"], books, locales) == []


def test_the_copywriters_own_words_are_translated() -> None:
    assert translate("Use code **{code}** at checkout.", "es") == "Usa el código **{code}** al pagar."
    assert translate("{value}% off", "de-DE") == "{value} % Rabatt"
    assert translate("month", "fr", "[[period]]") == "ce mois-ci"
    assert translate("month", "fr") is None  # the period words exist only under their context
    assert translate("[[offer_sentence]]", "es") == "[[offer_sentence]]"


# (bundled brand, the language it lists besides English, a brief its workspace can plan)
_PLANS = [
    ("sprig", "es", "Win back customers who haven't ordered in 90 days"),
    ("harbortable", "es", "Welcome series for new subscribers"),
    ("pagewise", "de", "monthly newsletter to all subscribers"),
    ("kinetichouse", "fr", "Welcome series for new subscribers"),
]


def _english_sentences(book_id: str) -> set[str]:
    """The playbook's English (and the copywriter's) wording, as runs of three or more words between
    placeholders: any of them in a translated variant is English left in it."""
    book = next(b for b in load_playbooks() if b.id == book_id)
    out = set()
    for entry in playbook_strings(book):
        for run in re.split(r"\[\[[^\]]+\]\]|\{\{[^}]+\}\}|[.?!:]\s", entry.text):
            run = run.strip(" .,:;!?*")
            if len(run.split()) >= 3:
                out.add(run)
    return out


def _plan(brand: str, brief: str, folder: Path | None = None):  # type: ignore[no-untyped-def]
    ws = load_workspace(folder or BRANDS / brand)
    assert brief
    return OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=ws))


@pytest.mark.parametrize(("brand", "lang", "brief"), _PLANS, ids=[f"{b}-{lang}" for b, lang, _ in _PLANS])
def test_a_plan_for_a_brand_with_another_language_writes_every_variant_in_it(brand: str, lang: str,
                                                                              brief: str) -> None:
    answer = _plan(brand, brief)
    plan = answer.plan
    assert isinstance(plan, Plan), answer.questions
    english = [v for v in plan.variants if v.locale == "en"]
    local = [v for v in plan.variants if v.locale == lang]
    assert english and len(local) == len(english)  # one translated variant per English one
    assert {(v.segment, v.message, v.key) for v in local} == {(v.segment, v.message, v.key) for v in english}
    sentences = _english_sentences(plan.goal)
    assert sentences
    for v in local:
        copy = "\n".join((v.subject, v.preheader, v.body, v.cta_text))
        left = sorted(s for s in sentences if s.lower() in copy.lower())
        assert left == [], f"{v.segment} / {v.message} / {v.key} ({lang}) keeps English: {left}"
        assert not re.search(r"\bcustomers\b", copy), copy  # [[customers]] in the reader's language too
        assert all(m.fallback != "there" for m in v.merge_fields)  # "Hi there" stays English only
    # the English variants are untouched by the catalogs
    assert any(s.lower() in "\n".join(v.body for v in english).lower() for s in sentences)
    assert not any("playbooks have no" in n for n in answer.notes)


def test_the_newsletter_names_its_period_in_the_readers_language() -> None:
    plan = _plan("pagewise", "monthly newsletter to all subscribers").plan
    assert plan is not None
    german = [v for v in plan.variants if v.locale == "de"]
    assert any("diesen Monat" in v.subject or "diesen Monat" in v.body for v in german)
    assert any("jeden Monat" in v.subject for v in german)  # variant B: "Your monthly notes"
    assert not any(re.search(r"\bmonth(ly)?\b", v.subject + v.body) for v in german)


def test_what_stays_english_is_said_once_per_plan_not_once_per_variant(tmp_path: Path) -> None:
    """A language the catalogs lack, and a fact with no translation, each get one note for the plan."""
    folder = tmp_path / "sprig"
    shutil.copytree(BRANDS / "sprig", folder)
    brand = yaml.safe_load((folder / "brand.yaml").read_text(encoding="utf-8"))
    brand["locales"] = [*brand["locales"], "it"]
    (folder / "brand.yaml").write_text(yaml.safe_dump(brand, allow_unicode=True), encoding="utf-8")
    facts = yaml.safe_load((folder / "facts.yaml").read_text(encoding="utf-8"))
    for offer in facts["offers"]:
        offer.get("translations", {}).pop("es", None)
    (folder / "facts.yaml").write_text(yaml.safe_dump(facts, allow_unicode=True), encoding="utf-8")

    answer = _plan("sprig", "Win back customers who haven't ordered in 90 days", folder)
    plan = answer.plan
    assert plan is not None and plan.offers, answer.notes
    spanish = [v for v in plan.variants if v.locale == "es"]
    assert len(spanish) > 1 and not any(v.locale == "it" for v in plan.variants)
    readers = [n for n in answer.notes if n.startswith("Readers of it ")]
    kept = [n for n in answer.notes if n.startswith("The es copy keeps")]
    assert len(readers) == 1 and len(kept) == 1, answer.notes
    assert "facts.yaml has no es translation" in kept[0]
    assert "playbook's copy" not in kept[0]  # the playbook's own lines are all translated


def test_a_translated_variant_uses_the_brands_cta_in_its_language_and_the_tone_guard_accepts_it() -> None:
    """voice.yaml lists a stage's CTAs in one list, whatever their language: a Spanish variant takes the
    brand's Spanish one; a brand with English CTAs only gets the catalog's translation of one, which the
    tone guard reads as that CTA."""
    from guards import run_plan

    sprig = load_workspace(BRANDS / "sprig")
    plan = _plan("sprig", "Win back customers who haven't ordered in 90 days").plan
    assert plan is not None
    listed = sprig.voice.cta_rules["winback"]
    spanish = {v.cta_text for v in plan.variants if v.locale == "es"}
    english = {v.cta_text for v in plan.variants if v.locale == "en"}
    assert spanish and spanish <= set(listed) and not spanish & english
    assert not [f for f in run_plan(plan, sprig) if f.code == "TONE_CTA_STAGE"]

    demo = load_workspace()
    answer = OfflinePlanner().plan_now(PlanRequest(brief="folks who ditched their carts", workspace=demo))
    assert answer.plan is not None
    local = [v for v in answer.plan.variants if v.locale != "en"]
    assert local and not any(v.cta_text in demo.voice.cta_rules["cart"] for v in local)
    assert not [f for f in run_plan(answer.plan, demo) if f.code == "TONE_CTA_STAGE"]


def test_a_sourced_claim_is_left_out_of_other_languages_and_noted_once() -> None:
    """Claims are stated word for word as sourced, in English: a German email leaves [[product_claim]] out."""
    demo = load_workspace()
    answer = OfflinePlanner().plan_now(PlanRequest(brief="back in stock Cloudstride 3", workspace=demo))
    plan = answer.plan
    assert plan is not None and plan.goal == "back_in_stock"
    claims = [c.text.rstrip(".") for c in demo.facts.claims]
    english = "\n".join(v.body for v in plan.variants if v.locale == "en")
    assert any(c in english for c in claims)  # the English email states it
    for v in plan.variants:
        if v.locale != "en":
            assert not [c for c in claims if c in v.body], v.body
    notes = [n for n in answer.notes if n.startswith("The de copy keeps")]
    assert len(notes) == 1 and "the claim " in notes[0]


def _suite_plan(brand: str, test_id: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    path = Path(__file__).resolve().parents[2] / "evals" / "suites" / "brands" / f"{brand}.yaml"
    suite = yaml.safe_load(path.read_text(encoding="utf-8"))
    ws = load_workspace((path.parent / suite["defaults"]["workspace"]).resolve())
    now = datetime.fromisoformat(str(suite["defaults"]["now"]).replace("Z", "+00:00"))
    test = next(t for t in suite["tests"] if t["id"] == test_id)
    return ws, OfflinePlanner().plan_now(PlanRequest(brief=test["brief"], workspace=ws, now=now)).plan


@pytest.mark.parametrize(("brand", "test_id"), [
    ("harbortable", "rambling-lapsed-volunteers"),  # names a product by its Spanish name from facts.yaml
    ("kinetichouse", "winback-former-members"),  # quotes the offer's French terms ("... il y a au moins 90 jours")
    ("sprig", "winback-one-word"),
    ("pagewise", "winback-cancelled-plus"),
])
def test_translated_variants_add_no_blocking_finding_to_what_the_english_ones_have(brand: str, test_id: str) -> None:
    from guards import run_plan

    ws, plan = _suite_plan(brand, test_id)
    if plan is None:
        pytest.skip(f"{brand}/{test_id}: the offline planner asks a question for this brief")
    default = ws.brand.default_locale

    def blocking(variants):  # type: ignore[no-untyped-def]
        sub = plan.model_copy(update={"variants": variants})
        return {(f.segment, f.message_key, f.variant, f.code) for f in run_plan(sub, ws) if f.blocks}

    english = blocking([v for v in plan.variants if v.locale == default])
    for lang in sorted({v.locale for v in plan.variants} - {default}):
        extra = blocking([v for v in plan.variants if v.locale == lang]) - english
        assert not extra, f"{lang}: {sorted(extra)}"


def test_each_languages_variant_keeps_its_own_findings() -> None:
    """A plan's French arm and English arm of one email are two variants: their findings carry the
    language, neither drops the other's, and the review page shows each under its own variant."""
    from guards import run_plan
    from review_ui.views import plan_view

    ws, plan = _suite_plan("kinetichouse", "winback-former-members")
    assert plan is not None
    # the same invented discount in every English and French variant: a finding in each language
    invented = {"fr": "\n\nÉconomisez 60 % aujourd'hui."}
    plan = plan.model_copy(update={"variants": [
        v.model_copy(update={"body": v.body + invented.get(v.locale, "\n\nSave 60% today.")}) for v in plan.variants]})
    findings = [f for f in run_plan(plan, ws) if f.variant]
    english = {(f.segment, f.message_key, f.variant, f.code) for f in findings if f.locale is None}
    french = [f for f in findings if f.locale == "fr"]
    assert english and french
    assert {(f.segment, f.message_key, f.variant, f.code) for f in french} & english  # the same problem in both
    assert not {f.fingerprint for f in french} & {f.fingerprint for f in findings if f.locale is None}
    assert all("(fr)" in f.label for f in french)
    view = plan_view(plan, None, findings, workspace=ws)
    for v in view.variants:
        assert all((f.locale or ws.brand.default_locale) == v.variant.locale for f in v.findings)
    assert sum(len(v.findings) for v in view.variants) == len(findings)
