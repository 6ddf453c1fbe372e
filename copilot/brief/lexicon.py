"""The vocabulary a brief is read against, built once per workspace version: the playbooks' words,
the catalog's field and event names, audience, risky-field, injection, channel and tone phrases,
and the fact sheet's products, categories, offers and calendar moments, in one phrase matcher."""

from __future__ import annotations

import re

from pydantic import TypeAdapter

from copilot.brief.reading import AudienceHint
from copilot.plan import EventRule, FieldRule, LastPerformedRule, Rule
from copilot.playbooks import Playbook, Vocabulary, fit_playbook, load_playbooks, load_vocabulary
from copilot.rules import walk_rule
from copilot.text import FILLER_WORDS, Phrase, PhraseMatcher, graded_cutoff, normalize
from copilot.workspace import Workspace
from copilot.workspace.roles import ROLES, resolve_role_refs

__all__ = ["Lexicon", "brief_form", "lexicon", "STRONG", "EVENT", "WEAK"]

STRONG, EVENT, WEAK = 3, 2, 1
_HYPHENATED = 97
_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


def brief_form(text: str) -> str:
    """A phrase as the brief reader matches it: folded, hyphenated words joined ("win-back" -> "winback")."""
    return normalize(text, join_hyphens=True)


def _phrase(name: str) -> str:
    return brief_form(name.replace("_", " "))


# The brief's vocabulary is read side by side (a goal, an event and a product may share words), typo-tolerant:
# hyphens join ("win-back" is "winback"), articles and possessives are skipped, long phrases take a word
# more or less, and each kind keeps its best hits.
_FILLER = frozenset(normalize(w) for words in FILLER_WORDS.values() for w in words)


def _vocabulary_matcher(phrases: list[Phrase]) -> PhraseMatcher:
    return PhraseMatcher(phrases, cutoff=graded_cutoff, ignore=_FILLER, join_hyphens=True, slack=1, words="similar",
                         keep="best_per_label")


def _rule_names(rule: Rule) -> tuple[list[str], list[str]]:
    fields, events = [], []
    for _, node in walk_rule(rule, ""):
        if isinstance(node, FieldRule):
            fields.append(node.field)
        elif isinstance(node, (EventRule, LastPerformedRule)):
            events.append(node.event)
    return fields, events


