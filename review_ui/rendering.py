"""Templates: one Jinja2 environment (autoescaping on), filters, and the page-or-fragment choice.

The htmx check lives here only: a page handler names its full template and the fragment
that htmx swaps; ``page()`` returns the fragment alone for an htmx request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import secrets

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request
from litestar.response import Template
from markupsafe import Markup, escape

from copilot.services import access, notifications
from copilot.services.anchors import variant_key
from copilot.text import count_of

__all__ = ["TEMPLATES_DIR", "STATIC_DIR", "make_environment", "page", "is_htmx"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

STATE_LABELS = {
    "draft": "Draft", "in_review": "In review", "changes_requested": "Changes requested", "rejected": "Rejected",
    "approved": "Approved", "scheduled": "Scheduled", "cancelled": "Cancelled", "sending": "Sending", "sent": "Sent",
}


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _when_in(value: datetime | None, timezone: str | None) -> str:
    """A send time as its zone's wall clock, UTC beside it: "2026-11-26 01:10 Europe/Berlin (00:10 UTC)"."""
    if value is None:
        return "-"
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return _when(value)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    if local.utcoffset() == aware.astimezone(UTC).utcoffset():
        return f"{local:%Y-%m-%d %H:%M} {timezone}"
    return f"{local:%Y-%m-%d %H:%M} {timezone} ({aware.astimezone(UTC):%H:%M} UTC)"


def _nl2br(value: str | None) -> Markup:
    """Escape first, then keep line breaks: model text never becomes markup."""
    return Markup("<br>".join(str(escape(line)) for line in (value or "").split("\n")))


# Where the viewer's CSRF field goes in a plan rendered once (random: no copy can contain it).
_CSRF_SLOT = f"\ue010{secrets.token_hex(8)}\ue011"


@pass_context
def plan_html(ctx: Context, plan: Any, revision: Any, *, editable: bool, conversation_id: int | None,
              anchored: dict[str, list[Any]] | None = None) -> Markup:
    """``_plan.html`` for a revision's plan view, rendered once per view, way of showing it and set of
    anchored comments (the view is kept per revision and does not change; comments are only added),
    with this request's CSRF field put in."""
    notes = tuple(sorted((k, len(v), str(v[-1].at)) for k, v in (anchored or {}).items() if v))
    key = (revision.id, revision.number, revision.content_hash, editable, conversation_id, notes)
    html = plan.rendered.get(key)
    if html is None:
        html = ctx.environment.get_template("_plan.html").render(
            plan=plan, revision=revision, editable=editable, conversation_id=conversation_id, anchored=anchored,
            csrf_input=_CSRF_SLOT)
        if len(plan.rendered) >= 16:  # comments came and went: keep the latest few renderings
            plan.rendered.clear()
        plan.rendered[key] = html
    return Markup(html.replace(_CSRF_SLOT, str(ctx.get("csrf_input") or "")))


def nav_for(user: Any) -> dict[str, bool]:
    """Which top-level pages the layout links to for this person (each page checks again)."""
    return {"queue": access.permitted(user, access.Action.READ_QUEUE),
            "users": access.permitted(user, access.Action.MANAGE_USERS)}


def unread_notifications(request: Request, user: Any) -> int:  # type: ignore[type-arg]
    """The badge's number: the person's unread notifications (one indexed count per page)."""
    runtime = request.app.state.get("runtime")
    if runtime is None or user is None or getattr(user, "id", None) is None:
        return 0
    session = request.state.get("db_session")
    if session is not None:  # the handler's own session: never a second pooled connection
        return notifications.unread_count(session, user.id)
    with runtime.session() as session:
        return notifications.unread_count(session, user.id)


def make_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(count=count_of, ago=_ago, when=_when, when_in=_when_in, nl2br=_nl2br, state_label=lambda s: STATE_LABELS.get(s, s),
                       short=lambda h: (h or "")[:10])
    env.globals["STATE_LABELS"] = STATE_LABELS
    env.globals["nav_for"] = nav_for
    env.globals["plan_html"] = plan_html
    env.globals["unread_notifications"] = unread_notifications
    env.filters["variant_key"] = variant_key
    return env


def is_htmx(request: Request) -> bool:  # type: ignore[type-arg]
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def page(request: Request, template: str, context: dict[str, Any], *,  # type: ignore[type-arg]
         fragment: str | None = None, status_code: int = 200, headers: dict[str, str] | None = None) -> Template:
    """The full page, or only ``fragment`` when htmx asked (the same template code renders both)."""
    name = fragment if fragment and is_htmx(request) else template
    return Template(name, context=context, status_code=status_code, headers=headers)
