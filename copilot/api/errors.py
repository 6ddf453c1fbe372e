"""The one place errors become HTTP responses, and the error answers each route documents.

Every error answer of the JSON API has one shape: ``{"error": <name>, "message": <what is wrong
and where>, ...context}`` (``problems`` lists each problem of a bad body or query). Product errors
(copilot.errors) carry their own status; Litestar's own (a malformed body, a missing token, an
unknown route) are given the same shape here. Routes list the statuses they can answer with
``responses(...)``, so the OpenAPI schema documents every one (schemathesis checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from copilot.errors import CopilotError

__all__ = ["copilot_error_handler", "http_error_handler", "EXCEPTION_HANDLERS", "ErrorBody", "responses",
           "ERROR_MEANINGS"]


@dataclass
class ErrorBody:
    """Every error answer; context attributes (``field``, ``problems``, ``review_id`` ...) may follow."""

    error: str
    message: str
    problems: list[Any] = field(default_factory=list)


ERROR_MEANINGS: dict[int, str] = {
    400: "Malformed request: a parameter or body field is missing, of the wrong type or out of range "
         "(`problems` names each one).",
    401: "No bearer token, or one that is unknown, revoked or whose user is deactivated.",
    403: "The access matrix refuses this action to the caller (docs/access.md); `message` says why.",
    404: "No such conversation, revision, review, finding, user or workspace (ids beyond 64 bits included).",
    409: "Conflict: the draft's state does not allow this, or it changed since the `version` sent (reload and "
         "decide again), or an account change would lock people out.",
    422: "Well-formed but invalid: a plan, a variant edit or a message the product cannot accept "
         "(`problems` lists each with its path), or a review action's input (a blank reason, a send time in "
         "the past, an unknown time zone; `field` names it).",
    413: "The request body is larger than the server reads (COPILOT_MAX_REQUEST_BYTES, 2,000,000 bytes by "
         "default); nothing was read or stored.",
    429: "Too many requests; wait for the seconds in `Retry-After`.",
    502: "The model planner failed and no fallback answered.",
    503: "The database cannot be reached.",
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI error answers for a route, all with the ErrorBody shape."""
    return {code: ResponseSpec(data_container=ErrorBody, description=ERROR_MEANINGS[code], generate_examples=False)
            for code in codes}


def copilot_error_handler(request: Request, exc: CopilotError) -> Response:  # type: ignore[type-arg]
    return Response(content=exc.to_dict(), status_code=exc.http_status, media_type=MediaType.JSON)


def _name(exc: HTTPException) -> str:
    name = type(exc).__name__.removesuffix("Exception")
    return {"Validation": "ValidationError", "HTTP": "HTTPError"}.get(name, name)


def http_error_handler(request: Request, exc: HTTPException) -> Response:  # type: ignore[type-arg]
    body: dict[str, Any] = {"error": _name(exc), "message": exc.detail}
    if exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        sent = request.headers.get("content-length")
        size = f" of {int(sent):,} bytes" if sent and sent.isdigit() else ""
        body = {"error": "RequestEntityTooLarge", "limit_bytes": limit, "message": (
            f"the request body{size} is larger than the {limit:,} bytes this server reads "
            "(COPILOT_MAX_REQUEST_BYTES); nothing was read or stored. A copy field holds at most "
            "100,000 characters: send less at once.")}
    if isinstance(exc, ValidationException) and exc.extra:
        problems = exc.extra if isinstance(exc.extra, list) else [exc.extra]
        body["problems"] = problems
        described = [f"{p.get('key') or p.get('source') or 'body'}: {p.get('message')}" for p in problems
                     if isinstance(p, dict)]
        if described:
            body["message"] = f"{exc.detail}: " + "; ".join(described)
    return Response(content=body, status_code=exc.status_code, media_type=MediaType.JSON, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Any] = {CopilotError: copilot_error_handler, HTTPException: http_error_handler}
