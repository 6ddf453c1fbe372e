"""The offline planner's timing: the playbook's steps retimed to the brief (delays, dates, deadlines,
cadence, how many emails), as a trigger with its first send."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from pydantic import TypeAdapter

from copilot.plan import (
    BranchStep,
    DelayStep,
    EventRule,
    EventWindow,
    FieldRule,
    PropertyFilter,
    Rule,
    SendStep,
    Step,
    Trigger,
    WaitStep,
)
from copilot.planner.audience import substitute
from copilot.planner.copywriter import long_date
from copilot.planner.timeline import DAY_NAMES
from copilot.text import find_ordinals
from copilot.workspace import CalendarDate
from copilot.workspace.roles import ROLES

__all__ = ["Timing", "total_hours", "sent_messages", "hours_text", "keep_sends"]

_STEPS = TypeAdapter(list[Step])


class Timing:
    """Mixin of the composer (state in copilot.planner.compose._Composer): when the plan sends."""

    # -- trigger ------------------------------------------------------------------------------------
    def _steps(self) -> list[Step]:
        data = [s.model_dump(mode="json") for s in self.book.trigger.steps]
        values = {"sku": self.product.sku} if self.product else {}
        steps = _STEPS.validate_python(substitute(data, values))
        if self.r.delay_hours and self.book.trigger.kind == "event":
            steps = self._retime(steps, self.r.delay_hours)
        limit = self.r.constraints.max_emails
        if limit:
            steps = keep_sends(steps, limit)
        return steps

    def _retime(self, steps: list[Step], hours: float) -> list[Step]:
        """Make the timed email go out ``hours`` after entry ("ask for reviews 10 days after delivery")."""
        target = self.book.timed_message or next(s.message for s in steps if isinstance(s, SendStep))
        elapsed = 0.0
        for i, step in enumerate(steps):
            if isinstance(step, SendStep) and step.message == target:
                delay = next((steps[j] for j in range(i - 1, -1, -1) if isinstance(steps[j], DelayStep)), None)
                if delay is None:
                    break
                before = elapsed - delay.hours
                if hours < before:
                    self.notes.append(f"The brief asks for {target} after {hours_text(hours)}, but the emails before it "
                                      f"already take {hours_text(before)}; I kept the playbook's timing.")
                    break
                delay.hours = round(hours - before, 2)
                self.notes.append(f"{target} goes out {hours_text(hours)} after the trigger, as the brief says.")
                break
            elapsed += _step_hours(step)
        return steps

    def _send_at(self, use_send_on: bool = True) -> datetime:
        c = self.r.constraints
        day = (c.send_on if use_send_on else None) or self.today + timedelta(days=1)
        if c.not_before and day <= c.not_before:
            day = c.not_before + timedelta(days=1)
        if self.offer and self.offer.starts > day:
            day = self.offer.starts
        if day <= self.today:
            day = self.today + timedelta(days=1)
        hh, mm = (c.send_time or f"{self.book.trigger.send_hour:02d}:00").split(":")
        return datetime.combine(day, time(int(hh), int(mm)), tzinfo=UTC)

    def trigger(self) -> tuple[Trigger, list[Step], datetime | None]:
        spec = self.book.trigger
        steps = self._steps()
        kind = spec.kind
        c = self.r.constraints
        if kind == "schedule" and c.recurrence:
            kind = "recurring"
        send_at = None
        cron = spec.cron
        if kind == "recurring":
            cron = self._cron(spec.cron, spec.send_hour)
        elif kind == "schedule" and spec.remind_before_event_days:
            steps, send_at = self._invitation(steps, spec.remind_before_event_days)
            steps = self._fit_deadline(steps, send_at)
        elif kind == "schedule":
            send_at = self._send_at()
            steps = self._fit_deadline(steps, send_at)
        entry_filter = list(spec.entry_filter)
        if kind == "event" and spec.entry_event:
            entry_filter = [PropertyFilter.model_validate(substitute(f.model_dump(mode="json"),
                                                                      {"sku": self.product.sku} if self.product else {}))
                            for f in entry_filter]
            props = {p.name for p in self.ws.event(spec.entry_event).properties} if self.ws.event(spec.entry_event) \
                else set()
            if self.book.product in {"none", "optional"}:
                if self.r.products and "product" in props:
                    entry_filter.append(PropertyFilter(property="product", op="in" if len(self.r.products) > 1 else "eq",
                                                       value=list(self.r.products) if len(self.r.products) > 1
                                                       else self.r.products[0]))
                elif self.r.categories and "category" in props:
                    entry_filter.append(PropertyFilter(
                        property="category", op="in" if len(self.r.categories) > 1 else "eq",
                        value=list(self.r.categories) if len(self.r.categories) > 1 else self.r.categories[0]))
            ordinal = self._first_only(spec.entry_event)
            if ordinal is not None and all(f.property != ordinal.property for f in entry_filter):
                entry_filter.append(ordinal)
        if kind == "date":
            steps = self._keep_to_date(steps)
        if kind in {"date", "threshold"}:
            return self._entry_trigger(steps), steps, None
        trigger = Trigger(
            kind=kind, entry_event=spec.entry_event if kind == "event" else None,
            entry_filter=entry_filter if kind == "event" else [],
            match_property=spec.match_property if kind == "event" else None,
            reentry=spec.reentry if kind == "event" else "once",
            reentry_days=spec.reentry_days if kind == "event" and spec.reentry == "after_days" else None,
            send_at=send_at, recipient_local_time=kind != "event", cron=cron if kind == "recurring" else None,
            steps=steps, exit_conditions=list(spec.exit_conditions),
        )
        return trigger, steps, send_at

    def _first_only(self, event_name: str) -> PropertyFilter | None:
        """"after someone's first box arrives": the entry event's count property (box_number, order_number:
        an integer the catalog describes as counting from 1 for the first) equal to 1."""
        event = self.ws.event(event_name)
        if event is None or not _FIRST.search(self.r.text):
            return None
        for p in event.properties:
            if p.type == "integer" and (re.search(r"_(number|index|seq|sequence)$", p.name) or
                                        re.search(r"\b1\b[^.;]{0,12}\bfirst\b", p.description, re.I)):
                return PropertyFilter(property=p.name, op="eq", value=1)
        return None

    # -- an event on a date (invitations) ------------------------------------------------------------
    def _event(self) -> tuple[date | None, CalendarDate | None]:
        """The event an invitation is for: a fact-sheet calendar date the brief names (still ahead), else
        the brief's "on <date>" (which then names the event's day, not the send's)."""
        calendar = {c.id: c for c in self.ws.facts.calendar}
        for moment in self.r.moments:
            entry = calendar.get(moment)
            if entry is not None and entry.starts > self.today:
                return entry.starts, entry
        return self.r.constraints.send_on, None

    def _invitation(self, steps: list[Step], days_before: int) -> tuple[list[Step], datetime]:
        """Send the invitation as soon as allowed, and retime the delay before the last step (the
        reminder) so it lands ``days_before`` days before the event, at the same local time."""
        day, entry = self._event()
        self.event_day, self.event_entry = day, entry
        on = self.r.constraints.send_on
        send_at = self._send_at(use_send_on=entry is not None and on is not None and on < entry.starts)
        first = next(i for i, s in enumerate(steps) if isinstance(s, SendStep))
        if day is None:
            self.questions.append("Which day is the event? Give its date (\"on March 3\") or add it to the fact "
                                  "sheet's calendar, and I'll time the invitation and the reminder from it.")
            return steps, send_at
        if send_at.date() >= day:
            self.questions.append(f"The event is on {long_date(day)}, and the invitation could go out on "
                                  f"{long_date(send_at.date())} at the earliest. Which date should it go out?")
            self.event_day = None
            return steps, send_at
        remind_at = datetime.combine(day - timedelta(days=days_before), send_at.timetz())
        delay = steps[-2] if len(steps) >= 3 and isinstance(steps[-2], DelayStep) else None
        before = total_hours(steps[:-2])
        hours = (remind_at - send_at).total_seconds() / 3600 - before
        if delay is None or hours < 24:
            self.notes.append(f"The event on {long_date(day)} is too close for a reminder {days_before} day"
                              f"{'s' if days_before != 1 else ''} before it; the plan sends the invitation only.")
            return steps[:first + 1], send_at
        delay.hours = round(hours, 2)
        for step in steps[-1:]:
            for node in _event_rules(step):
                node.window = EventWindow(kind="since", on=send_at.date())
        self.notes.append(f"The invitation goes out {long_date(send_at.date())}; the reminder, for those who "
                          f"registered since, on {long_date(remind_at.date())}, the day before the event "
                          f"({long_date(day)}).")
        return steps, send_at

    def _keep_to_date(self, steps: list[Step]) -> list[Step]:
        """When the brief moves a date moment's first email ("a week before" where the playbook says two),
        the later emails keep their place before the date (a last reminder three days before stays
        three days before); those that would now come before the first are left out."""
        shift = (self.book.trigger.offset_days - self.entry_offset()) * 24
        if not shift:
            return steps
        first = next((i for i, s in enumerate(steps) if isinstance(s, SendStep)), None)
        gap = next((i for i in range(first + 1, len(steps)) if isinstance(steps[i], (DelayStep, WaitStep))), None) \
            if first is not None else None
        if first is None or gap is None:
            return steps
        step = steps[gap]
        hours = (step.hours if isinstance(step, DelayStep) else step.timeout_hours) + shift  # type: ignore[union-attr]
        if hours <= 0:
            self.notes.append("The later emails of this moment would land before the first one at the brief's "
                              "timing, so the plan sends the first email only.")
            return steps[:first + 1]
        if isinstance(step, DelayStep):
            step.hours = round(hours, 2)
        else:
            step.timeout_hours = round(hours, 2)  # type: ignore[union-attr]
        return steps

    def date_named_elsewhere(self) -> str | None:
        """A question when the brief times a yearly moment from a date this catalog's field does not hold
        ("the anniversary of their loved one's death" where the anniversary field is the first gift)."""
        spec = self.book.trigger
        field = self.ws.field(spec.date_field or "") if spec.kind == "date" and spec.every_year else None
        m = _ANNIVERSARY_OF.search(self.r.text)
        if field is None or m is None:
            return None
        said = {w for w in _content_words(m.group(1))}
        role = self.ws.role_of(field.name)
        known = _content_words(" ".join((field.name.replace("_", " "), field.description, *field.words,
                                         *(ROLES[role].words if role in ROLES else ()))))
        if not said or any(a.startswith(b) or b.startswith(a) for a in said for b in known if min(len(a), len(b)) >= 4):
            return None
        return (f"The brief times this from “{m.group(1).strip()}”, but the date this plan can use is "
                f"{field.name} ({field.description.rstrip('.')}); no catalog field holds that date. Which date "
                "should it follow? Add a date field for it to catalog.yaml, or say the plan may use "
                f"{field.name}.")

    def entry_offset(self) -> int:
        """A date moment's days from the date: the brief's "7 days before" / "3 days after", else the playbook's."""
        for d in self.r.durations:
            if d.role == "before" and d.days >= 1:
                return -int(round(d.days))
            if d.role == "delay" and d.days >= 1:
                return int(round(d.days))
        return self.book.trigger.offset_days

    def _threshold_said(self) -> int | float | None:
        """The number a threshold brief gives ("reaches 500 points", "their 50th class"), if any."""
        said = [n.value for n in self.r.numbers if n.kind == "number" and n.value >= 1
                and not any(d.start <= n.start < d.start + len(d.text) for d in self.r.durations)]
        # "their 50th class": a count written as an ordinal (not a date's "February 20th")
        said += [n.value for n in find_ordinals(self.r.text) if n.value >= 1
                 and not any(d.start <= n.start < d.start + len(d.text) for d in (*self.r.dates, *self.r.durations))]
        if not said:
            return None
        return int(said[0]) if said[0] == int(said[0]) else float(said[0])

    def threshold_condition(self) -> Rule | None:
        """A threshold moment's rule, with the brief's number ("reaches 500 points") as its value."""
        condition = self.book.trigger.condition
        if not isinstance(condition, FieldRule):
            return condition
        value = self._threshold_said()
        return condition if value is None else condition.model_copy(update={"value": value})

    def _entry_trigger(self, steps: list[Step]) -> Trigger:
        """A date or threshold trigger: contacts enter on their own day, at the local send time."""
        spec = self.book.trigger
        send_time = self.r.constraints.send_time or f"{spec.send_hour:02d}:00"
        if spec.kind == "date":
            return Trigger(kind="date", date_field=spec.date_field, offset_days=self.entry_offset(),
                           every_year=spec.every_year, send_time=send_time, recipient_local_time=True,
                           steps=steps, exit_conditions=list(spec.exit_conditions))
        condition = self.threshold_condition()
        if isinstance(condition, FieldRule) and self._threshold_said() is None:
            self.notes.append(f"The brief gives no number, so contacts enter when {condition.field} reaches "
                              f"{condition.value}, the playbook's default; say another (\"their 25th\") to change it.")
        return Trigger(kind="threshold", condition=condition, send_time=send_time,
                       recipient_local_time=True, steps=steps, exit_conditions=list(spec.exit_conditions))

    def _cron(self, default: str | None, send_hour: int) -> str:
        """The brief's cadence, day and time over the playbook's default (monthly on the 1st at 9:00)."""
        c = self.r.constraints
        _, _, dom, month, dow = (default or "0 9 1 * *").split()
        hh, mm = (c.send_time or f"{send_hour:02d}:00").split(":")
        cron_day = str((c.weekday + 1) % 7) if c.weekday is not None else None  # cron counts from Sunday = 0
        if c.recurrence == "weekly":
            dom, month, dow = "*", "*", cron_day or "2"
        elif c.recurrence == "biweekly":
            dom, month, dow = "1,15", "*", "*"
            if cron_day is not None:
                self.notes.append(f"A cron schedule cannot say every other {DAY_NAMES[c.weekday or 0]}, so this "
                                  "sends on the 1st and the 15th of each month; say \"every "
                                  f"{DAY_NAMES[c.weekday or 0]}\" for a weekly send on that day.")
        elif c.recurrence == "monthly":
            dom, month, dow = "1", "*", "*"
        return f"{int(mm)} {int(hh)} {dom} {month} {dow}"

    def _fit_deadline(self, steps: list[Step], send_at: datetime) -> list[Step]:
        limits = []
        if self.r.constraints.deadline:
            limits.append((self.r.constraints.deadline, f"the deadline ({self.r.constraints.deadline_text})"))
        if self.offer and self.offer.ends is not None:
            limits.append((self.offer.ends + timedelta(days=1), f"the end of {self.offer.name} "
                                                                f"({long_date(self.offer.ends)})"))
        for end, what in limits:
            cutoff = datetime.combine(end, time(0, 0), tzinfo=UTC)
            if send_at >= cutoff:
                self.questions.append(f"The first email could go out on {long_date(send_at.date())} at the earliest, "
                                      f"which is not before {what}. Which date should it go out?")
                return steps
            kept: list[Step] = []
            clock = send_at
            for step in steps:
                clock += timedelta(hours=_step_hours(step))
                if isinstance(step, SendStep) and clock >= cutoff:
                    self.notes.append(f"I dropped the emails that would land after {what}.")
                    break
                kept.append(step)
            steps = _trim_tail(kept)
        return steps


