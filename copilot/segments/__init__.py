"""The segment engine: plan rules compiled to SQL, sized on the real audience, explained and linted."""

from copilot.segments.english import describe_rule
from copilot.segments.indexes import attribute_index_fields, ensure_attribute_indexes, indexed_attributes
from copilot.segments.lint import LintWarning, lint_plan
from copilot.segments.reference import ReferenceEvaluator
from copilot.segments.sizing import (
    SENT_EVENT,
    SUPPRESSION_REASONS,
    SegmentSize,
    SizingReport,
    in_quiet_hours,
    segment_members,
    size_plan,
)
from copilot.segments.sql import RuleCompiler

__all__ = [
    "SENT_EVENT",
    "SUPPRESSION_REASONS",
    "LintWarning",
    "ReferenceEvaluator",
    "RuleCompiler",
    "SegmentSize",
    "SizingReport",
    "attribute_index_fields",
    "describe_rule",
    "ensure_attribute_indexes",
    "in_quiet_hours",
    "indexed_attributes",
    "lint_plan",
    "segment_members",
    "size_plan",
]
