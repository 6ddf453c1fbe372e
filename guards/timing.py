"""timing: a plan must send in the future, and an offer it makes must still run when each email
carrying it goes out.

"Now" is the caller's (``run_plan(..., now=...)``; the checking service passes the planner's clock,
which tests and evals fix): without it nothing is compared with the present, since guards read no
clock. Send moments come from the trigger: a schedule's ``send_at`` plus the delays and waits before
each send step (a wait counts from zero: the earliest the step can go). Dates are read in the brand's
time zone, or on the send's own wall clock when it goes at each recipient's local time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from copilot.plan import BranchStep, DelayStep, Plan, SendStep, Step, WaitStep
from copilot.workspace import Offer, Workspace
from guards.context import PlanContext
from guards.finding import Code, Finding, Guard

__all__ = ["GUARD", "send_moments"]

SEND_IN_PAST = Code("TIME_SEND_IN_PAST", "timing", "block", "The plan sends at a time that has already passed")
OFFER_ENDED = Code("TIME_OFFER_ENDED", "timing", "block", "An offer the email makes ends before the email is sent")


def send_moments(steps: Sequence[Step], start: datetime) -> Iterator[tuple[str, datetime]]:
    """(message key, earliest moment) of each send step, from ``start`` (both branches of a branch)."""
    at = start
    for step in steps:
        if isinstance(step, DelayStep):
            at += timedelta(hours=step.hours)
        elif isinstance(step, WaitStep):
            continue  # the event may come at once: the earliest moment does not move
        elif isinstance(step, SendStep):
            yield step.message, at
        elif isinstance(step, BranchStep):
            yield from send_moments(step.then_steps, at)
            yield from send_moments(step.else_steps, at)


def _zone(ws: Workspace) -> ZoneInfo:
    try:
        return ZoneInfo(ws.brand.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _mentions(plan: Plan, message: str, offer: Offer) -> bool:
    """Whether a message's copy makes the offer (its code, its name, or its value beside %/the currency)."""
    needles = [n.lower() for n in (offer.code, offer.name) if n]
    if offer.value is not None and offer.kind == "percent_off":
        needles.append(f"{offer.value.normalize():f}%")
    elif offer.value is not None and offer.kind == "amount_off":
        needles.append(f"{offer.value.normalize():f}")
    for v in plan.variants:
        if v.message == message:
            text = " ".join(getattr(v, f) for f in ("subject", "preheader", "body", "cta_text")).lower()
            if any(n in text for n in needles):
                return True
    return False


def check_plan(ctx: PlanContext) -> Iterator[Finding]:
    plan, ws = ctx.plan, ctx.workspace
    now: datetime | None = ctx.options.get("now")
    zone = _zone(ws)
    trigger = plan.trigger
    if now is not None:
        now = _aware(now)
        today = now.astimezone(zone).date()
        if trigger.kind == "schedule" and trigger.send_at is not None and _aware(trigger.send_at) < now:
            yield ctx.finding(SEND_IN_PAST, message=(
                f"the plan sends at {_aware(trigger.send_at).astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}), which "
                f"has passed: it is now {now.astimezone(zone):%Y-%m-%d %H:%M}"),
                evidence={"send_at": _aware(trigger.send_at).isoformat(), "now": now.isoformat()},
                fix="Pick a send time in the future.")
        elif plan.send_window is not None and plan.send_window.end < today:
            yield ctx.finding(SEND_IN_PAST, message=(
                f"the send window {plan.send_window.start} to {plan.send_window.end} has passed: today is {today}"),
                evidence={"send_window": [str(plan.send_window.start), str(plan.send_window.end)],
                          "now": now.isoformat()}, fix="Move the send window into the future.")
    if trigger.kind != "schedule" or trigger.send_at is None:
        return
    start = _aware(trigger.send_at)
    first = True
    for message, moment in send_moments(trigger.steps, start):
        day: date = moment.date() if trigger.recipient_local_time else moment.astimezone(zone).date()
        for offer in ctx.offers:
            if offer.ends is None or day <= offer.ends or not (first or _mentions(plan, message, offer)):
                continue
            yield ctx.finding(OFFER_ENDED, message=(
                f"{message} goes out on {day}, but offer {offer.id!r} ({offer.name}) ends on {offer.ends}"),
                evidence={"message": message, "offer": offer.id, "send_date": str(day), "offer_ends": str(offer.ends)},
                fix=f"Send {message} by {offer.ends}, or drop the offer from it.")
        first = False


GUARD = Guard(
    name="timing",
    description="The plan sends in the future, and every offer it makes still runs when each email goes out.",
    codes=(SEND_IN_PAST, OFFER_ENDED),
    check_plan=check_plan,
)
