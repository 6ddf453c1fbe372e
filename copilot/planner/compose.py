"""Compose a plan from a brief reading, one playbook and the workspace (the offline planner's core).

Everything the plan states comes from the playbook (segments, timings, copy patterns), the
fact sheet (offers, products, policies, dates) or the brief's exact words. What cannot be
settled that way becomes a question for the marketer; what was left out and why becomes a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from copilot.brief import BriefReading, dated_fields, risk_reason
from copilot.plan import (
    FrequencyCap,
    Plan,
    SendWindow,
    Step,
    Suppression,
    Trigger,
)
from copilot.planner.audience import Segments, substitute
from copilot.planner.base import AudienceStats
from copilot.planner.choices import OfferAndProduct
from copilot.planner.clock import local_date
from copilot.planner.copywriter import CopyContext, long_date, write_variants
from copilot.planner.timeline import describe_recurring
from copilot.planner.timing import Timing, sent_messages, total_hours
from copilot.playbooks import MessageSpec, Playbook, fit_playbook
from copilot.playbooks.catalogs import catalog_languages
from copilot.text import language_of
from copilot.workspace import CalendarDate, Offer, Product, Workspace
from copilot.workspace.roles import missing_role_text

__all__ = ["Draft", "compose_plan"]


@dataclass
class Draft:
    plan: Plan | None
    questions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audience: list[str] = field(default_factory=list)  # groups the brief narrowed the plan to


class _Composer(OfferAndProduct, Segments, Timing):
    def __init__(self, reading: BriefReading, book: Playbook, ws: Workspace, now: datetime,
                 audience: AudienceStats | None) -> None:
        self.r, self.book, self.ws, self.now = reading, book, ws, now
        self.today = local_date(now, ws)
        self.audience = audience
        self.questions: list[str] = []
        self.notes: list[str] = []
        self.offer: Offer | None = None
        self.offer_for_all = False
        self.product: Product | None = None
        self.category: str | None = None
        self._offer_note: int | None = None
        self.event_day: date | None = None  # an invitation's event (set with the trigger)
        self.event_entry: CalendarDate | None = None

    # -- the plan -----------------------------------------------------------------------------------
    def _past_dates(self) -> list[str]:
        """Questions for dates the brief names that have already passed (a plan never sends in the past)."""
        c = self.r.constraints
        named = [(c.send_on, "the send date"), (c.deadline, "the deadline"), (c.not_before, "the start date")]
        return [f"{what.capitalize()} the brief names, {long_date(day)}, has already passed (today is "
                f"{long_date(self.today)} in {self.ws.brand.timezone}). Which date should it be?"
                for day, what in named if day is not None and day < self.today]

    def compose(self) -> Draft:
        past = self._past_dates()
        if past:
            return Draft(None, past, self.notes)
        if not self.choose_product():
            return Draft(None, self.questions, self.notes)
        self.choose_offer()
        pairs, narrowed = self.segments()
        if not pairs:
            self.questions.append("Every segment of this playbook conflicts with the audience the brief names. "
                                  "Who exactly should get it?")
            return Draft(None, self.questions, self.notes)
        elsewhere = self.date_named_elsewhere()
        if elsewhere:
            return Draft(None, [elsewhere], self.notes)
        trigger, steps, send_at = self.trigger()
        if self.book.trigger.remind_before_event_days and self.event_day is None:
            return Draft(None, self.questions, self.notes)  # no honest invitation without the event's day
        sent = sent_messages(steps)
        messages = [m for m in self.book.messages if m.key in sent]
        if self.event_entry is None and any("[[event_line]]" in p for m in messages for p in m.copy_a.body):
            # news about a dated moment the brief names ("Mothering Sunday gift guide") names it and its day
            self.event_entry = self._named_moment()
            self.event_day = self.event_entry.starts if self.event_entry else None
        offer_messages = {m.key for m in messages
                          if m.offer == "yes" or (m.offer == "if_asked" and self.offer_for_all)}
        if self.offer and not offer_messages:
            offer_messages = {messages[-1].key if self.book.trigger.kind == "event" else messages[0].key}
        ctx = CopyContext(self.ws, offer=self.offer, offer_for_all=self.offer_for_all, product=self.product,
                          category=self.category or self.book.default_category,
                          send_date=send_at.date() if send_at else self.today,
                          # a week to answer the last email before the sunset
                          sunset=(send_at + timedelta(hours=total_hours(steps))).date() + timedelta(days=7)
                          if send_at else None, offer_messages=offer_messages,
                          period={"weekly": "week", "biweekly": "fortnight"}.get(
                              self.r.constraints.recurrence or "", "month"),
                          event=self.event_entry or (self.product if self.event_day else None),
                          event_day=self.event_day)
        personalizable = {f.name for f in self.ws.catalog.fields
                          if "personalization" in f.allowed_uses and risk_reason(self.ws, f.name) is None}
        variants = write_variants(self.book, [(s.name, spec) for s, spec in pairs], messages, ctx, personalizable,
                                  self._locales(), rules={s.name: s.rule for s, _ in pairs})
        self._locale_note(ctx.missing)
        offer_used = self.offer is not None and any(
            self.offer.terms.strip() in v.body or (self.offer.code and self.offer.code in v.body) for v in variants)
        if self.offer and not offer_used and self._offer_note is not None:
            del self.notes[self._offer_note]  # no segment ended up with the suggested offer
        plan = Plan(
            title=self._title(), brief=self.r.text, goal=self.book.id, summary=self._summary(trigger, messages),
            segments=[s for s, _ in pairs], trigger=trigger, suppression=self._suppression(), variants=variants,
            offers=[self.offer.id] if self.offer and offer_used else [],
            send_window=self._window(trigger, steps, send_at, offer_used),
        )
        return Draft(plan, self.questions, self.notes, narrowed)

    def _named_moment(self) -> CalendarDate | None:
        """The first fact-sheet calendar date the brief names that has not passed."""
        calendar = {c.id: c for c in self.ws.facts.calendar}
        for moment in self.r.moments:
            entry = calendar.get(moment)
            if entry is not None and (entry.ends or entry.starts) >= self.today:
                return entry
        return None

    def _locales(self) -> list[str]:
        """The brand's languages the plan writes copy in: its default, then every other it lists that the
        playbooks' copy has been translated into (the rest read the default language, and a note says so)."""
        brand = self.ws.brand
        have = set(catalog_languages())
        out = [brand.default_locale]
        for locale in brand.locales:
            lang = language_of(locale)
            if locale in out:
                continue
            if lang in have or lang == "en":
                out.append(locale)
            else:
                self.notes.append(f"Readers of {locale} get the {brand.default_locale} copy: the playbooks have no "
                                  f"{locale} copy yet.")
        return out

    def _locale_note(self, missing: set[str]) -> None:
        """One note for what stayed untranslated, per language (never one per variant)."""
        by_locale: dict[str, set[str]] = {}
        for item in missing:
            locale, _, what = item.partition(": ")
            by_locale.setdefault(locale, set()).add(what)
        for locale, whats in sorted(by_locale.items()):
            self.notes.append(f"The {locale} copy keeps {', '.join(sorted(whats))} in "
                              f"{self.ws.brand.default_locale}: facts.yaml has no {locale} translation for it.")

    def _title(self) -> str:
        parts = [self.book.name]
        if self.product:
            parts.append(self.product.name)
        if self.offer:
            parts.append(self.offer.name)
        return " · ".join(parts)[:200]

    def _summary(self, trigger: Trigger, messages: list[MessageSpec]) -> str:
        text = self._lapsed(self.book.summary)
        if self.offer:
            text += f" The copy states {self.offer.name} exactly as the fact sheet does" + (
                f" (ends {long_date(self.offer.ends)})." if self.offer.ends else " (it has no end date).")
        if trigger.kind == "schedule" and trigger.send_at:
            text += f" First send {long_date(trigger.send_at.date())}, {len(messages)} email(s)."
        elif trigger.kind == "recurring":
            text += f" It goes out {describe_recurring(trigger)}."
        return text

    def _suppression(self) -> Suppression:
        spec = self.book.suppression
        cap = spec.frequency_cap
        if self.r.constraints.frequency_cap:
            n, days = self.r.constraints.frequency_cap
            cap = FrequencyCap(max_emails=n, per_days=days)
        exclusions = [r for r in (self._adapt_rule(rule) for rule in spec.exclusions) if r is not None]
        for h in self.r.constraints.exclusions:
            reason = self._usable(h.rule)
            if reason:
                self.notes.append(f"I could not exclude {h.label}: {reason}.")
            else:
                exclusions.append(h.rule)
        return Suppression(frequency_cap=cap, quiet_hours=spec.quiet_hours, exclusions=exclusions)

    def _window(self, trigger: Trigger, steps: list[Step], send_at: datetime | None,
                offer_used: bool) -> SendWindow | None:
        if send_at is not None:
            end = (send_at + timedelta(hours=total_hours(steps))).date()
            return SendWindow(start=send_at.date(), end=end)
        start = self.today
        end: date | None = None
        if self.offer and offer_used:
            start, end = max(self.today, self.offer.starts), self.offer.ends
        if self.r.constraints.deadline:
            end = min(end or self.r.constraints.deadline, self.r.constraints.deadline - timedelta(days=1))
        if end is None or end < start:
            return None
        return SendWindow(start=start, end=end)


