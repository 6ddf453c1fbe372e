"""Login throttling: failed log-ins counted per account and per client address, in the database.

Each key ("account:NAME", "address:IP") counts failures in a fixed window that starts at its
first failure. When a key reaches its limit it is blocked until the window ends; a blocked key
refuses every attempt (the password is not even checked, so a guess cannot be confirmed), and
the caller gets the seconds to wait for a Retry-After. The state is a table, not process memory:
every app process behind a load balancer counts the same attempts, and a restart forgets nothing.

A failure is counted for the username as typed (lower-cased), whether or not such a user exists,
so the limit does not tell anyone which usernames are real. A successful log-in clears its
account's count, not its address's: one valid account must not reset the count of guesses
made from that address against others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from copilot.models import LoginThrottle, utcnow

__all__ = ["Limit", "Throttled", "LoginLimits", "check", "record_failure", "record_success", "account_key",
           "address_key"]

_table = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    failures: int
    seconds: int

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class LoginLimits:
    per_address: Limit = Limit(10, 60)
    per_account: Limit = Limit(5, 900)


@dataclass(frozen=True)
class Throttled:
    """Why an attempt is refused and how long to wait."""

    scope: Literal["account", "address"]
    retry_after: int  # whole seconds, at least 1

    @property
    def message(self) -> str:
        wait = _duration(self.retry_after)
        if self.scope == "account":
            return f"Too many failed log-ins for this account. Try again in {wait}."
        return f"Too many failed log-ins from your network address. Try again in {wait}."


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def account_key(username: str) -> str:
    return "account:" + username.strip().lower()[:200]


def address_key(address: str) -> str:
    return "address:" + address[:200]


def check(session: Session, *, username: str, address: str, now: datetime | None = None) -> Throttled | None:
    """None when an attempt may go ahead; else the block that refuses it (the longest wait wins)."""
    now = now or utcnow()
    keys = {account_key(username): "account", address_key(address): "address"}
    rows = session.connection().execute(
        sa.select(_table.c.key, _table.c.blocked_until)
        .where(_table.c.key.in_(list(keys)), _table.c.blocked_until > now)
    ).all()
    if not rows:
        return None
    key, until = max(rows, key=lambda r: r.blocked_until)
    return Throttled(scope=keys[key], retry_after=max(1, math.ceil((until - now).total_seconds())))  # type: ignore[arg-type]


def _upsert(session: Session, key: str, limit: Limit, now: datetime) -> None:
    connection = session.connection()
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(_table)
    expired = _table.c.window_started_at <= now - limit.window
    statement = insert.values(key=key, failures=1, window_started_at=now, blocked_until=None,
                              expires_at=now + limit.window).on_conflict_do_update(
        index_elements=[_table.c.key],
        set_={
            # A window that ended starts over at this failure; otherwise the count goes up.
            "failures": sa.case((expired, 1), else_=_table.c.failures + 1),
            "window_started_at": sa.case((expired, now), else_=_table.c.window_started_at),
            "blocked_until": sa.case((expired, None), else_=_table.c.blocked_until),
            "expires_at": sa.case((expired, now + limit.window), else_=_table.c.expires_at),
        },
    )
    connection.execute(statement)
    row = connection.execute(sa.select(_table.c.failures, _table.c.window_started_at)
                             .where(_table.c.key == key)).one()
    if row.failures >= limit.failures:
        until = row.window_started_at + limit.window
        connection.execute(sa.update(_table).where(_table.c.key == key)
                           .values(blocked_until=until, expires_at=until))


def record_failure(session: Session, *, username: str, address: str, limits: LoginLimits,
                   now: datetime | None = None) -> None:
    """Count a failed log-in against the account and the address (atomic per key; call commit after)."""
    now = now or utcnow()
    _upsert(session, account_key(username), limits.per_account, now)
    _upsert(session, address_key(address), limits.per_address, now)
    # Forget keys whose window and block are over (indexed; keeps the table at the size of live attacks).
    session.connection().execute(sa.delete(_table).where(_table.c.expires_at < now))


def record_success(session: Session, *, username: str) -> None:
    session.connection().execute(sa.delete(_table).where(_table.c.key == account_key(username)))
