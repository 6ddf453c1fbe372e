"""Unsubscribing from a message's link: RFC 8058 one-click POST (no login, no page), or the page a GET
shows with the choice to unsubscribe or stay. Consent changes at once, in the request's transaction,
and the audit log records how."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from copilot.delivery.tokens import TokenError, UnsubscribeToken, read
from copilot.models import AuditLog, Contact, utcnow
from copilot.workspace import Workspace

__all__ = ["apply_choice", "page", "mask_email", "contact_for"]


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                       autoescape=select_autoescape(["html"]))


def mask_email(email: str) -> str:
    """a***@example.com: enough for the person to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def contact_for(session: Session, token: UnsubscribeToken) -> Contact | None:
    contact = session.get(Contact, token.contact_id)
    return contact if contact is not None and contact.workspace_id == token.workspace_id else None


def apply_choice(session: Session, token: UnsubscribeToken, choice: str, *, method: str) -> tuple[Contact | None, str]:
    """Unsubscribe (or, on "stay", undo an unsubscribe); returns the contact and what was done."""
    contact = contact_for(session, token)
    if contact is None:
        return None, "gone"
    now = utcnow()
    before = contact.consent
    if choice == "stay":
        after = "subscribed" if before == "unsubscribed" else before
        done = "stay"
    else:
        after = "unsubscribed" if before == "subscribed" else before
        done = "unsubscribed"
    if after != before:
        session.exec(sa.update(Contact).where(Contact.id == contact.id)  # type: ignore[call-overload]
                     .values(consent=after, consent_updated_at=now, updated_at=now))
        session.add(AuditLog(actor_id=None, workspace_id=contact.workspace_id, entity_type="contact",
                             entity_id=contact.id, action="unsubscribed" if after == "unsubscribed" else "resubscribed",
                             from_state=before, to_state=after,
                             data={"delivery": token.delivery_id, "method": method}))
        contact.consent = after
    session.flush()
    return contact, done


def page(workspace: Workspace | None, *, action: str, email: str = "", done: str | None = None,
         problem: str | None = None) -> str:
    brand = workspace.brand if workspace is not None else None
    context: dict[str, Any] = {
        "title": "Email preferences" if problem is None else "This link does not work",
        "brand": brand.name if brand else "us", "email": mask_email(email) if email else "",
        "action": action, "done": done, "problem": problem,
        "preferences_url": brand.preference_center_url if brand else None,
        "postal_address": brand.sender.postal_address if brand else "",
    }
    return _env().get_template("unsubscribe.html").render(**context)


def check(signer: Any, text: str, max_age_days: int) -> tuple[UnsubscribeToken | None, str | None]:
    try:
        return read(signer, text, max_age_days=max_age_days), None
    except TokenError as exc:
        return None, exc.message + ("; use the preferences link in a newer message" if exc.expired else "")
