"""The offline planner's choices of offer and product for a plan: from the brief's words and the
fact sheet only; what cannot be settled that way becomes a question, what was left out a note."""

from __future__ import annotations

from copilot.brief import BriefReading
from copilot.planner.copywriter import long_date, money, offer_period, offer_short
from copilot.workspace import Offer

__all__ = ["OfferAndProduct", "unknown_product_text"]


def unknown_product_text(reading: BriefReading) -> str:
    """What to say when the brief names a product the fact sheet lacks ("Cloudstride 4")."""
    typed, nearest = reading.unknown_products[0]
    return (f"{typed} is not on the fact sheet (the closest product it lists is {nearest}), so the copy cannot "
            "name it, price it or link to it. Add it to facts.yaml and ask again, or name a product the fact "
            "sheet lists.")


class OfferAndProduct:
    """Mixin of the composer (state in copilot.planner.compose._Composer): offer and product choice."""

    # -- offer --------------------------------------------------------------------------------------
    def _offer_list(self) -> str:
        cur = self.ws.brand.currency
        items = [f"{o.name} ({offer_short(o, cur)}{', code ' + o.code if o.code else ''}, "
                 f"{offer_period(o)})" for o in self.ws.facts.offers]
        return "; ".join(items) if items else "no offers at all"

    def _hint_offer(self) -> Offer | None:
        hint = self.book.offer
        live = [o for o in self.ws.facts.offers if not o.ends_by(self.today)]
        by_kind = [o for o in live if o.kind in hint.kinds]
        words = [w.lower() for w in hint.audience_words]
        by_words = [o for o in live if any(w in f"{o.name} {o.audience} {o.terms}".lower() for w in words)]
        both = [o for o in by_kind if o in by_words]
        for group in (both, by_kind, by_words):
            if group:
                return sorted(group, key=lambda o: (o.starts, o.id))[0]
        return None

    def choose_offer(self) -> None:
        r = self.r
        for o in r.unmatched_offers:
            what = {"bogo": "buy-one-get-one", "code": f"the code {o.code}"}.get(o.kind, f"“{o.text}”")
            self.questions.append(
                f"The brief asks for {what}, but the fact sheet has no such offer, so the copy carries no "
                f"offer for now. The fact sheet lists: {self._offer_list()}. Add the offer to facts.yaml "
                "or tell me which of these to use.")
        if r.offer_refused:
            self.notes.append("No offer, as the brief asks.")
            return
        if r.unmatched_offers:
            return
        matched = [o for o in r.offers if o.offer_id]
        ambiguous = [o for o in r.offers if not o.offer_id and len(o.candidates) > 1]
        if matched:
            self.offer = self.ws.offers_by_id[matched[0].offer_id or ""]
            self.offer_for_all = True
        elif ambiguous:
            hinted = self._hint_offer()
            choice = hinted if hinted and hinted.id in ambiguous[0].candidates else \
                self.ws.offers_by_id[ambiguous[0].candidates[0]]
            self.offer, self.offer_for_all = choice, True
            self.notes.append(f"Several fact-sheet offers match “{ambiguous[0].text}”; I used {choice.name} "
                              f"({choice.id}). Name another one if you prefer.")
        elif any(o.kind == "unspecified" for o in r.offers) or self.book.offer.suggest:
            hinted = self._hint_offer()
            asked = any(o.kind == "unspecified" for o in r.offers)
            if hinted is None:
                if asked:
                    self.questions.append(f"Which offer should the copy carry? The fact sheet lists: "
                                          f"{self._offer_list()}.")
                return
            self.offer, self.offer_for_all = hinted, asked
            who = "" if asked else " for the segments it suits"
            self._offer_note = len(self.notes)
            self.notes.append(f"I used the fact sheet's offer “{hinted.name}” ({offer_short(hinted, self.ws.brand.currency)}"
                              f"{', code ' + hinted.code if hinted.code else ''}){who}; say “no offer” to drop it.")
        if self.offer is None:
            return
        o = self.offer
        if o.ends is not None and o.ends < self.today:
            self.questions.append(f"The {o.name} offer ended on {long_date(o.ends)}, so the copy carries no offer. "
                                  "Extend it in facts.yaml or pick a current one.")
            self.offer = None
            return
        if o.applies_to and self.product and not {self.product.sku, self.product.category} & set(o.applies_to):
            covers = ", ".join(t.replace("_", " ") for t in o.applies_to)
            if self.offer_for_all:
                self.questions.append(f"{o.name} covers {covers} only, not {self.product.name}, so the copy carries "
                                      "no offer. Pick another offer or another product.")
            elif self._offer_note is not None:
                del self.notes[self._offer_note]
                self._offer_note = None
            self.offer = None
            return
        words = [w.lower() for w in self.book.offer.audience_words]
        if o.audience and words and not any(w in f"{o.name} {o.audience}".lower() for w in words):
            self.notes.append(f"The fact sheet says {o.name} is for {o.audience}; check that it fits this audience.")

    # -- product ------------------------------------------------------------------------------------
    def choose_product(self) -> bool:
        """False when the playbook cannot work without a product the brief and fact sheet settle."""
        mode = self.book.product
        products = [self.ws.products_by_sku[s] for s in self.r.products]
        cur = self.ws.brand.currency
        if self.r.categories:
            self.category = self.r.categories[0]
        if self.r.unknown_products and not products:
            missing = unknown_product_text(self.r)
            if mode == "none":
                self.notes.append(missing)
                return True
            self.questions.append(missing)
            return False
        if mode == "none":
            return True
        if mode == "price_drop":
            dropped = [p for p in self.ws.facts.products if p.previous_price and p.previous_price > p.price]
            if products:
                p = products[0]
                if not (p.previous_price and p.previous_price > p.price):
                    self.questions.append(
                        f"The fact sheet lists {p.name} at {money(p.price, cur)} with no earlier, higher price, so "
                        "there is no price drop to announce. Update facts.yaml (previous_price) or pick "
                        + ("one of: " + ", ".join(d.name for d in dropped) if dropped else "another moment") + ".")
                    return False
                self.product = p
            elif len(dropped) == 1:
                self.product = dropped[0]
                self.notes.append(f"The brief names no product; {dropped[0].name} is the only one whose price "
                                  f"dropped in the fact sheet ({money(dropped[0].previous_price or 0, cur)} to "
                                  f"{money(dropped[0].price, cur)}), so the plan is about it.")
            else:
                self.questions.append("Which product dropped in price? "
                                      + ("The fact sheet shows drops for: " + ", ".join(d.name for d in dropped)
                                         if dropped else "The fact sheet shows no price drops.") + ".")
                return False
        elif mode == "restock":
            if not products:
                self.questions.append("Which product is back in stock? Name it as the fact sheet does.")
                return False
            p = products[0]
            if not p.in_stock:
                self.questions.append(f"The fact sheet lists {p.name} as out of stock, so I won't announce it as "
                                      "back. Set in_stock: true in facts.yaml once it is, then ask again.")
                return False
            self.product = p
        elif products:
            self.product = products[0]
        elif mode == "required":
            category = self.category or self.book.default_category
            pool = [p for p in self.ws.facts.products if p.in_stock and (category is None or p.category == category)]
            if not pool:
                self.questions.append("Which product is this about? Name it as the fact sheet does.")
                return False
            self.product = pool[0]
            self.notes.append(f"The brief names no product; I used {pool[0].name} from the fact sheet "
                              f"({pool[0].category.replace('_', ' ')}). Name another if you prefer.")
        if self.product is not None:
            self.category = self.product.category
            if not self.product.in_stock and mode != "restock":
                self.notes.append(f"The fact sheet lists {self.product.name} as out of stock; the copy does not "
                                  "promise it is available.")
        return True
