"""What schema comparison (autogenerate, the models-match-migrations test) leaves out.

The segment engine creates one expression index per catalog enum attribute at run time
(``copilot.segments.indexes``); they depend on the brand's catalog, so no migration owns them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["include_name"]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "index" and name is not None and name.startswith("ix_contacts_attr_"))
