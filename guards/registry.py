"""The one place guards are registered. Adding a guard: write a module with a ``GUARD = Guard(...)``
(guards/<name>.py, or any importable module) and add its module path to GUARD_MODULES below. That
is all: the pipeline runs it, its findings reach the API, the UI, the evals and the CLI, and its
codes join ``all_codes`` (a built-in guard also documents its codes in guards/README.md)."""

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
    "guards.timing",
    "guards.brandfit",
)
# Guards that start another process (SpamAssassin): run only on request (run_deliverability).
SEPARATE_PROCESS_MODULES: tuple[str, ...] = (
    "guards.deliverability",
)


# Loaded once per list of modules: the lists are read at each call, so a module added to them
# (a plugin at start-up, a test) is picked up without clearing any cache.
@lru_cache(maxsize=8)
def _load(modules: tuple[str, ...]) -> tuple[Guard, ...]:
    return tuple(importlib.import_module(m).GUARD for m in modules)


def registered_guards() -> tuple[Guard, ...]:
    return _load(tuple(GUARD_MODULES))


def separate_process_guards() -> tuple[Guard, ...]:
    return _load(tuple(SEPARATE_PROCESS_MODULES))


def all_codes() -> dict[str, Code]:
    """Every finding code any guard (or the pipeline itself) can emit, by code."""
    return _codes(registered_guards(), separate_process_guards())


@lru_cache(maxsize=8)
def _codes(fast: tuple[Guard, ...], separate: tuple[Guard, ...]) -> dict[str, Code]:
    from guards.pipeline import PIPELINE

    codes: dict[str, Code] = {}
    for guard in (PIPELINE, *fast, *separate):
        for code in guard.codes:
            if code.code in codes:
                raise RuntimeError(f"finding code {code.code} is registered twice")
            codes[code.code] = code
    return codes
