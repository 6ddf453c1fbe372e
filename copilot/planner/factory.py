"""Choose the planner for the running product from its settings."""

from __future__ import annotations

from copilot.planner.base import Planner
from copilot.planner.offline import OfflinePlanner
from copilot.settings import Settings

__all__ = ["get_planner"]


def get_planner(settings: Settings) -> Planner:
    """The OpenAI-compatible planner when a key or a base URL is set, else the offline playbook planner.

    The model planner is shared per configuration so its connection pool is reused; it
    falls back to the offline planner itself when the model fails.
    """
    if not settings.llm_configured:
        return OfflinePlanner()
    from copilot.planner.llm import LLMPlanner

    return LLMPlanner.shared(settings)