# "their first box", "the first order" (not "first-time", "the first week": a time, not the n-th thing)
_FIRST = re.compile(r"\b(?:first|1st|primer|primera|erste[nrs]?|premier|première)\s+(?!time\b|week|day|month|year|hour|"
                    r"semana|día|mes|woche|tag|monat|semaine|jour|mois)[^\W\d_]", re.I)
# "the anniversary of <what>" in a brief (en, es, fr, de): what a yearly date moment is timed from
_ANNIVERSARY_OF = re.compile(r"\b(?:anniversary of|aniversario de|anniversaire de|jahrestag (?:von|des|der))\s+"
                             r"((?:(?!\s[-–—]\s|\s(?:and|y|et|und)\s)[^,.;:!?()])+)", re.I)
_FUNCTION_WORDS = frozenset({"their", "the", "his", "her", "your", "our", "them", "they", "when", "with", "from",
                             "that", "this", "and", "mention", "name", "person", "people", "each", "every", "year",
                             "su", "sus", "del", "leur", "leurs", "ihres", "ihrer", "seines", "seiner"})


def _content_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 2 and w not in _FUNCTION_WORDS}


def _event_rules(step: Step) -> list[EventRule]:
    """The event conditions of a branch step ("registered" since the invitation)."""
    if not isinstance(step, BranchStep):
        return []
    rules: list[EventRule] = []
    stack: list[object] = [step.rule]
    while stack:
        node = stack.pop()
        if isinstance(node, EventRule):
            rules.append(node)
        stack.extend(getattr(node, "rules", []) or [])
    return rules


