"""A variant's previews, one document per sample contact (the plan page frames them at desktop and phone
width), and "send me a test": the same message, through the delivery transport, to the viewer's own
address. Anyone who may read the draft may do both."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel import Session

from copilot.delivery.test_send import send_test
from copilot.delivery.transports import TransportError
from copilot.errors import NotFoundError
from copilot.models import PlanRevision, User
from copilot.runtime import Runtime
from copilot.services import conversations as chat
from review_ui.pages import revision_view
from review_ui.rendering import is_htmx
from review_ui.views import VariantView

__all__ = ["PreviewController", "PREVIEW_POLICY"]

# The preview document is the e-mail: no script, nothing but its own inline styles and remote images,
# framed only by our pages (the frame is sandboxed too).
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https: data:; "
                  "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def _variant(session: Session, runtime: Runtime, user: User, revision_id: int, index: int) -> VariantView:
    revision = session.get(PlanRevision, revision_id)
    if revision is None:
        raise NotFoundError(f"no revision {revision_id}", revision_id=revision_id)
    chat.readable_conversation(session, revision.conversation_id, user.id or 0)
    view = revision_view(session, runtime, revision, chat.list_findings(session, revision_id))
    if not 0 <= index < len(view.variants):
        raise NotFoundError(f"revision {revision_id} has no variant {index}", revision_id=revision_id)
    return view.variants[index]


class PreviewController(Controller):
    path = "/previews"

    @get("/{revision_id:int}/{index:int}/{number:int}", sync_to_thread=True)
    def preview(self, revision_id: FromPath[int], index: FromPath[int], number: FromPath[int],
                user: NamedDependency[User], session: NamedDependency[Session],
                runtime: NamedDependency[Runtime]) -> Response[str]:
        variant = _variant(session, runtime, user, revision_id, index)
        if not 0 <= number < len(variant.previews) or variant.previews[number].error:
            raise NotFoundError(f"variant {index} has no preview {number}", revision_id=revision_id)
        # A revision never changes: the desktop and phone frames share one download.
        return Response(variant.previews[number].html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "private, max-age=600"})

    @post("/{revision_id:int}/{index:int}/test-send", sync_to_thread=True, status_code=200)
    def test_send(self, request: Request, revision_id: FromPath[int], index: FromPath[int],  # type: ignore[type-arg]
                  user: NamedDependency[User], session: NamedDependency[Session],
                  runtime: NamedDependency[Runtime]) -> Template:
        variant = _variant(session, runtime, user, revision_id, index)
        sample = variant.sample
        status, ok = 200, False
        if not user.email:
            message = "Your account has no e-mail address yet: an admin adds it on the Users page."
            status = 409
        elif sample is None or sample.contact is None:
            message = "This variant cannot be rendered, so there is nothing to send."
            status = 409
        else:
            try:
                send_test(runtime.settings, runtime.default_workspace, variant.variant, sample.contact, to=user.email)
            except TransportError as exc:
                message, status = f"The test could not be sent: {exc.message}", 502
            else:
                message, ok = f"Test sent to {user.email} ({sample.label.lower()}'s values).", True
        context = {"message": message, "ok": ok, "user": user, "back": request.headers.get("referer") or "/"}
        return Template("_test_sent.html" if is_htmx(request) else "test_sent.html", context=context,
                        status_code=status)