DATE_SLOT = "[[date_field]]"  # a date moment timed from the date field the brief names (playbooks/date_reminder.yaml)


def _which_date_question(workspace: Workspace) -> str:
    dates = [f for f in workspace.catalog.fields if dated_fields([f.name], workspace)]
    listed = "; ".join(f"{f.name} ({f.description.rstrip('.')})" for f in dates)
    return ("Which date should the reminder be timed from? " + (f"The catalog's dates are: {listed}." if dates else
            "The catalog has no date field a reminder can use; add one to catalog.yaml.") +
            " A sentence like “7 days before <date>” is enough.")


def stage_for_field(workspace: Workspace, name: str) -> str | None:
    """The brand's journey stage (a voice.yaml cta_rules key) whose name speaks of the date field ``name``
    ("pre_departure" for next_departure_date, "pack_expiry" for pack_expires_on), by the field's name and
    words; None when no stage does."""
    f = workspace.field(name)
    if f is None:
        return None
    mine = _stems(" ".join((name.replace("_", " "), *f.words)))
    best, overlap = None, 0
    for stage in workspace.voice.cta_rules:
        shared = len(mine & _stems(stage.replace("_", " ")))
        if shared > overlap:
            best, overlap = stage, shared
    return best


def _stems(text: str) -> set[str]:
    """Content words of ``text`` cut to five letters ("expires", "expiry" -> "expir")."""
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3 and w not in {"date", "next", "last"}}


