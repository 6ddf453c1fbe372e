"""Brand workspaces: a folder of YAML files (brand, voice, facts, catalog), validated on load."""

from copilot.workspace.loader import FILES, Workspace, demo_workspace_dir, format_loc, load_workspace
from copilot.workspace.schema import (
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    BrandFile,
    CalendarDate,
    CatalogEvent,
    CatalogField,
    CatalogFile,
    Claim,
    EventProperty,
    FactsFile,
    ForbiddenClaim,
    Offer,
    Policy,
    Product,
    VoiceFile,
)

__all__ = [
    "FILES",
    "Workspace",
    "demo_workspace_dir",
    "format_loc",
    "load_workspace",
    "CONTACT_COLUMNS",
    "EVENT_COLUMNS",
    "BrandFile",
    "CalendarDate",
    "CatalogEvent",
    "CatalogField",
    "CatalogFile",
    "Claim",
    "EventProperty",
    "FactsFile",
    "ForbiddenClaim",
    "Offer",
    "Policy",
    "Product",
    "VoiceFile",
]
