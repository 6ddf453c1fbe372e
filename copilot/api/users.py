"""JSON API for accounts (the access matrix's "manage users": admins only), and "log out everywhere"
for the caller's own web sessions. Thin: copilot.services.users decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlmodel import Session

from copilot.api.auth import provide_actor
from copilot.api.errors import responses
from copilot.models import User
from copilot.services import users as accounts

__all__ = ["UserController", "NewUser", "UserChange", "user_to_dict"]

Role = Literal["marketer", "reviewer", "admin"]


@dataclass
class NewUser:
    username: str
    password: str
    role: Role = "marketer"
    display_name: str = ""


@dataclass
class UserChange:
    role: Role | None = None
    is_active: bool | None = None


def user_to_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "is_active": user.is_active, "created_at": user.created_at.isoformat()}


class UserController(Controller):
    path = "/api/users"
    tags = ["users"]
    dependencies = {"actor": Provide(provide_actor, sync_to_thread=True)}

    @get("", sync_to_thread=True, responses=responses(401, 403))
    def list_users(self, actor: NamedDependency[User], session: NamedDependency[Session]) -> list[dict[str, Any]]:
        """Every account (admins)."""
        return [user_to_dict(u) for u in accounts.list_users(session, actor)]

    @get("/me", sync_to_thread=True, responses=responses(401))
    def me(self, actor: NamedDependency[User]) -> dict[str, Any]:
        """The caller's own account."""
        return user_to_dict(actor)

    @post("", sync_to_thread=True, status_code=201, responses=responses(400, 401, 403))
    def add(self, data: JSONBody[NewUser], actor: NamedDependency[User],
            session: NamedDependency[Session]) -> dict[str, Any]:
        """Add an account (admins). 400 names a bad username, role or password, or one taken already."""
        return user_to_dict(accounts.add_user(session, actor, data.username, role=data.role, password=data.password,
                                              display_name=data.display_name))

    @patch("/{user_id:int}", sync_to_thread=True, responses=responses(400, 401, 403, 404, 409))
    def change(self, user_id: FromPath[int], data: JSONBody[UserChange], actor: NamedDependency[User],
               session: NamedDependency[Session]) -> dict[str, Any]:
        """Change a role or (de)activate an account (admins); either ends its web sessions. 409: the last
        active admin cannot be removed."""
        return user_to_dict(accounts.update_user(session, actor, user_id, role=data.role, is_active=data.is_active))

    @post("/{user_id:int}/logout-everywhere", sync_to_thread=True, status_code=200,
          responses=responses(400, 401, 403, 404))
    def logout_everywhere(self, user_id: FromPath[int], actor: NamedDependency[User],
                          session: NamedDependency[Session]) -> dict[str, Any]:
        """End every web session of a user: your own, or anyone's for an admin. API tokens stay valid."""
        return user_to_dict(accounts.end_sessions(session, actor, user_id))
