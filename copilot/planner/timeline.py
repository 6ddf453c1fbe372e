"""A plan's trigger as a readable timeline, for the chat reply and ``copilot plan``."""

from __future__ import annotations

from copilot.plan import BranchStep, DelayStep, SendStep, Step, Trigger, WaitStep

__all__ = ["DAY_NAMES", "describe_cron", "describe_recurring", "describe_entry", "timeline", "span"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe_cron(expr: str) -> str:
    """The cadences the planners write, in words ("every Friday at 07:00"); anything else as its cron."""
    parts = expr.split()
    if len(parts) != 5 or not (parts[0].isdigit() and parts[1].isdigit()):
        return f"on cron '{expr}'"
    minute, hour, dom, month, dow = parts
    at = f"at {int(hour):02d}:{int(minute):02d}"

    def listed(field: str, high: int) -> bool:
        return all(x.isdigit() and int(x) <= high for x in field.split(","))

    if month != "*":
        return f"on cron '{expr}'"
    if dom == "*" and dow == "*":
        return f"every day {at}"
    if dom == "*" and listed(dow, 7):
        days = [DAY_NAMES[(int(x) - 1) % 7] for x in dow.split(",")]  # cron: 0 and 7 are Sunday
        return f"every {_and(days)} {at}"
    if dow == "*" and listed(dom, 31):
        return f"on the {_and([_ordinal(int(x)) for x in dom.split(',')])} of every month {at}"
    return f"on cron '{expr}'"


def describe_recurring(trigger: Trigger) -> str:
    """"every Friday at 07:00 in each recipient's local time (cron '0 7 * * 5')"."""
    zone = "in each recipient's local time" if trigger.recipient_local_time else f"{trigger.timezone} time"
    cron = trigger.cron or "?"
    text = describe_cron(cron)
    return f"{text} {zone}" + ("" if text.startswith("on cron") else f" (cron '{cron}')")


def span(hours: float) -> str:
    """2 h, 1 day, 3 days, 1 day 12 h."""
    if hours < 24:
        return f"{hours:g} h"
    days, rest = divmod(hours, 24)
    text = f"{int(days)} day" + ("s" if days != 1 else "")
    return text + (f" {rest:g} h" if rest else "")


def _walk(steps: list[Step], offset: float, depth: int, out: list[str]) -> float:
    pad = "  " * depth
    for step in steps:
        if isinstance(step, DelayStep):
            offset += step.hours
            at = f" then at {step.at_local_time} local time" if step.at_local_time else ""
            out.append(f"{pad}wait {span(step.hours)}{at}")
        elif isinstance(step, WaitStep):
            verb = "leave the journey" if step.on_event == "exit" else "carry on"
            out.append(f"{pad}wait up to {span(step.timeout_hours)} for {step.event.replace('_', ' ')} "
                       f"(if it happens: {verb})")
            offset += step.timeout_hours
        elif isinstance(step, SendStep):
            out.append(f"{pad}[+{span(offset)}] send {step.message}")
        elif isinstance(step, BranchStep):
            out.append(f"{pad}branch:")
            _walk(step.then_steps, offset, depth + 1, out)
            out.append(f"{pad}otherwise:")
            _walk(step.else_steps, offset, depth + 1, out)
    return offset


def describe_entry(trigger: Trigger) -> str:
    """How a contact enters a date or threshold trigger, in words."""
    at = f" at {trigger.send_time or '09:00'} in each recipient's local time"
    if trigger.kind == "threshold":
        from copilot.segments import describe_rule

        return (f"a contact enters once, on the first day they are among "  # type: ignore[arg-type]
                f"{describe_rule(trigger.condition, None)}{at}")
    name = (trigger.date_field or "?").replace("_", " ")
    days = abs(trigger.offset_days)
    when = ("on" if trigger.offset_days == 0 else
            f"{days} day{'s' if days != 1 else ''} {'before' if trigger.offset_days < 0 else 'after'}")
    yearly = " each year" if trigger.every_year else ""
    return f"each contact enters {when} their {name}{yearly}{at}"


def timeline(trigger: Trigger) -> list[str]:
    """One line per step, with the time since entry of every send."""
    out: list[str] = []
    if trigger.kind == "event":
        keyed = f", one journey per {trigger.match_property}" if trigger.match_property else ""
        filters = "".join(f", {f.property} {f.op} {f.value}" for f in trigger.entry_filter)
        again = {"once": "enters once", "always": "re-enters every time",
                 "after_days": f"may re-enter after {trigger.reentry_days} days"}[trigger.reentry]
        out.append(f"starts when {trigger.entry_event.replace('_', ' ') if trigger.entry_event else '?'} "
                   f"happens{filters}{keyed}; a contact {again}")
    elif trigger.kind == "schedule" and trigger.send_at:
        zone = "each recipient's local time" if trigger.recipient_local_time else trigger.timezone
        out.append(f"starts {trigger.send_at:%Y-%m-%d} at {trigger.send_at:%H:%M} ({zone})")
    elif trigger.kind in {"date", "threshold"}:
        out.append(describe_entry(trigger))
    else:
        out.append(f"repeats {describe_recurring(trigger)}")
    _walk(list(trigger.steps), 0.0, 1, out)
    for exit_ in trigger.exit_conditions:
        out.append(f"stops for a contact as soon as {exit_.event.replace('_', ' ')} happens")
    return out
