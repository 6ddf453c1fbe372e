"""The review queue, a review's detail and its actions, and the Scheduled list. Thin: the gate
(copilot.services.review) decides everything; these handlers only translate forms and pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from copilot.delivery import jobs
from copilot.delivery import service as delivery
from copilot.errors import ReviewInputError
from copilot.models import User
from copilot.runtime import Runtime
from copilot.services import review as gate
from copilot.services import review_queue as queue
from review_ui.forms import ActionForm, ScheduleForm
from review_ui.pages import detail_page
from review_ui.rendering import is_htmx, page

__all__ = ["ReviewController", "ScheduledController"]


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


class ReviewController(Controller):
    path = "/review"

    @get("", sync_to_thread=True)
    def queue_page(self, request: Request, user: NamedDependency[User], session: NamedDependency[Session],  # type: ignore[type-arg]
                   status: FromQuery[str] = "in_review", author: FromQuery[str | None] = None,
                   risk: FromQuery[str | None] = None, sort: FromQuery[str] = "age",
                   page_number: FromQuery[int] = 1) -> Template:
        f = queue.QueueFilter(status=status, author_id=_int_or_none(author), risk=risk or None, sort=sort,  # type: ignore[arg-type]
                              page=page_number, workspace_id=request.app.state.ui_workspace_id)
        data = queue.list_queue(session, f, user)
        context = {"q": data, "user": user, "states": ("all", *gate.TRANSITIONS),
                   "authors": queue.queue_authors(session, user, request.app.state.ui_workspace_id)}
        return page(request, "review_queue.html", context, fragment="_queue.html")

    @get("/{review_id:int}", sync_to_thread=True)
    def detail(self, request: Request, review_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
               session: NamedDependency[Session], runtime: NamedDependency[Runtime],
               action: FromQuery[str | None] = None) -> Template:
        context = {**detail_page(session, runtime, review_id, user), "user": user, "focus": action}
        return page(request, "review_detail.html", context)

    def _after(self, request: Request, session: Session, runtime: Runtime, review_id: int, user: User,  # type: ignore[type-arg]
               view: str = "") -> Template | Redirect:
        if not is_htmx(request):
            return Redirect("/scheduled" if view == "scheduled" else f"/review/{review_id}", status_code=303)
        if view == "scheduled":
            return Template("_scheduled_rows.html", context=_scheduled_context(request, session, user))
        context = {**detail_page(session, runtime, review_id, user), "user": user, "focus": None}
        return Template("_review_main.html", context=context)

    def _act(self, request: Request, session: Session, runtime: Runtime, review_id: int, user: User,  # type: ignore[type-arg]
             view: str, action: Callable[[], Any]) -> Template | Redirect:
        action()
        return self._after(request, session, runtime, review_id, user, view)

    @post("/{review_id:int}/approve", sync_to_thread=True, status_code=200)
    def approve(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
                user: NamedDependency[User], session: NamedDependency[Session],
                runtime: NamedDependency[Runtime]) -> Template | Redirect:
        # Approving is on purpose: the form comes from the confirmation, which names the revision's hash.
        return self._act(request, session, runtime, review_id, user, "", lambda: gate.approve(
            session, review_id, user, data.version, comment=data.comment, expected_hash=data.confirm.strip()))

    @post("/{review_id:int}/sections/{section:str}/approve", sync_to_thread=True, status_code=200)
    def approve_section(self, request: Request, review_id: FromPath[int], section: FromPath[str],  # type: ignore[type-arg]
                        data: URLEncodedBody[ActionForm], user: NamedDependency[User],
                        session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template | Redirect:
        # One section (audience, trigger, copy), confirmed by the section hash its confirmation showed.
        return self._act(request, session, runtime, review_id, user, "", lambda: gate.approve_section(
            session, review_id, user, data.version, section=section, expected_hash=data.confirm,
            comment=data.comment))

    @post("/{review_id:int}/request-changes", sync_to_thread=True, status_code=200)
    def request_changes(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
                        user: NamedDependency[User], session: NamedDependency[Session],
                        runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, data.view, lambda: gate.request_changes(
            session, review_id, user, data.version, comment=data.comment, anchor=data.anchor))

    @post("/{review_id:int}/reject", sync_to_thread=True, status_code=200)
    def reject(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
               user: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, data.view, lambda: gate.reject(
            session, review_id, user, data.version, reason=data.reason))

    @post("/{review_id:int}/findings/{finding_id:int}/override", sync_to_thread=True, status_code=200)
    def override(self, request: Request, review_id: FromPath[int], finding_id: FromPath[int],  # type: ignore[type-arg]
                 data: URLEncodedBody[ActionForm], user: NamedDependency[User], session: NamedDependency[Session],
                 runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, "", lambda: gate.override_finding(
            session, review_id, user, data.version, finding_id=finding_id, reason=data.reason))

    @post("/{review_id:int}/findings/{finding_id:int}/acknowledge", sync_to_thread=True, status_code=200)
    def acknowledge(self, request: Request, review_id: FromPath[int], finding_id: FromPath[int],  # type: ignore[type-arg]
                    data: URLEncodedBody[ActionForm], user: NamedDependency[User],
                    session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, "", lambda: gate.acknowledge_finding(
            session, review_id, user, data.version, finding_id=finding_id, reason=data.reason))

    @post("/{review_id:int}/schedule", sync_to_thread=True, status_code=200)
    def schedule(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ScheduleForm],  # type: ignore[type-arg]
                 user: NamedDependency[User], session: NamedDependency[Session],
                 runtime: NamedDependency[Runtime]) -> Template | Redirect:
        try:
            review = gate.schedule(session, review_id, user, data.version, at=data.at, timezone=data.timezone)
        except ReviewInputError as exc:  # a form error: shown beside its field, with what was typed kept
            session.rollback()
            error = {"field": str(exc.context.get("field") or "at"), "message": exc.message,
                     "at": data.at, "timezone": data.timezone}
            context = {**detail_page(session, runtime, review_id, user, schedule_error=error), "user": user,
                       "focus": None}
            return Template("_review_main.html" if is_htmx(request) else "review_detail.html", context=context,
                            status_code=422)
        session.commit()
        jobs.notify(runtime.settings, eta=review.scheduled_for)  # the workers wake at the send time
        return self._after(request, session, runtime, review_id, user)

    @post("/{review_id:int}/cancel", sync_to_thread=True, status_code=200)
    def cancel(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
               user: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, data.view, lambda: delivery.cancel(
            session, review_id, user, data.version, reason=data.reason or data.comment))

    @post("/{review_id:int}/pause", sync_to_thread=True, status_code=200)
    def pause(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
              user: NamedDependency[User], session: NamedDependency[Session],
              runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, data.view, lambda: delivery.pause(
            session, review_id, user, data.version, reason=data.reason or data.comment))

    @post("/{review_id:int}/resume", sync_to_thread=True, status_code=200)
    def resume(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
               user: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime]) -> Template | Redirect:
        response = self._act(request, session, runtime, review_id, user, data.view, lambda: delivery.resume(
            session, review_id, user, data.version, reason=data.comment))
        jobs.notify(runtime.settings)  # the workers pick the campaign up again
        return response

    @post("/{review_id:int}/comment", sync_to_thread=True, status_code=200)
    def comment(self, request: Request, review_id: FromPath[int], data: URLEncodedBody[ActionForm],  # type: ignore[type-arg]
                user: NamedDependency[User], session: NamedDependency[Session],
                runtime: NamedDependency[Runtime]) -> Template | Redirect:
        return self._act(request, session, runtime, review_id, user, "", lambda: gate.add_comment(
            session, review_id, user, text=data.comment, anchor=data.anchor))


_SCHEDULED_STATES = ("scheduled", "sending", "sent")


def _scheduled_context(request: Request, session: Session, user: User) -> dict[str, Any]:  # type: ignore[type-arg]
    rows = queue.list_scheduled(session, user, request.app.state.ui_workspace_id, states=_SCHEDULED_STATES)
    ids = [r.id for r in rows]
    deliveries = {rid: delivery.delivery_for(session, rid) for rid in ids}
    return {"rows": rows, "user": user, "counts": delivery.counts_by_review(session, ids),
            "delivery_states": {rid: d.state if d else None for rid, d in deliveries.items()}}


def _scheduled_rows(request: Request, session: Session, user: User) -> Template | Redirect:  # type: ignore[type-arg]
    if not is_htmx(request):
        return Redirect("/scheduled", status_code=303)
    return Template("_scheduled_rows.html", context=_scheduled_context(request, session, user))


class ScheduledController(Controller):
    path = "/scheduled"

    @get("", sync_to_thread=True)
    def scheduled(self, request: Request, user: NamedDependency[User],  # type: ignore[type-arg]
                  session: NamedDependency[Session]) -> Template:
        return page(request, "scheduled.html", _scheduled_context(request, session, user),
                    fragment="_scheduled_rows.html")

    @get("/{review_id:int}/counts", sync_to_thread=True)
    def counts(self, review_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
               session: NamedDependency[Session]) -> Template:
        """The row's live counts (htmx polls this every second while a campaign is scheduled or sending)."""
        row = delivery.counts(session, review_id)
        review = gate.get_review(session, review_id)
        return Template("_scheduled_counts.html", context={"id": review_id, "c": row, "state": review.state,
                                                           "delivery_state": row["state"]})
