"""Users: create, look up, authenticate; and what an admin does to accounts (the access matrix's
"manage users"): list them, add one, change a role, deactivate or reactivate, end their sessions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from email_validator import EmailNotValidError, validate_email

from copilot.db import fits_id
from copilot.errors import AccountStateError, ConfigError, NotFoundError
from copilot.models import ROLES, AuditLog, User
from copilot.security import hash_password, verify_password
from copilot.services.access import Action, require

__all__ = ["create_user", "get_user", "get_user_by_id", "authenticate", "ensure_user", "list_users", "add_user",
           "update_user", "end_sessions", "own_address"]


def _check(username: str, role: str, password: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field="role")
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ConfigError(f"username {username!r} must be 1-64 letters, digits, '.', '_' or '-'", field="username")
    if len(password) < 4:
        raise ConfigError("password must be at least 4 characters", field="password")


def own_address(text: str | None) -> str | None:
    """A person's own e-mail address, normalised; None when blank. Raises ConfigError when it is not one."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ConfigError(f"{text!r} is not an e-mail address: {exc}", field="email") from None


def create_user(session: Session, username: str, *, role: str, password: str, display_name: str = "",
                email: str | None = None) -> User:
    _check(username, role, password)
    address = own_address(email)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise ConfigError(f"user {username!r} already exists", field="username")
    user = User(username=username, role=role, password_hash=hash_password(password),
                display_name=display_name or username.title(), email=address)
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


# -- managing accounts (admins) -----------------------------------------------------------------

def get_user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if fits_id(user_id) else None
    if user is None:
        raise NotFoundError(f"no user {user_id}", user_id=user_id)
    return user


def list_users(session: Session, actor: User) -> list[User]:
    require(actor, Action.MANAGE_USERS)
    return list(session.exec(select(User).order_by(User.username)))


def _audit(session: Session, actor: User, user: User, action: str, data: dict[str, object]) -> None:
    session.add(AuditLog(actor_id=actor.id, entity_type="user", entity_id=user.id, action=action, data=data))


def add_user(session: Session, actor: User, username: str, *, role: str, password: str,
             display_name: str = "", email: str | None = None) -> User:
    require(actor, Action.MANAGE_USERS)
    user = create_user(session, username.strip(), role=role, password=password, display_name=display_name.strip(),
                       email=email)
    _audit(session, actor, user, "user_created", {"role": role})
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return int(session.exec(select(sa.func.count()).select_from(User)
                            .where(User.role == "admin", User.is_active == True)).one())  # noqa: E712


def update_user(session: Session, actor: User, user_id: int, *, role: str | None = None,
                is_active: bool | None = None, email: str | None = None) -> User:
    """Change a role or (de)activate an account. Either ends the user's sessions: a page opened
    under the old role must not keep acting with it. The last active admin cannot be removed.
    ``email`` (the person's own address; "" clears it) changes nothing else."""
    require(actor, Action.MANAGE_USERS)
    user = get_user_by_id(session, user_id)
    if email is not None and own_address(email) != user.email:
        address = own_address(email)
        _audit(session, actor, user, "user_email_changed", {"email": [user.email, address]})
        user.email = address
        session.add(user)
        session.flush()
    if role is not None and role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}", field="role")
    new_role = role if role is not None else user.role
    new_active = is_active if is_active is not None else user.is_active
    if (new_role, new_active) == (user.role, user.is_active):
        return user
    if user.id == actor.id:
        # An admin demoting or deactivating themselves would lock themselves out mid-task.
        raise AccountStateError("you cannot change your own role or deactivate yourself; ask another admin",
                               user_id=user_id)
    if user.role == "admin" and user.is_active and (new_role != "admin" or not new_active) \
            and _active_admins(session) <= 1:
        raise AccountStateError("this is the last active admin; make someone else an admin first",
                               field="role" if role is not None else "is_active", user_id=user_id)
    _audit(session, actor, user, "user_changed", {"role": [user.role, new_role], "active": [user.is_active,
                                                                                        new_active]})
    user.role, user.is_active = new_role, new_active
    user.session_generation += 1
    session.add(user)
    session.flush()
    return user


def end_sessions(session: Session, actor: User, user_id: int) -> User:
    """"Log out everywhere": every web session of the user ends (their own, or any user's for an admin).
    API tokens are not sessions; they stay until revoked."""
    if user_id != actor.id:
        require(actor, Action.MANAGE_USERS)
    user = get_user_by_id(session, user_id)
    session.exec(sa.update(User).where(User.id == user.id)  # type: ignore[arg-type]
                 .values(session_generation=User.session_generation + 1))
    session.refresh(user)
    _audit(session, actor, user, "sessions_ended", {})
    session.flush()
    return user
