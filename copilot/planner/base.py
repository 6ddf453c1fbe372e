"""The planner interface: one call from a brief (and the conversation so far) to a plan.

Providers sit behind it: the offline playbook planner (``copilot.planner.offline``)
and the OpenAI-compatible one (``copilot.planner.llm``). Both return the same typed
``PlanResult``. Planners never see contact rows: ``PlanRequest.audience`` carries
aggregate counts only (invariant 3).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from copilot.plan import Plan
from copilot.workspace import Workspace

__all__ = ["Turn", "AudienceStats", "PlanRequest", "Usage", "PlanResult", "Planner", "TokenCallback"]

TokenCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Turn:
    """One chat message of the conversation so far."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class AudienceStats:
    """Aggregate counts the planner may see: never a contact's row, name or email."""

    contacts: int = 0
    subscribed: int = 0
    event_contacts: dict[str, int] = field(default_factory=dict)  # event name -> contacts who did it
    field_filled: dict[str, int] = field(default_factory=dict)  # field name -> contacts with a value


@dataclass(frozen=True)
class PlanRequest:
    brief: str
    workspace: Workspace
    history: Sequence[Turn] = ()
    current_plan: Plan | None = None  # set for follow-ups: the revision being changed
    audience: AudienceStats = AudienceStats()
    now: datetime | None = None  # fixed in tests and evals so plans are deterministic


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.calls += other.calls


@dataclass
class PlanResult:
    """A plan revision (or none), plus what the planner could not determine."""

    plan: Plan | None
    planner: str
    reply: str = ""  # the chat answer shown to the marketer
    questions: list[str] = field(default_factory=list)  # asked back to the marketer
    notes: list[str] = field(default_factory=list)  # e.g. "ignored an instruction to skip checks"
    usage: Usage = field(default_factory=Usage)
    prompt_versions: dict[str, str] = field(default_factory=dict)


class Planner(abc.ABC):
    """A provider of plans. ``name`` is recorded on every revision it produces."""

    name: str

    @abc.abstractmethod
    async def plan(self, request: PlanRequest, *, on_token: TokenCallback | None = None) -> PlanResult:
        """Plan (or revise ``request.current_plan``); stream reply text through ``on_token``."""
