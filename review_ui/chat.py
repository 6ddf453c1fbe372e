"""The chat page: conversations, streamed answers (SSE), the plan beside them, live copy checks, submit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template
from litestar.utils.scope.state import ScopeState
from markupsafe import escape
from sqlmodel import Session

from copilot.errors import NotFoundError, PlannerError
from copilot.models import Message, User
from copilot.runtime import Runtime
from copilot.services import conversations as chat
from copilot.services import review as gate
from copilot.services.copy_check import check_variant, edited_variant, segment_samples
from review_ui.forms import MessageForm, NewConversationForm, VariantForm
from review_ui.pages import chat_page, pending_message, plan_panel
from review_ui.rendering import is_htmx, page
from review_ui.views import variant_view

__all__ = ["ChatController"]

# Messages whose answer this process is making now (one planner run per message).
_ANSWERING: set[int] = set()
_WAIT_FOR_ANSWER = 180.0


def _planner(request: Request) -> Any:  # type: ignore[type-arg]
    return request.app.state.get("ui_planner")


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
            # Store the message now (committed before any model call); the answer streams over SSE.
            message = await anyio.to_thread.run_sync(lambda: chat.start_turn(
                session, conversation_id=conversation_id, actor_id=user.id or 0, text=data.text))
            return Template("_turn.html", context={"message": message, "conversation_id": conversation_id})
        try:
            await chat.post_message(session, conversation_id=conversation_id, actor_id=user.id or 0, text=data.text,
                                    workspace=runtime.default_workspace, planner=_planner(request))
        except PlannerError:
            pass  # the failure is stored as the answer; the chat page shows it
        return Redirect(f"/chat/{conversation_id}", status_code=303)

    @get("/{conversation_id:int}/messages/{message_id:int}/stream")
    async def stream(self, request: Request, conversation_id: FromPath[int], message_id: FromPath[int],  # type: ignore[type-arg]
                     user: NamedDependency[User], runtime: NamedDependency[Runtime]) -> ServerSentEvent:
        planner = _planner(request)

        def load() -> tuple[Session, Message, bool]:
            session = runtime.session()
            try:
                conversation = chat.readable_conversation(session, conversation_id, user.id or 0)
            except BaseException:
                session.close()
                raise
            messages = chat.list_messages(session, conversation_id)
            message = next((m for m in messages if m.id == message_id and m.role == "user"), None)
            if message is None:
                session.close()
                raise NotFoundError(f"conversation {conversation_id} has no message {message_id}")
            waiting = pending_message(messages)
            return session, message, waiting is not None and waiting.id == message_id \
                and conversation.author_id == user.id

        session, message, must_answer = await anyio.to_thread.run_sync(load)

        def done_html() -> str:
            with runtime.session() as fresh:
                messages = chat.list_messages(fresh, conversation_id)
                answer = next((m for m in messages if m.role == "assistant" and (m.id or 0) > message_id), None)
                revision, plan = plan_panel(fresh, runtime, conversation_id)
                conversation = chat.get_conversation(fresh, conversation_id)
                panel = {"conversation": conversation, "revision": revision, "plan": plan,
                         "review": gate.review_for_conversation(fresh, conversation_id),
                         "actions": gate.conversation_actions(fresh, conversation, user)}
                return _render(request, "_answer_done.html", {"answer": answer, "page": panel, "user": user})

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            try:
                if must_answer and message_id in _ANSWERING:
                    # A reload while the answer is being made: wait for it instead of planning twice.
                    with anyio.move_on_after(_WAIT_FOR_ANSWER):
                        while message_id in _ANSWERING:
                            await anyio.sleep(0.25)
                elif must_answer:
                    _ANSWERING.add(message_id)
                    try:
                        async for event in chat.stream_turn(session, message, workspace=runtime.default_workspace,
                                                            planner=planner):
                            if event.event == "token":
                                # htmx inserts SSE data as HTML: every token is escaped here.
                                yield ServerSentEventMessage(event="token", data=str(escape(event.data)))
                    finally:
                        _ANSWERING.discard(message_id)
            finally:
                await anyio.to_thread.run_sync(session.close)
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
        _, variant = edited_variant(plan, base.segment, base.key, base.message, data.changes())
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
                          key=base.key, message=base.message, changes=data.changes())
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
