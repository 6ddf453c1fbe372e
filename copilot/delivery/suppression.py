"""The workspace suppression list: addresses no campaign sends to (bounces, complaints, by hand)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session

from copilot.errors import ImportDataError
from copilot.models import SuppressedAddress, utcnow

__all__ = ["suppress_addresses"]

_table: sa.Table = SuppressedAddress.__table__  # type: ignore[attr-defined]


def suppress_addresses(session: Session, workspace_id: int, emails: Iterable[str], *, reason: str = "manual",
                       detail: str | None = None) -> int:
    """Add addresses (lower-cased) to the list; returns how many were new."""
    wanted = {e.strip().lower() for e in emails if e.strip()}
    bad = sorted(e for e in wanted if "@" not in e)
    if bad:
        raise ImportDataError(f"not an email address: {bad[0]!r}", problems=[{"message": e} for e in bad])
    conn = session.connection()
    have = {e for (e,) in conn.execute(sa.select(_table.c.email).where(
        _table.c.workspace_id == workspace_id, _table.c.email.in_(sorted(wanted))))}
    new = sorted(wanted - have)
    if new:
        now = utcnow()
        conn.execute(sa.insert(_table), [{"workspace_id": workspace_id, "email": e, "reason": reason, "detail": detail,
                                          "created_at": now} for e in new])
    return len(new)
