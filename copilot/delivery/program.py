"""A plan's trigger steps as a flat program the journey engine steps through.

Branches become a conditional jump over their ``then`` steps and a jump over their ``else``
steps, so an entry's place in its journey is one integer (``pc``) and every send step has a
stable key, ``"<position>:<message>"``, that the send ledger's unique constraint uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copilot.plan import BranchStep, DelayStep, PropertyFilter, Rule, SendStep, Step, Trigger, WaitStep

__all__ = ["Instruction", "compile_steps", "zone", "local_time_on", "next_local_time", "quiet_until", "cron_next"]


@dataclass(frozen=True)
class Instruction:
    """One step: ``op`` is delay, send, wait, branch (jump to ``target`` unless ``rule`` holds) or jump."""

    op: str
    hours: float = 0.0
    at_local_time: str | None = None
    message: str = ""
    event: str = ""
    where: tuple[PropertyFilter, ...] = ()
    on_event: str = "exit"
    rule: Rule | None = None
    target: int = 0
    key: str = field(default="")


def compile_steps(trigger: Trigger) -> list[Instruction]:
    program: list[Instruction] = []

    def emit(steps: list[Step]) -> None:
        for step in steps:
            at = len(program)
            if isinstance(step, DelayStep):
                program.append(Instruction("delay", hours=step.hours, at_local_time=step.at_local_time))
            elif isinstance(step, SendStep):
                program.append(Instruction("send", message=step.message, key=f"{at}:{step.message}"[:40]))
            elif isinstance(step, WaitStep):
                program.append(Instruction("wait", hours=step.timeout_hours, event=step.event,
                                           where=tuple(step.where), on_event=step.on_event))
            elif isinstance(step, BranchStep):
                program.append(Instruction("branch", rule=step.rule))  # target patched below
                emit(step.then_steps)
                jump_at = len(program)
                program.append(Instruction("jump"))
                program[at] = Instruction("branch", rule=step.rule, target=len(program))
                emit(step.else_steps)
                program[jump_at] = Instruction("jump", target=len(program))

    emit(trigger.steps)
    return program


def zone(name: str | None) -> ZoneInfo:
    """The contact's zone; an unknown or empty one reads as UTC (as sizing does)."""
    try:
        return ZoneInfo((name or "UTC").strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours) % 24, int(minutes) % 60)


def local_time_on(day: datetime, tz: ZoneInfo) -> datetime:
    """The same wall-clock date and time as ``day`` (an aware datetime in its own zone), in ``tz``, as UTC."""
    naive = day.replace(tzinfo=None)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def next_local_time(after: datetime, hhmm: str, tz: ZoneInfo) -> datetime:
    """The first moment at or after ``after`` when the clock in ``tz`` shows ``hhmm`` (as UTC)."""
    local = after.astimezone(tz)
    at = _hhmm(hhmm)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def quiet_until(moment: datetime, start: str, end: str, tz: ZoneInfo) -> datetime | None:
    """When quiet hours (``start``-``end`` on the recipient's clock) end, if ``moment`` falls inside them."""
    local = moment.astimezone(tz)
    minute = local.hour * 60 + local.minute
    s, e = _hhmm(start), _hhmm(end)
    s_min, e_min = s.hour * 60 + s.minute, e.hour * 60 + e.minute
    inside = (s_min <= minute < e_min) if s_min <= e_min else (minute >= s_min or minute < e_min)
    if not inside:
        return None
    return next_local_time(moment, end, tz)


def cron_next(expr: str, after: datetime, tz: ZoneInfo) -> datetime:
    """The first minute strictly after ``after`` matching the five-field cron ``expr`` on ``tz``'s clock."""
    from huey import crontab

    minute, hour, day, month, weekday = expr.split()
    # Huey's crontab reads weekdays as cron does (Sunday = 0 or 7).
    matches = crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=weekday)
    local = (after.astimezone(tz) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    for _ in range(60 * 24 * 400):
        if matches(local.replace(tzinfo=None)):
            return local.astimezone(UTC)
        local += timedelta(minutes=1)
    raise ValueError(f"cron {expr!r} never matches in the next 400 days")
