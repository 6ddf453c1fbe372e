"""API tokens: issue (shown once), authenticate a bearer token, revoke."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from copilot.errors import ConfigError, NotFoundError
from copilot.models import ApiToken, User, utcnow

__all__ = ["TOKEN_PREFIX", "issue_token", "authenticate_token", "revoke_token", "list_tokens"]

TOKEN_PREFIX = "cpt_"  # recognisable in logs and secret scanners


def _digest(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough (no slow hash needed, unlike passwords).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user_id: int, *, label: str = "api") -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token itself, which is never stored."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user with id {user_id}", user_id=user_id)
    label = label.strip()
    if not label or len(label) > 100:
        raise ConfigError("a token label must be 1-100 characters", field="label")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id, label=label, token_hash=_digest(token))
    session.add(row)
    session.flush()
    return row, token


def authenticate_token(session: Session, token: str) -> User | None:
    """The active user a live token belongs to, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return user


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no API token {token_id}", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))
