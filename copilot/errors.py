"""The product's error tree. Every error the core raises on purpose is one of these.

    CopilotError                  base; carries a message and context attributes
    ├── ConfigError               a setting or environment value is unusable
    ├── InvalidRequestError       a request's parameter is malformed or out of range (a queue filter)
    ├── WorkspaceError            a brand folder is missing, malformed or inconsistent
    ├── ImportDataError           a CSV import has bad rows or a bad header (nothing written)
    ├── PlanValidationError       a plan does not fit the plan model or the workspace
    ├── BriefError                a brief is empty, too long or otherwise unusable
    ├── NotFoundError             a named thing (workspace, plan, user ...) does not exist
    ├── PermissionDeniedError     the actor may not do this (role, authorship)
    ├── AccountStateError         an account change would lock people out (the last admin, yourself)
    ├── ReviewStateError          a review transition is not allowed from this state
    │   ├── StaleRevisionError    someone else changed the draft first (optimistic concurrency)
    │   └── ReviewInputError      a review action's input is unusable (a blank reason, a send time in the past)
    ├── PlannerError              a planner could not produce a plan
    ├── AnswerInProgressError     another process is answering this message already
    ├── PromptError               a prompt template is missing, malformed or given the wrong variables
    ├── RenderError               copy cannot be rendered for a contact (template, sandbox, URL)
    ├── EvalError                 an eval suite, results file or run option is unusable
    └── DatabaseUnavailableError  the database cannot be reached

The web layer maps these to HTTP responses in one handler (`copilot.api.errors`);
the CLI prints `error: <message>` to stderr and exits 2.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CopilotError",
    "ConfigError",
    "InvalidRequestError",
    "WorkspaceError",
    "ImportDataError",
    "PlanValidationError",
    "BriefError",
    "NotFoundError",
    "PermissionDeniedError",
    "AccountStateError",
    "ReviewStateError",
    "StaleRevisionError",
    "ReviewInputError",
    "PlannerError",
    "AnswerInProgressError",
    "PromptError",
    "RenderError",
    "EvalError",
    "DatabaseUnavailableError",
]


class CopilotError(Exception):
    """Base of every error the product raises on purpose."""

    http_status = 400

    # ``message`` is positional-only so context may carry a key of that name (a plan's
    # "message" is an email of the journey) without a TypeError in the error path itself.
    def __init__(self, message: str, /, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: v for k, v in self.context.items() if _jsonable(v)}
        # The error's name and text always win over a context key of the same name.
        data.update(error=type(self).__name__, message=self.message)
        return data


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, dict))


class ConfigError(CopilotError):
    """Raised when a setting is unusable, e.g. COPILOT_PORT=abc."""


class InvalidRequestError(CopilotError):
    """Raised when a request's parameter is malformed or out of range, e.g. an unknown queue sort.
    Context: ``problems`` (each as text)."""

    http_status = 400


class WorkspaceError(CopilotError):
    """Raised when a brand folder cannot be loaded.

    Context: ``file`` (path of the YAML file), ``path`` (location inside it, e.g.
    ``offers[2].ends``), ``problems`` (every problem found, as dicts).
    """

    http_status = 422


class ImportDataError(CopilotError):
    """Raised when a CSV import is refused; ``problems`` lists (line, reason)."""

    http_status = 422


class PlanValidationError(CopilotError):
    """Raised when a plan is invalid; ``problems`` lists {path, message}."""

    http_status = 422


class BriefError(CopilotError):
    """Raised when a brief cannot be planned (empty, too long)."""

    http_status = 422


class NotFoundError(CopilotError):
    """Raised when a named thing does not exist."""

    http_status = 404


class PermissionDeniedError(CopilotError):
    """Raised when the actor's role or authorship forbids the action."""

    http_status = 403


class AccountStateError(CopilotError):
    """Raised when an account change would leave nobody able to manage accounts (the last active admin)
    or would lock out the admin making it (their own role or activation)."""

    http_status = 409


class ReviewStateError(CopilotError):
    """Raised when a review transition is not allowed from the current state."""

    http_status = 409


class StaleRevisionError(ReviewStateError):
    """Raised when the draft changed since the actor loaded it."""

    http_status = 409


class ReviewInputError(ReviewStateError):
    """Raised when what the actor typed cannot be used, whatever the draft's state: a required
    reason left blank, a send time in the past or not a time, an unknown time zone. ``field``
    (in the context) names the form field, so a form can show the message beside it."""

    http_status = 422


class PlannerError(CopilotError):
    """Raised when a planner cannot produce a plan at all."""

    http_status = 502


class AnswerInProgressError(CopilotError):
    """Raised when a message is already answered, or being answered by another process (one answer each)."""

    http_status = 409


class EvalError(CopilotError):
    """Raised when an eval suite or results file is malformed, or a run cannot start.

    Context: ``file`` (the suite or results file), ``path`` (location inside it, e.g.
    ``tests[3].assert[0].type``), ``problems`` (every problem found, as dicts).
    """

    http_status = 422


class RenderError(CopilotError):
    """Raised when a variant cannot be rendered: bad template syntax, a construct outside
    the copy template language or the sandbox, a merge field with no value and no
    fallback, or a CTA URL that is not a valid http(s) URL after rendering.

    Context: ``field`` (subject, preheader, body, cta_text, cta_url), ``kind`` (syntax,
    not_allowed, expression (an output that is not a merge field, arithmetic), limit (size, nesting,
    output or render time beyond the language's limits), sandbox, undefined, runtime, bad_url), ``line`` (template line or None),
    ``variable`` (the merge field involved, when there is one).
    """

    http_status = 422


class PromptError(CopilotError):
    """Raised when a prompt file in prompts/ is missing or malformed, or is rendered with a
    missing or unknown variable. Context: ``prompt`` (its name), ``missing`` / ``unknown``
    (variable names), ``file``.
    """

    http_status = 500


class DatabaseUnavailableError(CopilotError):
    """Raised when the database cannot be reached."""

    http_status = 503