class Lexicon:
    """Everything a brief is read against for one workspace: the playbooks' moment words, then the
    workspace's own words (field and event names and words, enum values' words, named audiences,
    what it calls its customers, products, categories, offers and dates)."""

    def __init__(self, workspace: Workspace, books: tuple[Playbook, ...], vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.books = {b.id: fit_playbook(b, workspace).book for b in books}
        cart = workspace.role_event("cart")
        self.cart_event = cart.name if cart is not None else None
        customers = [brief_form(w) for w in workspace.brand.customer_words]
        entries: list[Phrase] = []
        for b in books:
            entries += [Phrase(p, "goal", b.id, STRONG) for p in _with_customer_words(b.vocabulary, customers)]
            entries += [Phrase(p, "goal", b.id, WEAK) for p in _with_customer_words(b.weak_vocabulary, customers)]
        for e in workspace.catalog.events:
            entries += [Phrase(w, "event", e.name, EVENT) for w in _event_words(workspace, e.name, e.words)]
        for f in workspace.catalog.fields:
            entries += [Phrase(w, "field", f.name) for w in (_phrase(f.name), *f.words)]
        self.audience: list[AudienceHint] = []
        shorts = [short for p in workspace.facts.products for short in set(_short_names(
            (p.name, *p.aliases, *(tr.get("name", "") for tr in p.translations.values()))))]
        shared_shorts = {s for s in shorts if shorts.count(s) > 1}

        def audience(label: str, phrases: list[str], rule: Rule) -> None:
            if isinstance(rule, FieldRule) and rule.op == "eq" and isinstance(rule.value, str):
                field = workspace.field(rule.field)
                words = field.value_words.get(rule.value) if field is not None else None
                label = words[0] if words else label  # the brand's own name for the group
            fields, events = _rule_names(rule)
            self.audience.append(AudienceHint(label, "", rule, tuple(fields), tuple(events)))
            # a hyphenated word ("ex-subscribers") reads as one word: only an exact hit counts, never
            # the plain word inside it ("subscribers"), which names the opposite group
            entries.extend(Phrase(p, "audience", str(len(self.audience) - 1), cutoff=_HYPHENATED if "-" in p else 0)
                           for p in _with_customer_words(phrases, customers))

        # the brand's own words for a group win over the shared vocabulary's ("active subscribers" is
        # sprig's plan_status=active, not the vocabulary's recent clickers)
        own = {brief_form(p) for a in workspace.catalog.audiences for p in a.phrases} | {
            brief_form(w) for f in workspace.catalog.fields for words in f.value_words.values() for w in words}
        for a in vocab.audience:
            data, missing = resolve_role_refs(a.rule.model_dump(mode="json"), workspace)
            phrases = [p for p in a.phrases if brief_form(p) not in own]
            if not missing and phrases:
                audience(a.label, phrases, _RULE.validate_python(data))
        for a in workspace.catalog.audiences:
            audience(a.label, a.phrases, _RULE.validate_python(a.rule))
        for f in workspace.catalog.fields:
            for value, words in f.value_words.items():
                if words:
                    # the value's own name typed with a hyphen ("sale-only shoppers" for sale_only) names it too
                    joined = [value.replace("_", "-")] if "_" in value else []
                    audience(words[0], [*words, *joined], FieldRule(field=f.name, op="eq", value=value))
        locale_field = workspace.role_field("locale")
        for code in workspace.brand.locales:
            if locale_field is not None and code != workspace.brand.default_locale:
                audience(*_speakers(code, workspace.brand.locales), FieldRule(field=locale_field.name, op="eq",
                                                                              value=code))
        for concept in vocab.risky_concepts:
            for f in workspace.catalog.fields:
                if _concept_fits(concept.match, f.name, f.words):
                    entries += [Phrase(p, "field", f.name) for p in concept.phrases]
        entries += [Phrase(p, "injection", "injection", cutoff=88) for p in vocab.injection]
        for channel, phrases in vocab.channels.items():
            entries += [Phrase(p, "channel", channel) for p in phrases]
        for tone, phrases in vocab.tones.items():
            entries += [Phrase(p, "tone", tone) for p in phrases]
        for p in workspace.facts.products:
            names = (p.name, *p.aliases, p.sku, *(tr.get("name", "") for tr in p.translations.values()))
            entries += [Phrase(name, "product", p.sku, cutoff=88) for name in names if name]
            # a name is also said without its "of"/"de" tail ("le Chemin portugais" for "Chemin portugais de
            # Compostelle"), when that short form names no other product
            entries += [Phrase(short, "product", p.sku, cutoff=92) for short in _short_names(names)
                        if short not in shared_shorts]
        preferred = workspace.role_field("preferred_category")
        for value in (preferred.values if preferred is not None else []):
            # the values of the field that holds the preferred category are the brand's categories too
            # ("Mexican recipes" for sprig's favorite_cuisine: mexican), as its events' category property has them
            entries += [Phrase(_phrase(value), "category", value, cutoff=95)]
        for category in sorted({p.category for p in workspace.facts.products}):
            words = _phrase(category)
            entries += [Phrase(words, "category", category), Phrase(words.rstrip("s"), "category", category)]
        for o in workspace.facts.offers:
            names = _without_years((o.name, *o.words, *(tr.get("name", "") for tr in o.translations.values())))
            entries += [Phrase(n, "offer", o.id, cutoff=88) for n in names if n]
            entries.append(Phrase(_phrase(o.id), "offer", o.id, cutoff=95))
        for c in workspace.facts.calendar:
            names = _without_years((c.name, *c.words, *(tr.get("name", "") for tr in c.translations.values())))
            entries += [Phrase(n, "calendar", c.id, cutoff=88) for n in names if n]
            entries.append(Phrase(_phrase(c.id), "calendar", c.id))
        self.matcher = _vocabulary_matcher(entries)
        self.countries = re.compile(
            r"\b(?:in|from|based in|living in|en|de|desde|aus|nach)\s+(?:the\s+)?(" + "|".join(
                sorted((re.escape(n) for ns in vocab.countries.values() for n in ns), key=len, reverse=True)) +
            r")\b", re.I)
        self.country_codes = {n.lower(): code for code, ns in vocab.countries.items() for n in ns}
        self.exclusion = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(vocab.exclusion_words,
                                                                                   key=len, reverse=True)) + r")\b",
                                    re.I)


