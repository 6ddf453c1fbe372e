"""The synthetic demo audience: seeded contacts and events that fit a workspace's catalog."""

from copilot.audience.build import (
    DEMO_USERS,
    BuildStats,
    audience_size,
    build_demo_audience,
    ensure_demo,
    ensure_demo_users,
)
from copilot.audience.export import write_audience_csv
from copilot.audience.generator import ARCHETYPES, GEN_CHUNK, AudienceChunk, EventBlock, generate_audience
from copilot.audience.values import attribute_date, attribute_datetime, sql_timestamps

__all__ = [
    "ARCHETYPES",
    "DEMO_USERS",
    "GEN_CHUNK",
    "AudienceChunk",
    "BuildStats",
    "EventBlock",
    "attribute_date",
    "attribute_datetime",
    "audience_size",
    "build_demo_audience",
    "ensure_demo",
    "ensure_demo_users",
    "generate_audience",
    "sql_timestamps",
    "write_audience_csv",
]
