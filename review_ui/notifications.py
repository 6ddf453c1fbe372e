"""In-app notifications (issue 20): the list, opening one (marks it read and goes to the draft), marking
read. Every person sees only their own; the service (copilot.services.notifications) decides who is told."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlmodel import Session

from copilot.models import User
from copilot.services import notifications as notes
from review_ui.rendering import is_htmx, page

__all__ = ["NotificationsController"]


class NotificationsController(Controller):
    path = "/notifications"

    @get("", sync_to_thread=True)
    def index(self, request: Request, user: NamedDependency[User],  # type: ignore[type-arg]
              session: NamedDependency[Session]) -> Template:
        return page(request, "notifications.html", {"rows": notes.list_notifications(session, user), "user": user})

    @get("/{notification_id:int}", sync_to_thread=True)
    def open(self, notification_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
             session: NamedDependency[Session]) -> Redirect:
        """Follow a notification: it is read now; the draft's owner lands in the chat, others on the review."""
        row = notes.get_notification(session, user, notification_id)
        notes.mark_read(session, user, [row.id])
        session.commit()
        return Redirect(row.href, status_code=303)

    @post("/{notification_id:int}/read", sync_to_thread=True, status_code=200)
    def read(self, request: Request, notification_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
             session: NamedDependency[Session]) -> Template | Redirect:
        notes.get_notification(session, user, notification_id)  # someone else's is not found
        notes.mark_read(session, user, [notification_id])
        session.commit()
        if not is_htmx(request):
            return Redirect("/notifications", status_code=303)
        return Template("_notification.html", context={"n": notes.get_notification(session, user, notification_id)})

    @post("/read-all", sync_to_thread=True, status_code=303)
    def read_all(self, user: NamedDependency[User], session: NamedDependency[Session]) -> Redirect:  # type: ignore[type-arg]
        notes.mark_all_read(session, user)
        session.commit()
        return Redirect("/notifications", status_code=303)
