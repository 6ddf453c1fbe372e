"""Findings in the database: a guard's Finding stored as a row and read back as the same Finding.

The one place that converts between ``guards.Finding`` (the shape every layer uses) and
``FindingRow`` (its table); readers get Findings with their row ``id`` set.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from copilot.models import FindingRow
from guards import Finding

__all__ = ["finding_row", "row_finding", "store_findings", "list_findings"]


def finding_row(revision_id: int, finding: Finding) -> FindingRow:
    span = finding.span
    return FindingRow(
        revision_id=revision_id, guard=finding.guard, code=finding.code, severity=finding.severity,
        segment=finding.segment, variant=finding.variant, message_key=finding.message_key, locale=finding.locale,
        field=finding.field,
        span_start=span[0] if span else None, span_end=span[1] if span else None,
        message=finding.message, evidence=dict(finding.evidence or {}), fix=finding.fix,
        fingerprint=finding.fingerprint,
    )


def row_finding(row: FindingRow) -> Finding:
    span = (row.span_start, row.span_end) if row.span_start is not None and row.span_end is not None else None
    return Finding(id=row.id, guard=row.guard, code=row.code, severity=row.severity,  # type: ignore[arg-type]
                   segment=row.segment, variant=row.variant, message_key=row.message_key, locale=row.locale,
                   field=row.field, span=span, message=row.message,  # type: ignore[arg-type]
                   evidence=dict(row.evidence or {}), fix=row.fix, fingerprint=row.fingerprint)


def store_findings(session: Session, revision_id: int, findings: Iterable[Finding]) -> list[Finding]:
    """Add the revision's findings (not committed); returns them with their row ids."""
    rows = [finding_row(revision_id, f) for f in findings]
    session.add_all(rows)
    session.flush()
    return [row_finding(r) for r in rows]


def list_findings(session: Session, revision_id: int) -> list[Finding]:
    rows = session.exec(select(FindingRow).where(FindingRow.revision_id == revision_id)
                        .order_by(FindingRow.id))  # type: ignore[arg-type]
    return [row_finding(r) for r in rows]
