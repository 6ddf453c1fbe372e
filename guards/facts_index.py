"""The fact sheet prepared for fast lookups: products by normalized name (exact, prefix and
fuzzy through a token-prefix index), offer codes, and claims; built once per workspace."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz, process

from copilot.text import Token, find_money, normalize, numbers_in, stem, tokenize
from copilot.workspace import ForbiddenClaim, Offer, Product, Workspace

__all__ = ["FactIndex", "fact_index", "Mention", "blank_spans"]


@dataclass(frozen=True)
class Mention:
    product: Product
    start: int
    end: int
    text: str


_ELISION = re.compile(r"(?i)(?:[cdjlmnst]|qu)['’](?=\w)")


@dataclass
class FactIndex:
    exact: dict[str, Product]  # stemmed, normalized name or alias -> product
    names: list[str]  # every stemmed name and alias
    owners: list[Product]  # product of each entry in names
    by_prefix: dict[str, list[int]]  # first 3 letters of a word -> indexes into names
    max_words: int
    codes: dict[str, Offer]
    claim_norms: list[str] = field(default_factory=list)
    claim_numbers: list[set[Decimal]] = field(default_factory=list)
    claim_products: list[set[str]] = field(default_factory=list)  # SKUs each claim names
    brand_words: frozenset[str] = frozenset()
    first_words: frozenset[str] = frozenset()
    caps_words: frozenset[str] = frozenset()  # upper-cased words of product names ("GTX")
    currencies: tuple[str, ...] = ()  # the brand's currency, then any product's own
    text_amounts: frozenset[Decimal] = frozenset()  # amounts the fact sheet's own texts state (offer terms ...)
    # Each forbidden claim's text and examples as word stems (a figure is "#": any figure), by first stem.
    forbidden: dict[str, list[tuple[tuple[str, ...], ForbiddenClaim]]] = field(default_factory=dict)
    testimonial_norms: list[str] = field(default_factory=list)  # approved quotes, normalized
    category_words: frozenset[str] = frozenset()  # the words of the fact sheet's categories ("mystery", "knitwear")
    _mention_cache: dict[tuple[Token, ...], list[Mention]] = field(default_factory=dict, repr=False)
    # What a field states depends only on its text, locale and this fact sheet: read once (facts_claims.py).
    claims_cache: dict[tuple[str, str, str], object] = field(default_factory=dict, repr=False)

    def mentions(self, toks: tuple[Token, ...]) -> list[Mention]:
        """Products named in the text: exact names or aliases, or the first two or more words
        of a name ("Merino Run Socks" for "Merino Run Sock 3-Pack"); longest match wins."""
        cached = self._mention_cache.get(toks)
        if cached is None:
            if len(self._mention_cache) > 4096:
                self._mention_cache.clear()
            cached = self._mention_cache[toks] = self._mentions(toks)
        return list(cached)

    def _mentions(self, toks: tuple[Token, ...]) -> list[Mention]:
        # an elided article is not part of the name: "L'Unlimited Membership", "d'Amalfi"
        stems = [stem(t.norm[len(m.group(0)) - 1:] if (m := _ELISION.match(t.text)) else t.norm) for t in toks]
        out, i = [], 0
        while i < len(toks):
            found = self._longest_at(stems, i)
            if found is None:
                i += 1
                continue
            n, product = found
            after = self._longest_at(stems, i + 1) if n > 1 else None
            if after is not None and after[0] > n - 1:
                i += 1  # a longer name starts on the next word: "the Classic" (an alias) in "The Classic Plan"
                continue
            out.append(Mention(product, toks[i].start, toks[i + n - 1].end, " ".join(t.text for t in toks[i:i + n])))
            i += n
        return out

    def _longest_at(self, stems: list[str], i: int) -> tuple[int, Product] | None:
        """The most words from ``i`` on that name a product, and the product."""
        if i >= len(stems) or stems[i] not in self.first_words:  # no name starts with this word
            return None
        for n in range(min(self.max_words, len(stems) - i), 0, -1):
            key = " ".join(stems[i:i + n])
            product = self.exact.get(key) or (self._prefix_owner(key) if n >= 2 else None)
            if product is not None:
                return n, product
        return None

    def _prefix_owner(self, key: str) -> Product | None:
        if set(key.split()) <= {stem(w) for w in self.brand_words}:
            return None  # "Kinetic House" is the brand, not the start of "Kinetic House Gift Card"
        ids = self.by_prefix.get(key[:3], ())
        owners = {self.owners[j].sku: self.owners[j] for j in ids if self.names[j].startswith(key + " ")}
        return next(iter(owners.values())) if len(owners) == 1 else None

    def nearest(self, phrase: str, cutoff: float = 80) -> tuple[str, Product, float] | None:
        """The closest name on the fact sheet (rapidfuzz ratio over the prefix-index subset)."""
        norm = " ".join(stem(w) for w in normalize(phrase).split())
        ids: set[int] = set()
        for word in norm.split():
            if len(word) >= 3 and not word.isdigit():
                ids.update(self.by_prefix.get(word[:3], ()))
        if not ids:
            return None
        ordered = sorted(ids)
        best = process.extractOne(norm, [self.names[j] for j in ordered], scorer=fuzz.ratio, score_cutoff=cutoff)
        if best is None:
            return None
        return self.names[ordered[best[2]]], self.owners[ordered[best[2]]], best[1]


def fact_index(workspace: Workspace) -> FactIndex:
    """Built once per workspace object and kept in its cache (a Workspace is immutable)."""
    cached = workspace._cache.get("guards.fact_index")
    if cached is None:
        cached = workspace._cache["guards.fact_index"] = _build(workspace)
    return cached


def _text_amounts(workspace: Workspace, currencies: tuple[str, ...]) -> frozenset[Decimal]:
    """Money the fact sheet's own texts state (an offer's terms "matched up to $50,000", a policy, a product's
    description, a claim), in the default language and in each translation's: copy may repeat them."""
    facts = workspace.facts
    texts: list[tuple[str, str]] = []
    default = workspace.brand.default_locale
    for item, key in (*((o, "terms") for o in facts.offers), *((p, "text") for p in facts.policies)):
        texts.append((getattr(item, key), default))
        texts += [(tr.get(key, ""), loc) for loc, tr in item.translations.items()]
    texts += [(p.description, default) for p in facts.products]
    texts += [(c.text, default) for c in facts.claims]
    return frozenset(m.amount for text, loc in texts if text for m in find_money(text, loc, currencies=currencies))


