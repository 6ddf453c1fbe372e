"""The UI's one place where errors become responses: an htmx request gets a message swapped into
the page's alert area; a plain request gets an error page (or the login page when logged out)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

from copilot.errors import CopilotError, StaleRevisionError
from review_ui.rendering import is_htmx

__all__ = ["UI_EXCEPTION_HANDLERS"]


def _message(request: Request, message: str, status: int, *, stale: bool = False) -> Response[Any]:  # type: ignore[type-arg]
    context = {"message": message, "status": status, "stale": stale, "back": request.headers.get("referer", "")}
    if is_htmx(request):
        return Template("_flash.html", context=context, status_code=status,
                        headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return Template("error.html", context=context, status_code=status)


def copilot_error(request: Request, exc: CopilotError) -> Response[Any]:  # type: ignore[type-arg]
    return _message(request, exc.message, exc.http_status, stale=isinstance(exc, StaleRevisionError))


def not_logged_in(request: Request, exc: NotAuthorizedException) -> Response[Any]:  # type: ignore[type-arg]
    target = "/login?next=" + quote(request.url.path)
    if is_htmx(request):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def forbidden(request: Request, exc: PermissionDeniedException) -> Response[Any]:  # type: ignore[type-arg]
    return _message(request, exc.detail or "You may not do that.", 403)


def bad_request(request: Request, exc: ValidationException) -> Response[Any]:  # type: ignore[type-arg]
    problems = []
    for item in exc.extra or []:  # type: ignore[union-attr]
        if isinstance(item, dict):
            problems.append(f"{item.get('key') or item.get('source') or 'form'}: {item.get('message')}")
    text = "The form is incomplete or wrong" + (": " + "; ".join(problems) if problems else ".")
    return _message(request, text, 400)


def http_error(request: Request, exc: HTTPException) -> Response[Any]:  # type: ignore[type-arg]
    return _message(request, exc.detail, exc.status_code)


UI_EXCEPTION_HANDLERS: dict[Any, Any] = {
    CopilotError: copilot_error,
    NotAuthorizedException: not_logged_in,
    PermissionDeniedException: forbidden,
    ValidationException: bad_request,
    HTTPException: http_error,
}