def compose_plan(reading: BriefReading, playbook: Playbook, workspace: Workspace, *, now: datetime,
                 audience: AudienceStats | None = None) -> Draft:
    """A plan for ``reading`` from ``playbook`` (or questions when it cannot be made honestly).

    The playbook speaks of roles; it is fitted to the workspace's own fields and events first. A
    moment whose trigger needs a role the catalog lacks is a question naming what to map; a segment
    that needs one is left out with a note.
    """
    if playbook.trigger.date_field == DATE_SLOT:
        dates = dated_fields(reading.requested_fields, workspace)
        if not dates:
            return Draft(None, [_which_date_question(workspace)])
        playbook = Playbook.model_validate(substitute(playbook.model_dump(mode="json"), {"date_field": dates[0]}))
        stage = stage_for_field(workspace, dates[0])
        if stage:
            playbook = playbook.model_copy(update={"stage": stage})
    fitted = fit_playbook(playbook, workspace)
    if fitted.missing:
        return Draft(None, [f"{playbook.name} needs {fitted.missing_text()}. Map it and ask again, or describe "
                            "another moment."])
    draft = _Composer(reading, fitted.book, workspace, now, audience).compose()
    for name, lacking in fitted.dropped:
        draft.notes.append(f"I left out the {name} segment: it needs "
                           f"{'; '.join(missing_role_text(m) for m in lacking)}.")
    return draft