def hours_text(h: float) -> str:
    if h >= 48 and h % 24 == 0:
        return f"{int(h // 24)} days"
    return f"{h:g} hours" if h != 1 else "1 hour"

def _step_hours(step: Step) -> float:
    if isinstance(step, DelayStep):
        return step.hours
    if isinstance(step, WaitStep):
        return step.timeout_hours
    return 0.0

def total_hours(steps: list[Step]) -> float:
    return sum(_step_hours(s) for s in steps)

def sent_messages(steps: list[Step]) -> list[str]:
    out = []
    for s in steps:
        if isinstance(s, SendStep):
            out.append(s.message)
        elif s.type == "branch":
            out += sent_messages(s.then_steps) + sent_messages(s.else_steps)
    return out

def _trim_tail(steps: list[Step]) -> list[Step]:
    """Drop waits and delays after the last send: they would only hold people in the journey."""
    while steps and not isinstance(steps[-1], SendStep) and steps[-1].type != "branch":
        steps = steps[:-1]
    return steps

def keep_sends(steps: list[Step], limit: int) -> list[Step]:
    kept: list[Step] = []
    count = 0
    for step in steps:
        if isinstance(step, SendStep):
            if count == limit:
                break
            count += 1
        kept.append(step)
    return _trim_tail(kept)
