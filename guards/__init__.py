"""Guards: pure, deterministic checks of a campaign plan (facts, tone, provenance, fallbacks,
deliverability) that return findings; see guards/README.md for every finding code."""

from guards.finding import SEVERITY_RANK, Code, FieldName, Finding, Guard, Severity
from guards.pipeline import has_blocking, run_deliverability, run_plan, run_variant
from guards.registry import all_codes, registered_guards, separate_process_guards

__all__ = [
    "Finding",
    "Code",
    "Guard",
    "Severity",
    "FieldName",
    "SEVERITY_RANK",
    "run_plan",
    "run_variant",
    "run_deliverability",
    "has_blocking",
    "all_codes",
    "registered_guards",
    "separate_process_guards",
]
