"""Expression indexes on the JSON attributes segments filter on most: each enum field of the catalog.

Which attributes exist depends on the brand's catalog, so these cannot be a fixed Alembic
migration; ``ensure_attribute_indexes`` creates any that are missing when a workspace is
registered (instant on an empty table, seconds on a million contacts, once). The engine
drives a segment from such an index when the rule has an equality on the field.
"""

from __future__ import annotations

import sqlalchemy as sa

from copilot.models import JSONType
from copilot.segments.sql import JsonValue
from copilot.workspace import CONTACT_COLUMNS, Workspace

__all__ = ["attribute_index_fields", "attribute_index_name", "ensure_attribute_indexes", "indexed_attributes"]

_PREFIX = "ix_contacts_attr_"
# A private copy of the two columns the indexes use, so these indexes never join the
# SQLModel metadata (which must match the migrations exactly).
_contacts = sa.Table("contacts", sa.MetaData(), sa.Column("workspace_id", sa.Integer),
                     sa.Column("attributes", JSONType))


def attribute_index_fields(workspace: Workspace) -> list[str]:
    """Catalog enum fields kept in ``attributes`` that may be used for segmentation."""
    return [f.name for f in workspace.catalog.fields
            if f.type == "enum" and f.name not in CONTACT_COLUMNS and "segmentation" in f.allowed_uses]


def attribute_index_name(field: str) -> str:
    return f"{_PREFIX}{field}"


def _index(field: str) -> sa.Index:
    # The same expression the rule compiler emits (JsonValue text), so the database matches them.
    return sa.Index(attribute_index_name(field), _contacts.c.workspace_id, JsonValue(_contacts.c.attributes, field, "text"))


def indexed_attributes(connection: sa.Connection) -> frozenset[str]:
    """Attribute names that have an expression index in this database."""
    if connection.dialect.name == "postgresql":
        catalog = sa.table("pg_indexes", sa.column("indexname"), sa.column("tablename"))
        query = sa.select(catalog.c.indexname).where(catalog.c.tablename == "contacts",
                                                     catalog.c.indexname.startswith(_PREFIX, autoescape=True))
    else:
        catalog = sa.table("sqlite_master", sa.column("name"), sa.column("tbl_name"), sa.column("type"))
        query = sa.select(catalog.c.name).where(catalog.c.type == "index", catalog.c.tbl_name == "contacts",
                                                catalog.c.name.startswith(_PREFIX, autoescape=True))
    return frozenset(name.removeprefix(_PREFIX) for (name,) in connection.execute(query))


def ensure_attribute_indexes(connection: sa.Connection, workspace: Workspace) -> list[str]:
    """Create the missing attribute indexes for ``workspace``'s catalog; returns the fields indexed now."""
    present = indexed_attributes(connection)
    created = []
    for field in attribute_index_fields(workspace):
        if field not in present:
            _index(field).create(connection)
            created.append(field)
    return created
