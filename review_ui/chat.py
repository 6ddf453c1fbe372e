"""The chat page: conversations, streamed answers (SSE), the plan beside them, live copy checks, submit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template
from litestar.utils.scope.state import ScopeState
from markupsafe import escape
from sqlmodel import Session

from copilot.errors import NotFoundError, PermissionDeniedError, PlannerError, ReviewStateError, StaleRevisionError
from copilot.models import Message, User
from copilot.runtime import Runtime
from copilot.services import conversations as chat
from copilot.services import review as gate
from copilot.services.checking import check_variant
from copilot.services.copy_check import segment_samples
from review_ui.answering import LiveAnswers
from copilot.services.access import Action, draft_of_conversation, require
from review_ui.forms import MessageForm, NewConversationForm, RestoreForm, VariantForm
from review_ui.pages import chat_page, revision_diff
from review_ui.rendering import is_htmx, page
from review_ui.views import variant_view

__all__ = ["ChatController"]

def _planner(request: Request) -> Any:  # type: ignore[type-arg]
    return request.app.state.get("ui_planner")


def _answers(request: Request) -> LiveAnswers:  # type: ignore[type-arg]
    return request.app.state.ui_answers


def _render(request: Request, name: str, context: dict[str, Any]) -> str:  # type: ignore[type-arg]
    """A fragment rendered outside a response (for SSE), with the same context a page gets."""
    token = ScopeState.from_scope(request.scope).csrf_token or ""
    template = request.app.template_engine.get_template(name)  # type: ignore[union-attr]
    return template.render(request=request, csrf_input=f'<input type="hidden" name="_csrf_token" value="{token}" />',
                           **context)


class ChatController(Controller):
    path = "/chat"

    @get("", sync_to_thread=True)
    def index(self, request: Request, user: NamedDependency[User], session: NamedDependency[Session],  # type: ignore[type-arg]
              runtime: NamedDependency[Runtime]) -> Template:
        data = chat_page(session, runtime, user, request.app.state.ui_workspace_id, None)
        return page(request, "chat.html", {"page": data, "user": user})

    @post("", sync_to_thread=True, status_code=303)
    def create(self, request: Request, data: URLEncodedBody[NewConversationForm],  # type: ignore[type-arg]
               user: NamedDependency[User], session: NamedDependency[Session]) -> Redirect:
        conversation = chat.create_conversation(session, workspace_id=request.app.state.ui_workspace_id,
                                                author_id=user.id or 0, title=data.title)
        return Redirect(f"/chat/{conversation.id}", status_code=303)

    @get("/{conversation_id:int}", sync_to_thread=True)
    def show(self, request: Request, conversation_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
             session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template:
        data = chat_page(session, runtime, user, request.app.state.ui_workspace_id, conversation_id)
        return page(request, "chat.html", {"page": data, "user": user})

    @post("/{conversation_id:int}/messages", status_code=200)
    async def post_message(self, request: Request, conversation_id: FromPath[int],  # type: ignore[type-arg]
                           data: URLEncodedBody[MessageForm], user: NamedDependency[User],
                           session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template | Redirect:
        if is_htmx(request):
            # Store the message now (committed before any model call), start answering it in the
            # background; the page follows the answer over SSE.
            message = await anyio.to_thread.run_sync(lambda: chat.start_turn(
                session, conversation_id=conversation_id, actor_id=user.id or 0, text=data.text))
            await _answers(request).start(runtime, message.id or 0, planner=_planner(request))
            return Template("_turn.html", context={"message": message, "conversation_id": conversation_id})
        try:
            await chat.post_message(session, conversation_id=conversation_id, actor_id=user.id or 0, text=data.text,
                                    workspace=runtime.default_workspace, planner=_planner(request))
        except PlannerError:
            pass  # the failure is stored as the answer; the chat page shows it
        return Redirect(f"/chat/{conversation_id}", status_code=303)

    @post("/{conversation_id:int}/messages/{message_id:int}/answer", status_code=200)
    async def answer_again(self, request: Request, conversation_id: FromPath[int], message_id: FromPath[int],  # type: ignore[type-arg]
                           user: NamedDependency[User], session: NamedDependency[Session],
                           runtime: NamedDependency[Runtime]) -> Template | Redirect:
        """Answer a message nobody is answering (its process stopped); refused if it is answered or taken."""
        def load() -> Message:
            conversation = chat.get_conversation(session, conversation_id)
            if conversation.author_id != user.id:
                raise PermissionDeniedError("only the conversation's author can ask for an answer",
                                            conversation_id=conversation_id)
            message = next((m for m in chat.list_messages(session, conversation_id)
                            if m.id == message_id and m.role == "user"), None)
            if message is None:
                raise NotFoundError(f"conversation {conversation_id} has no message {message_id}")
            return message

        message = await anyio.to_thread.run_sync(load)
        await _answers(request).start(runtime, message_id, planner=_planner(request))
        if not is_htmx(request):
            return Redirect(f"/chat/{conversation_id}", status_code=303)
        return Template("_streaming.html", context={"message": message, "conversation_id": conversation_id})

    @get("/{conversation_id:int}/messages/{message_id:int}/stream")
    async def stream(self, request: Request, conversation_id: FromPath[int], message_id: FromPath[int],  # type: ignore[type-arg]
                     user: NamedDependency[User], runtime: NamedDependency[Runtime]) -> ServerSentEvent:
        """Follow an answer as it streams (never starts one), then send the finished turn."""
        def load() -> None:
            with runtime.session() as session:
                chat.readable_conversation(session, conversation_id, user.id or 0)
                if not any(m.id == message_id and m.role == "user" for m in chat.list_messages(session, conversation_id)):
                    raise NotFoundError(f"conversation {conversation_id} has no message {message_id}")

        await anyio.to_thread.run_sync(load)

        def done_html() -> str:
            with runtime.session() as fresh:
                data = chat_page(fresh, runtime, user, request.app.state.ui_workspace_id, conversation_id)
                answer = next((m for m in data.messages if m.role == "assistant" and (m.id or 0) > message_id), None)
                panel = {"conversation": data.conversation, "revision": data.revision, "plan": data.plan,
                         "review": data.review, "actions": data.actions}
                return _render(request, "_answer_done.html", {"answer": answer, "page": panel, "user": user,
                                                              "pending": data.pending, "pending_state": data.pending_state})

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            async for text in _answers(request).follow(runtime, message_id):
                # htmx inserts SSE data as HTML: every token is escaped here.
                yield ServerSentEventMessage(event="token", data=str(escape(text)))
            yield ServerSentEventMessage(event="done", data=await anyio.to_thread.run_sync(done_html))

        return ServerSentEvent(events())

    @get("/{conversation_id:int}/plan", sync_to_thread=True)
    def plan(self, request: Request, conversation_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
             session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template:
        data = chat_page(session, runtime, user, request.app.state.ui_workspace_id, conversation_id)
        return Template("_plan_panel.html", context={"page": data, "user": user})

    @post("/{conversation_id:int}/variants/{index:int}/check", sync_to_thread=True, status_code=200)
    def check(self, request: Request, conversation_id: FromPath[int], index: FromPath[int],  # type: ignore[type-arg]
              data: URLEncodedBody[VariantForm], user: NamedDependency[User], session: NamedDependency[Session],
              runtime: NamedDependency[Runtime]) -> Template:
        """Guards on the edited (unsaved) copy of one variant; htmx swaps the findings in while typing."""
        chat.readable_conversation(session, conversation_id, user.id or 0)
        revision = chat.get_revision(session, conversation_id, data.base_number)
        plan = chat.revision_plan(revision)
        if not 0 <= index < len(plan.variants):
            raise NotFoundError(f"revision {revision.number} has no variant {index}")
        base = plan.variants[index]
        _, variant = chat.edited_variant(plan, base.segment, base.key, base.message, data.changes(),
                                         locale=base.locale)
        variants = list(plan.variants)
        variants[index] = variant
        edited = plan.model_copy(update={"variants": variants})
        samples = segment_samples(session, revision)
        findings = check_variant(variant, edited, runtime.default_workspace, samples=samples)
        view = variant_view(index, variant, findings)
        return Template("_variant_findings.html", context={"v": view, "live": True})

    @post("/{conversation_id:int}/variants/{index:int}/save", sync_to_thread=True, status_code=200)
    def save(self, request: Request, conversation_id: FromPath[int], index: FromPath[int],  # type: ignore[type-arg]
             data: URLEncodedBody[VariantForm], user: NamedDependency[User], session: NamedDependency[Session],
             runtime: NamedDependency[Runtime]) -> Template | Redirect:
        revision = chat.get_revision(session, conversation_id, data.base_number)
        plan = chat.revision_plan(revision)
        if not 0 <= index < len(plan.variants):
            raise NotFoundError(f"revision {revision.number} has no variant {index}")
        base = plan.variants[index]
        chat.edit_variant(session, conversation_id=conversation_id, actor_id=user.id or 0,
                          workspace=runtime.default_workspace, base_number=data.base_number, segment=base.segment,
                          key=base.key, message=base.message, changes=data.changes(), locale=base.locale)
        if not is_htmx(request):
            return Redirect(f"/chat/{conversation_id}#variant-{index}", status_code=303)
        data_page = chat_page(session, runtime, user, request.app.state.ui_workspace_id, conversation_id)
        return Template("_plan_panel.html", context={"page": data_page, "user": user})

    @post("/{conversation_id:int}/submit", sync_to_thread=True, status_code=200)
    def submit(self, request: Request, conversation_id: FromPath[int], user: NamedDependency[User],  # type: ignore[type-arg]
               session: NamedDependency[Session], runtime: NamedDependency[Runtime]) -> Template | Redirect:
        conversation = chat.get_conversation(session, conversation_id)
        gate.submit(session, conversation, user)
        if not is_htmx(request):
            return Redirect(f"/chat/{conversation_id}", status_code=303)
        review = gate.review_for_conversation(session, conversation_id)
        return Template("_submit_panel.html", context={
            "review": review, "conversation": conversation, "user": user,
            "actions": gate.conversation_actions(session, conversation, user)})

    @get("/{conversation_id:int}/revisions/{number:int}/diff", sync_to_thread=True)
    def revision_diff(self, request: Request, conversation_id: FromPath[int], number: FromPath[int],  # type: ignore[type-arg]
                      user: NamedDependency[User], session: NamedDependency[Session],
                      against: FromQuery[int | None] = None) -> Template:
        """Revision ``number`` against the one before it, or (``against``) revision ``number`` -> ``against``;
        per field, word by word."""
        chat.readable_conversation(session, conversation_id, user.id or 0)
        if against is None:
            revision = chat.get_revision(session, conversation_id, number)
            if revision.parent_number is None:
                raise NotFoundError(f"revision {number} is the first; there is nothing before it to compare",
                                    conversation_id=conversation_id, number=number)
            before, after = revision.parent_number, number
        else:
            before, after = number, against
        context = {"diff": revision_diff(session, conversation_id, before, after), "user": user,
                   "conversation_id": conversation_id}
        return page(request, "revision_diff.html", context, fragment="_revision_diff.html")

    @post("/{conversation_id:int}/revisions/{number:int}/restore", sync_to_thread=True, status_code=303)
    def restore(self, request: Request, conversation_id: FromPath[int], number: FromPath[int],  # type: ignore[type-arg]
                data: URLEncodedBody[RestoreForm], user: NamedDependency[User], session: NamedDependency[Session],
                runtime: NamedDependency[Runtime]) -> Redirect:
        """Make revision ``number``'s plan current again: a new revision, checked by the guards like any other
        (an approval of the current one is voided as by any edit); the history is kept as it was."""
        conversation = chat.get_conversation(session, conversation_id)
        review = gate.review_for_conversation(session, conversation_id)
        require(user, Action.EDIT, draft_of_conversation(session, conversation, review))  # the author only
        if Action.EDIT not in gate.conversation_actions(session, conversation, user):
            raise ReviewStateError(f"a draft that is {review.state.replace('_', ' ') if review else 'new'} "
                                   "cannot be changed", conversation_id=conversation_id)
        latest = chat.latest_revision(session, conversation_id)
        if latest is None or latest.number != data.base_number:
            raise StaleRevisionError("another revision landed since you loaded the history; reload and try again",
                                     conversation_id=conversation_id, expected=data.base_number,
                                     current=latest.number if latest else None)
        chat.restore_revision(session, conversation_id=conversation_id, number=number, actor_id=user.id or 0,
                              workspace=runtime.default_workspace)
        return Redirect(f"/chat/{conversation_id}", status_code=303)
