"""The UI's form bodies (URL-encoded; every field optional so a missing one gets the core's clear message)."""

from __future__ import annotations

from dataclasses import dataclass

from copilot.plan import COPY_FIELD_NAMES

__all__ = ["NewConversationForm", "MessageForm", "VariantForm", "ActionForm", "ScheduleForm", "RestoreForm", "NewUserForm",
           "UserChangeForm"]


@dataclass
class NewConversationForm:
    title: str = ""


@dataclass
class MessageForm:
    text: str = ""


@dataclass
class VariantForm:
    base_number: int = 0
    subject: str = ""
    preheader: str = ""
    body: str = ""
    cta_text: str = ""
    cta_url: str = ""

    def changes(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COPY_FIELD_NAMES}


@dataclass
class ActionForm:
    version: int = 0
    comment: str = ""
    reason: str = ""
    view: str = ""  # "scheduled": answer with the Scheduled list's rows
    confirm: str = ""  # approve: the revision hash the confirmation showed (a section's hash for a section)
    anchor: str = ""  # comment, request changes: the part it is about (copilot.services.anchors), blank for all


@dataclass
class RestoreForm:
    base_number: int = 0  # the latest revision the history showed (another one since: refused as stale)


@dataclass
class ScheduleForm:
    version: int = 0
    at: str = ""
    timezone: str = "UTC"


@dataclass
class NewUserForm:
    username: str = ""
    display_name: str = ""
    role: str = "marketer"
    password: str = ""
    email: str = ""


@dataclass
class UserChangeForm:
    role: str = ""
    active: str = ""  # "1" active, "0" deactivated, "" unchanged
    email: str | None = None  # the person's own address ("" clears it; absent: unchanged)
