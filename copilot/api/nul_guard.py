"""Refuses any request whose path, query or body holds a NUL character, at the door.

PostgreSQL text and JSONB cannot store U+0000 (the driver raises and the request would end in a
500); SQLite would store it and hand it back into pages and prompts. No field of the product has a
use for it, so every request (JSON API and web pages alike) carrying one is a 400 naming where it is,
before any handler or query runs. A body is parsed only when its raw bytes could hold one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from copilot.errors import InvalidRequestError

__all__ = ["NulGuardMiddleware", "nul_location"]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def nul_location(value: Any, where: str) -> str | None:
    """The path (``body.changes.subject``) of the first string holding U+0000 in a JSON-like value."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = nul_location(key, f"{where} (a key)") or nul_location(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_location(item, f"{where}[{i}]")
            if found:
                return found
    return None


def _in_pairs(pairs: list[tuple[str, str]], where: str) -> str | None:
    return next((f"{where} '{key}'" for key, value in pairs if "\x00" in key or "\x00" in value), None)


async def _in_body(scope: Scope, receive: Receive) -> str | None:
    request = scope["litestar_app"].request_class(scope=scope, receive=receive)
    raw: bytes = await request.body()  # cached in the scope: the handler reads it again for free
    if b"\x00" not in raw and b"\\u0000" not in raw and b"%00" not in raw:
        return None
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            return nul_location(json.loads(raw), "body")
        except ValueError:
            return None  # not JSON at all: the handler's own validation says so
    if "x-www-form-urlencoded" in content_type:
        return _in_pairs(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True), "form field")
    return "body" if b"\x00" in raw else None


class NulGuardMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        where = "path" if "\x00" in scope["path"] else _in_pairs(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True), "query parameter")
        if where is None and scope.get("method") in _WRITES:
            where = await _in_body(scope, receive)
        if where is not None:
            raise InvalidRequestError(f"the {where} holds a NUL character (\\u0000), which no text may contain",
                                      field=where)
        await next_app(scope, receive, send)
