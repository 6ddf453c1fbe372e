"""The Users page (admins): every account, add one, change a role, deactivate, end someone's sessions.
Thin: copilot.services.users decides (and refuses non-admins, whatever this page shows)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from copilot.models import ROLES, User
from copilot.services import users as accounts
from review_ui.accounts import forget_user
from review_ui.forms import NewUserForm, UserChangeForm
from review_ui.rendering import page

__all__ = ["UsersController"]


class UsersController(Controller):
    path = "/users"

    @get("", sync_to_thread=True)
    def index(self, request: Request, user: NamedDependency[User],  # type: ignore[type-arg]
              session: NamedDependency[Session]) -> Template:
        people = accounts.list_users(session, user)
        return page(request, "users.html", {"user": user, "people": people, "roles": ROLES})

    @post("", sync_to_thread=True, status_code=303)
    def add(self, data: URLEncodedBody[NewUserForm], user: NamedDependency[User],
            session: NamedDependency[Session]) -> Redirect:
        accounts.add_user(session, user, data.username, role=data.role, password=data.password,
                          display_name=data.display_name, email=data.email)
        return Redirect("/users", status_code=303)

    @post("/{user_id:int}", sync_to_thread=True, status_code=303)
    def change(self, user_id: FromPath[int], data: URLEncodedBody[UserChangeForm], user: NamedDependency[User],
               session: NamedDependency[Session]) -> Redirect:
        accounts.update_user(session, user, user_id, role=data.role or None,
                             is_active=None if data.active == "" else data.active == "1", email=data.email)
        forget_user(user_id)
        return Redirect("/users", status_code=303)

    @post("/{user_id:int}/logout-everywhere", sync_to_thread=True, status_code=303)
    def end_sessions(self, user_id: FromPath[int], user: NamedDependency[User],
                     session: NamedDependency[Session]) -> Redirect:
        accounts.end_sessions(session, user, user_id)
        forget_user(user_id)
        return Redirect("/users", status_code=303)
