"""What schema comparison (autogenerate, the models-match-migrations test) leaves out.

The segment engine creates one expression index per catalog enum attribute at run time
(``copilot.segments.indexes``); they depend on the brand's catalog, so no migration owns them.
The monthly partitions of events on PostgreSQL come and go with time (``copilot.audience.partitions``).
"""

from __future__ import annotations

from typing import Any

from copilot.audience.partitions import PARTITION_NAME

__all__ = ["include_name"]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table" and name is not None and PARTITION_NAME.match(name):
        return False  # the monthly partitions of events on PostgreSQL (migration 0014)
    return not (type_ == "index" and name is not None and name.startswith("ix_contacts_attr_"))