def _caps_words(workspace: Workspace, product_names: list[str]) -> frozenset[str]:
    """Upper-cased words of the brand's own names (products, offers, calendar dates, categories, the brand)
    and the words its voice writes in capitals: "SS27" in "SS27 preview evening" is a name, not a code."""
    facts = workspace.facts
    texts = [*product_names, workspace.brand.name, *(o.name for o in facts.offers),
             *(c.name for c in facts.calendar), *(p.category for p in facts.products),
             *workspace.voice.allowed_caps]
    return frozenset(w.upper() for t in texts if t for w in normalize(t.replace("_", " ")).split())


def _build(workspace: Workspace) -> FactIndex:
    exact: dict[str, Product] = {}
    names: list[str] = []
    owners: list[Product] = []
    by_prefix: dict[str, list[int]] = {}
    for product in workspace.facts.products:
        # its name in the fact sheet's other languages too: a translated variant names it so
        translated = [str(t["name"]) for t in (product.translations or {}).values() if t.get("name")]
        for name in dict.fromkeys((product.name, *product.aliases, *translated)):
            key = " ".join(stem(w) for w in normalize(name).split())
            if not key:
                continue
            exact.setdefault(key, product)
            names.append(key)
            owners.append(product)
            for word in set(key.split()):
                if len(word) >= 3 and not word.isdigit():
                    by_prefix.setdefault(word[:3], []).append(len(names) - 1)
    index = FactIndex(exact=exact, names=names, owners=owners, by_prefix=by_prefix,
                      max_words=max((len(n.split()) for n in names), default=1),
                      codes={o.code: o for o in workspace.facts.offers if o.code},
                      brand_words=frozenset(normalize(workspace.brand.name).split()),
                      first_words=frozenset(n.split()[0] for n in names),
                      caps_words=_caps_words(workspace, names),
                      currencies=tuple(dict.fromkeys([workspace.brand.currency, *(p.currency for p in
                                                                                   workspace.facts.products
                                                                                   if p.currency)])))
    index.text_amounts = _text_amounts(workspace, index.currencies)
    for claim in workspace.facts.forbidden_claims:
        for phrase in (claim.text, *claim.examples):
            form = claim_stems(phrase)
            if form:
                index.forbidden.setdefault(form[0], []).append((form, claim))
    index.testimonial_norms = [normalize(t.quote) for t in workspace.facts.testimonials]
    index.category_words = frozenset(stem(w) for p in workspace.facts.products
                                     for w in p.category.replace("_", " ").lower().split() if len(w) >= 4)
    language = workspace.brand.default_locale
    for claim in workspace.facts.claims:
        toks = tokenize(claim.text)
        mentions = index.mentions(toks)
        stripped = blank_spans(claim.text, [(m.start, m.end) for m in mentions])
        index.claim_norms.append(normalize(claim.text))
        index.claim_numbers.append(numbers_in(stripped, language))
        index.claim_products.append({m.product.sku for m in mentions})
    return index


def claim_stems(text: str) -> tuple[str, ...]:
    """The words of a claim as the forbidden-claim check compares them: stems, a figure as "#"."""
    return tuple("#" if any(c.isdigit() for c in t.norm) else stem(t.norm) for t in tokenize(text))


def blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)