_TAIL = re.compile(r"\s+(?:of|by|de|del|de la|des|du|von|vom|der)\s+\S.*$", re.I)


def _short_names(names: tuple[str, ...]) -> list[str]:
    """Product names without their "of/by/de/von" tail, when two words or more remain."""
    out = []
    for n in names:
        short = _TAIL.sub("", n or "").strip()
        words = short.lower().split()
        if short != n and len(words) >= 2 and words[0] not in _ARTICLES and words[-1] not in _LINKS:
            out.append(short)
    return out


_ARTICLES = frozenset("the a an le la les l' un une el los las die der das ein eine".split())
_LINKS = frozenset("with and mit und avec et con y au aux à para por en in on".split())


_YEAR = re.compile(r"\s*\b(?:19|20)\d\d\b\s*")


def _without_years(names: tuple[str, ...]) -> list[str]:
    """Names as written, and without a year ("Early booking 2027" is also "early booking"), as briefs say them."""
    out = [n for n in names if n]
    for n in names:
        bare = _YEAR.sub(" ", n or "").strip(" -:,")
        if bare and bare != n and len(bare.split()) >= 2:
            out.append(bare)
    return list(dict.fromkeys(out))


def _event_words(workspace: Workspace, name: str, own: list[str]) -> list[str]:
    """How a brief may name an event: its name either way round ("checkout started", "started checkout"),
    its catalog words, and the words of the role it plays ("waitlist" for the restock request)."""
    words = [_phrase(name), *own]
    parts = _phrase(name).split()
    if len(parts) == 2:
        words.append(f"{parts[1]} {parts[0]}")
    played = workspace.role_of(name)
    found = ROLES.get(played) if played else None
    if found is not None and found.kind == "event":
        words += [w for w in found.words if len(w) > 3]
    return list(dict.fromkeys(words))


_CUSTOMER_NOUNS = ("customers", "customer", "buyers", "subscribers")


def _with_customer_words(phrases: list[str], customers: list[str]) -> list[str]:
    """Each phrase, and its variants with the brand's word for customers ("lapsed customers" ->
    "lapsed members" for a brand that calls its customers members)."""
    out = list(phrases)
    for phrase in phrases:
        for noun in _CUSTOMER_NOUNS:
            if re.search(rf"\b{noun}\b", phrase):
                out += [re.sub(rf"\b{noun}\b", word, phrase) for word in customers]
                break
    return list(dict.fromkeys(out))


def _concept_fits(match: list[str], name: str, words: list[str]) -> bool:
    """Does a field hold this kind of data: one of ``match`` among its name's words or its own words?"""
    mine = set(name.lower().split("_")) | {w for phrase in words for w in re.findall(r"[a-z]+", phrase.lower())}
    return bool(mine & {m.lower() for m in match})


def _speakers(code: str, locales: list[str]) -> tuple[str, list[str]]:
    """'Spanish speakers' and how briefs in the brand's languages say it (Babel's language names)."""
    from babel import Locale, UnknownLocaleError

    try:
        english = Locale("en").languages.get(code.split("-")[0].split("_")[0], code)
    except UnknownLocaleError:
        english = code
    names = {english.lower()}
    for other in locales:
        try:
            names.add(Locale.parse(other.replace("-", "_")).languages.get(code.split("-")[0], english).lower())
        except (UnknownLocaleError, ValueError):
            continue
    phrases = [f"{n} speakers" for n in sorted(names)] + [f"{n} speaking" for n in sorted(names)] + \
        [f"{n} readers" for n in sorted(names)]
    return f"{english} speakers", phrases


_LEXICONS: dict[tuple[str, int], Lexicon] = {}


def lexicon(workspace: Workspace) -> Lexicon:
    books, vocab = load_playbooks(), load_vocabulary()
    key = (workspace.content_hash, id(books))
    if key not in _LEXICONS:
        if len(_LEXICONS) > 16:
            _LEXICONS.clear()
        _LEXICONS[key] = Lexicon(workspace, books, vocab)
    return _LEXICONS[key]
