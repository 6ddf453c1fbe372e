"""JSON API for delivery (events in, campaign control and the send log) and the public unsubscribe
endpoint. Thin: copilot.delivery and copilot.services.events decide everything."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import Session

from copilot.api.auth import provide_actor
from copilot.api.errors import responses
from copilot.db import fits_id
from copilot.delivery import jobs
from copilot.delivery import service as delivery
from copilot.delivery import unsubscribe as unsub
from copilot.delivery.engine import workspace_lookup
from copilot.delivery.export import export as export_plan
from copilot.delivery.tokens import signer_for
from copilot.errors import CopilotError, NotFoundError
from copilot.models import Review, User
from copilot.runtime import Runtime
from copilot.services import access
from copilot.services.events import record_events
from copilot.services.workspaces import get_workspace_record

__all__ = ["EventController", "CampaignController", "UnsubscribeController"]


class EventController(Controller):
    path = "/api/events"
    tags = ["delivery"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @post("", sync_to_thread=True, status_code=202, responses=responses(400, 401, 403, 404, 422))
    def record(self, data: JSONBody[dict[str, Any]], actor: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        """Record events (``{"workspace": slug?, "events": [{"email", "event", "occurred_at", "properties"}]}``),
        checked against the catalog; event-triggered journeys pick them up at once. 422 lists every bad event."""
        workspace = runtime.workspace(data.get("workspace"))
        workspace_id = get_workspace_record(session, workspace.slug).id or 0
        count = record_events(session, workspace, workspace_id, data.get("events"))  # type: ignore[arg-type]
        session.commit()
        jobs.notify(runtime.settings)
        return {"recorded": count, "workspace": workspace.slug}


def _review(session: Session, review_id: int, actor: User | None = None) -> Review:
    """The campaign's review; 404 for an id no row can have; 403 when the access matrix hides it from ``actor``."""
    review = session.get(Review, review_id) if fits_id(review_id) else None
    if review is None:
        raise NotFoundError(f"no campaign {review_id}", review_id=review_id)
    if actor is not None:
        access.require(actor, access.Action.READ_REVIEW, access.draft_of_review(session, review))
    return review


_READ = responses(400, 401, 403, 404)
# The unsubscribe page answers in HTML whatever goes wrong (a person, not a program, reads it).
_PAGE = {400: ResponseSpec(data_container=str, media_type=MediaType.HTML, generate_examples=False,
                           description="The link is malformed, expired or was not signed by us: a page says so."),
         404: ResponseSpec(data_container=str, media_type=MediaType.HTML, generate_examples=False,
                           description="The address is no longer on our lists: a page says so.")}
_CONTROL = responses(400, 401, 403, 404, 409)


