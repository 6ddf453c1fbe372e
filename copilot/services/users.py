"""Users: create, look up, authenticate."""

from __future__ import annotations

from sqlmodel import Session, select

from copilot.errors import ConfigError, NotFoundError
from copilot.models import ROLES, User
from copilot.security import hash_password, verify_password

__all__ = ["create_user", "get_user", "authenticate", "ensure_user"]


def _check(username: str, role: str, password: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field="role")
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ConfigError(f"username {username!r} must be 1-64 letters, digits, '.', '_' or '-'", field="username")
    if len(password) < 4:
        raise ConfigError("password must be at least 4 characters", field="password")


def create_user(session: Session, username: str, *, role: str, password: str, display_name: str = "") -> User:
    _check(username, role, password)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise ConfigError(f"user {username!r} already exists", field="username")
    user = User(username=username, role=role, password_hash=hash_password(password),
                display_name=display_name or username.title())
    session.add(user)
    session.flush()
    return user


def ensure_user(session: Session, username: str, *, role: str, password: str) -> User:
    """The user, created if missing (used for the demo accounts)."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user if user is not None else create_user(session, username, role=role, password=password)


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user named {username!r}", username=username)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        # Spend the same time as a real check so timing does not reveal usernames.
        verify_password(hash_password("timing-equaliser"), password)
        return None
    return user if verify_password(user.password_hash, password) else None
