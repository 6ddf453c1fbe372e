"""The copilot service's public surface: conversations, chat turns, revisions and copy edits.

The web UI, the JSON API, the CLI and the evals plan through here. The work lives in rooms by
job under ``copilot.services.conversation``: ``threads`` (conversations, messages, who may read
or write), ``turns`` (the marketer's message stored first, then the planner's answer),
``revisions`` (a plan checked by ``copilot.services.checking`` and stored), ``edits`` (copy
changed by hand) and ``answers`` (one answer per message, claimed in the database).
"""

from copilot.services.conversation.answers import (
    AnswerState,
    answer_message,
    answer_state,
    claim_answer,
    release_answer,
)
from copilot.services.conversation.edits import (
    EDITABLE_VARIANT_FIELDS,
    MANUAL_EDIT,
    edit_variant,
    edited_variant,
    find_variant,
)
from copilot.services.conversation.revisions import (
    RevisionOutcome,
    diff_revisions,
    get_revision,
    latest_revision,
    list_findings,
    list_revisions,
    restore_revision,
    revision_summaries,
    revision_plan,
    revision_to_dict,
    store_revision,
)
from copilot.services.conversation.threads import (
    conversation_usage,
    create_conversation,
    get_conversation,
    list_conversations,
    list_messages,
    message_to_dict,
    readable_conversation,
)
from copilot.services.conversation.turns import (
    MAX_MESSAGE_CHARS,
    StreamEvent,
    TurnOutcome,
    default_planner,
    post_message,
    run_turn,
    start_turn,
    stream_turn,
)

__all__ = [
    "MAX_MESSAGE_CHARS",
    "EDITABLE_VARIANT_FIELDS",
    "MANUAL_EDIT",
    "AnswerState",
    "TurnOutcome",
    "RevisionOutcome",
    "StreamEvent",
    "answer_message",
    "answer_state",
    "claim_answer",
    "release_answer",
    "create_conversation",
    "get_conversation",
    "readable_conversation",
    "list_conversations",
    "list_messages",
    "conversation_usage",
    "start_turn",
    "run_turn",
    "post_message",
    "stream_turn",
    "list_revisions",
    "revision_summaries",
    "get_revision",
    "latest_revision",
    "revision_plan",
    "list_findings",
    "revision_to_dict",
    "message_to_dict",
    "diff_revisions",
    "restore_revision",
    "store_revision",
    "find_variant",
    "edited_variant",
    "edit_variant",
    "default_planner",
]
