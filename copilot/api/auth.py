"""Who is calling the JSON API: the user an ``Authorization: Bearer <token>`` header belongs to.

Tokens come from ``copilot users token NAME``. The web UI's cookie sessions do not apply
here (CSRF is off for /api/), so every API route that reads or writes a user's data needs
a token; there is no anonymous path.
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from sqlmodel import Session

from copilot.models import User
from copilot.services.api_tokens import authenticate_token

__all__ = ["provide_actor"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="copilot"'}


def provide_actor(request: Request, session: NamedDependency[Session]) -> User:  # type: ignore[type-arg]
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("send 'Authorization: Bearer <token>' (create one with "
                                     "'copilot users token NAME')", headers=_CHALLENGE)
    user = authenticate_token(session, token.strip())
    if user is None:
        raise NotAuthorizedException("the API token is unknown, revoked, or its user is inactive",
                                     headers=_CHALLENGE)
    session.commit()  # keeps last_used_at; the handler's own writes commit separately
    return user
