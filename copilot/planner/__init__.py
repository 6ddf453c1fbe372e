"""Planners: the interface and its providers."""

from copilot.planner.base import AudienceStats, Planner, PlanRequest, PlanResult, TokenCallback, Turn, Usage
from copilot.planner.factory import get_planner
from copilot.planner.offline import OfflinePlanner

__all__ = ["AudienceStats", "OfflinePlanner", "Planner", "PlanRequest", "PlanResult", "TokenCallback", "Turn", "Usage",
           "get_planner"]
