"""The one place guards are registered. Adding a guard: write guards/<name>.py with a
``GUARD = Guard(...)`` and add its module path to GUARD_MODULES below."""

from __future__ import annotations

import importlib
from functools import lru_cache

from guards.finding import Code, Guard

__all__ = ["GUARD_MODULES", "SEPARATE_PROCESS_MODULES", "registered_guards", "separate_process_guards",
           "all_codes"]

# Fast, pure guards: run by run_plan / run_variant on every plan and every edit.
GUARD_MODULES: tuple[str, ...] = (
    "guards.facts",
    "guards.tone",
    "guards.provenance",
    "guards.fallbacks",
)
# Guards that start another process (SpamAssassin): run only on request (run_deliverability).
SEPARATE_PROCESS_MODULES: tuple[str, ...] = (
    "guards.deliverability",
)


def _load(modules: tuple[str, ...]) -> tuple[Guard, ...]:
    return tuple(importlib.import_module(m).GUARD for m in modules)


@lru_cache(maxsize=1)
def registered_guards() -> tuple[Guard, ...]:
    return _load(GUARD_MODULES)


@lru_cache(maxsize=1)
def separate_process_guards() -> tuple[Guard, ...]:
    return _load(SEPARATE_PROCESS_MODULES)


@lru_cache(maxsize=1)
def all_codes() -> dict[str, Code]:
    """Every finding code any guard (or the pipeline itself) can emit, by code."""
    from guards.pipeline import PIPELINE

    codes: dict[str, Code] = {}
    for guard in (PIPELINE, *registered_guards(), *separate_process_guards()):
        for code in guard.codes:
            if code.code in codes:
                raise RuntimeError(f"finding code {code.code} is registered twice")
            codes[code.code] = code
    return codes
