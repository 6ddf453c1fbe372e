"""A plan's trigger as a readable timeline, for the chat reply and ``copilot plan``."""

from __future__ import annotations

from copilot.plan import BranchStep, DelayStep, SendStep, Step, Trigger, WaitStep

__all__ = ["timeline", "span"]


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
    else:
        out.append(f"repeats on cron '{trigger.cron}' ({trigger.timezone})")
    _walk(list(trigger.steps), 0.0, 1, out)
    for exit_ in trigger.exit_conditions:
        out.append(f"stops for a contact as soon as {exit_.event.replace('_', ' ')} happens")
    return out
