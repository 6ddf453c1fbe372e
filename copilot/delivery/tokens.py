"""Signed, expiring unsubscribe tokens (itsdangerous): who (workspace, contact) and from which delivery.

A token is all an unsubscribe link or a one-click POST carries; no login is needed, and nothing in it
can be changed without the secret key (COPILOT_SECRET_KEY, or the one kept in the data folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["UnsubscribeToken", "TokenError", "make_signer", "signer_for", "sign", "read"]

_SALT = "copilot-unsubscribe-v1"


class TokenError(Exception):
    """The token is malformed, forged or expired (``expired`` says which)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired


@dataclass(frozen=True)
class UnsubscribeToken:
    workspace_id: int
    contact_id: int
    delivery_id: int


def make_signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def sign(signer: URLSafeTimedSerializer, token: UnsubscribeToken) -> str:
    return signer.dumps([token.workspace_id, token.contact_id, token.delivery_id])


def read(signer: URLSafeTimedSerializer, text: str, *, max_age_days: int) -> UnsubscribeToken:
    try:
        data = signer.loads(text, max_age=max_age_days * 86400)
    except SignatureExpired as exc:
        raise TokenError("this unsubscribe link has expired", expired=True) from exc
    except BadSignature as exc:
        raise TokenError("this unsubscribe link is not valid") from exc
    if not (isinstance(data, list) and len(data) == 3 and all(isinstance(v, int) for v in data)):
        raise TokenError("this unsubscribe link is not valid")
    return UnsubscribeToken(*data)


def signer_for(settings: Any) -> URLSafeTimedSerializer:
    """The signer of this installation (its secret key: COPILOT_SECRET_KEY or the data folder's)."""
    from copilot.security import load_secret_key

    return _cached_signer(load_secret_key(settings.data_dir, settings.secret_key))


@lru_cache(maxsize=8)
def _cached_signer(secret: str) -> URLSafeTimedSerializer:
    return make_signer(secret)
