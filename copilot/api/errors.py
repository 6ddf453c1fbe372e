"""The one place product errors become HTTP responses."""

from __future__ import annotations

from litestar import MediaType, Request, Response

from copilot.errors import CopilotError

__all__ = ["copilot_error_handler", "EXCEPTION_HANDLERS"]


def copilot_error_handler(request: Request, exc: CopilotError) -> Response:  # type: ignore[type-arg]
    return Response(content=exc.to_dict(), status_code=exc.http_status, media_type=MediaType.JSON)


EXCEPTION_HANDLERS = {CopilotError: copilot_error_handler}
