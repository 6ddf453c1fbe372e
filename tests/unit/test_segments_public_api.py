"""The segment engine's and validation's public names are deliberate: this pins them."""

from __future__ import annotations

import copilot.segments as segments
import copilot.validation as validation


def test_segment_engine_exports_exactly_its_public_names() -> None:
    assert sorted(segments.__all__) == [
        "LintWarning", "ReferenceEvaluator", "RuleCompiler", "SENT_EVENT", "SUPPRESSION_REASONS", "SegmentSize",
        "SizingReport", "attribute_index_fields", "describe_rule", "ensure_attribute_indexes", "in_quiet_hours",
        "indexed_attributes", "lint_plan", "segment_members", "size_plan",
    ]
    assert all(hasattr(segments, name) for name in segments.__all__)


def test_validation_exports_exactly_its_public_names() -> None:
    assert sorted(validation.__all__) == [
        "PlanProblem", "TEMPLATE_GLOBALS", "check_plan", "iter_steps", "parse_plan", "template_variables",
        "validate_plan",
    ]
    assert all(hasattr(validation, name) for name in validation.__all__)