class CampaignController(Controller):
    path = "/api/campaigns/{review_id:int}"
    tags = ["delivery"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @get("", sync_to_thread=True, responses=_READ)
    def status(self, review_id: FromPath[int], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """The campaign's review state and live counts: queued, sent, failed, suppressed, held out, cancelled."""
        review = _review(session, review_id, actor)
        return {"review_state": review.state, **delivery.counts(session, review_id)}

    @post("/pause", sync_to_thread=True, status_code=200, responses=_CONTROL)
    def pause(self, review_id: FromPath[int], actor: NamedDependency[User], session: NamedDependency[Session],
              data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
        _review(session, review_id)
        delivery.pause(session, review_id, actor, reason=(data or {}).get("reason"))
        session.commit()
        return delivery.counts(session, review_id)

    @post("/resume", sync_to_thread=True, status_code=200, responses=_CONTROL)
    def resume(self, review_id: FromPath[int], actor: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime], data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
        _review(session, review_id)
        delivery.resume(session, review_id, actor, reason=(data or {}).get("reason"))
        session.commit()
        jobs.notify(runtime.settings)
        return delivery.counts(session, review_id)

    @post("/cancel", sync_to_thread=True, status_code=200, responses=_CONTROL)
    def cancel(self, review_id: FromPath[int], actor: NamedDependency[User], session: NamedDependency[Session],
               data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
        _review(session, review_id)
        body = data or {}
        delivery.cancel(session, review_id, actor, body.get("version"), reason=body.get("reason"))
        session.commit()
        return {"review_state": "cancelled", **delivery.counts(session, review_id)}

    @get("/why", sync_to_thread=True, responses=_READ)
    def why(self, review_id: FromPath[int], contact: FromQuery[str], actor: NamedDependency[User],
            session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> dict[str, Any]:
        """Why this contact (id or email) got the campaign, or did not: segment, arm, or the rule that stopped it."""
        review = _review(session, review_id, actor)
        workspace = workspace_lookup(session, runtime)(review.workspace_id)
        return delivery.explain(session, workspace, review_id, contact).to_dict()

    @get("/export", sync_to_thread=True, responses=responses(400, 401, 403, 404, 409))
    def export(self, review_id: FromPath[int], actor: NamedDependency[User], session: NamedDependency[Session],
               runtime: NamedDependency[Runtime], format: FromQuery[str] = "json") -> dict[str, Any]:  # noqa: A002
        """The approved plan for sending elsewhere: ``format=listmonk`` (its list and campaign API bodies)
        or ``format=json`` (segments as SQL, copy per locale)."""
        review = _review(session, review_id, actor)
        workspace = workspace_lookup(session, runtime)(review.workspace_id)
        return export_plan(session, workspace, review, format)


class UnsubscribeController(Controller):
    """No login: the signed token in the link is the credential (RFC 8058 one-click POST, or the page)."""

    path = "/unsubscribe/{token:str}"
    include_in_schema = True
    tags = ["delivery"]

    def _token(self, runtime: Runtime, token: str) -> tuple[Any, str | None]:
        return unsub.check(signer_for(runtime.settings), token, runtime.settings.unsubscribe_days)

    @get("", sync_to_thread=True, media_type=MediaType.HTML, responses=_PAGE)
    def show(self, token: FromPath[str], session: NamedDependency[Session],
             runtime: NamedDependency[Runtime]) -> Response[str]:
        """The confirmation page: unsubscribe from all marketing email, or stay. A GET changes nothing
        (link scanners fetch links)."""
        data, problem = self._token(runtime, token)
        if data is None:
            return _html(unsub.page(runtime.default_workspace, action="", problem=problem), 400)
        contact = unsub.contact_for(session, data)
        workspace = _workspace(session, runtime, data.workspace_id)
        if contact is None:
            return _html(unsub.page(workspace, action="", problem="this address is no longer on our lists"), 404)
        return _html(unsub.page(workspace, action=f"/unsubscribe/{token}", email=contact.email))

    @post("", media_type=MediaType.HTML, status_code=200, responses=_PAGE)
    async def submit(self, request: Request, token: FromPath[str], session: NamedDependency[Session],  # type: ignore[type-arg]
                     runtime: NamedDependency[Runtime]) -> Response[str]:
        """One-click (body ``List-Unsubscribe=One-Click``) or the page's form (``choice=unsubscribe|stay``)."""
        form = await request.form()
        one_click = form.get("List-Unsubscribe") == "One-Click"
        choice = "unsubscribe" if one_click else str(form.get("choice") or "unsubscribe")
        return await _sync(self._apply, session, runtime, token, choice, one_click)

    def _apply(self, session: Session, runtime: Runtime, token: str, choice: str, one_click: bool) -> Response[str]:
        data, problem = self._token(runtime, token)
        if data is None:
            return _html(unsub.page(runtime.default_workspace, action="", problem=problem), 400)
        contact, done = unsub.apply_choice(session, data, choice, method="one-click" if one_click else "page")
        session.commit()
        workspace = _workspace(session, runtime, data.workspace_id)
        if contact is None:
            return _html(unsub.page(workspace, action="", problem="this address is no longer on our lists"), 404)
        return _html(unsub.page(workspace, action=f"/unsubscribe/{token}", email=contact.email, done=done))


async def _sync(fn: Any, *args: Any) -> Any:
    from anyio import to_thread

    return await to_thread.run_sync(fn, *args)


def _workspace(session: Session, runtime: Runtime, workspace_id: int) -> Any:
    try:
        return workspace_lookup(session, runtime)(workspace_id)
    except (CopilotError, AssertionError):
        return runtime.default_workspace


_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                            "base-uri 'none'; frame-ancestors 'none'",
                 "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _html(content: str, status: int = 200) -> Response[str]:
    return Response(content=content, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)
