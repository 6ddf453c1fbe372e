"""The column-by-column batch check stores exactly what the per-row check would, and refuses the same rows."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from copilot.audience.export import write_audience_csv
from copilot.services.import_batch import BatchChecker
from copilot.services.import_rows import ContactRow, ContactSchema, EventSchema, RowError
from copilot.workspace import Workspace, load_workspace

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return load_workspace()


def _per_row(checker: BatchChecker, batch: list[tuple[int, list[str]]]) -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    good, bad = [], []
    for line, fields in batch:
        try:
            row = checker.schema.row(fields)
        except RowError as exc:
            bad.append((line, exc.message, exc.column))
            continue
        stored = checker._contact_row(row) if isinstance(row, ContactRow) else checker._event_row(row)  # type: ignore[arg-type]
        good.append((line, *stored))
    return good, bad


def _agree(checker: BatchChecker, batch: list[tuple[int, list[str]]]) -> None:
    good, problems = checker.check(batch)
    expected_good, expected_bad = _per_row(checker, batch)
    assert good == expected_good
    assert [(p.line, p.message, p.column) for p in problems] == expected_bad


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_an_exported_audience_checks_the_same_batch_by_batch(workspace: Workspace, tmp_path: Path,
                                                             dialect: str) -> None:
    contacts_csv, events_csv = tmp_path / "c.csv", tmp_path / "e.csv"
    write_audience_csv(workspace, contacts_csv, events_csv, contacts=400, now=NOW)
    for path, schema_type in ((contacts_csv, ContactSchema), (events_csv, EventSchema)):
        header, *rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
        checker = BatchChecker(schema_type(workspace, header, now=NOW), dialect)
        good, problems = checker.check([(i + 2, row) for i, row in enumerate(rows)])
        assert problems == [] and len(good) == len(rows)
        if dialect == "sqlite":  # the same text; PostgreSQL gets equal timestamps written another way
            _agree(checker, [(i + 2, row) for i, row in enumerate(rows)])


def test_odd_but_valid_cells_and_bad_ones_match_the_per_row_check(workspace: Workspace) -> None:
    header = ["email", "consent", "first_name", "country", "timezone", "locale", "signed_up_at", "loyalty_tier",
              "order_count", "shoe_size", "marathon_finisher", "last_order_at", "birth_date"]
    rows = [
        [" Ann@Example.COM ", "Subscribed", "  Ann ", "us", "Europe/Berlin", "de-AT", "2025-03-01 10:00:00+02:00",
         "VIP", "+7", "9.50", "Yes", "2026-10-30T08:00:00+02:00", "1990-02-28"],
        ["\"quoted local\"@example.com", "bounced", "", "", "", "", "2025-03-01T10:00:00Z", "", "", "", "", "", ""],
        ["bo@example.com", "maybe", "Bo", "usa", "Mars/Base", "x", "2031-01-01T00:00:00Z", "gold", "1.5", "inf",
         "sometimes", "tomorrow", "1990-02-31"],
        ["not-an-email", "subscribed", "", "", "", "", "", "", "", "", "", "", ""],
        ["short@example.com", "subscribed"],
        ["j\udcfcrgen@example.com", "subscribed", "", "", "", "", "", "", "", "", "", "", ""],
        ["x@localhost", "subscribed", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    checker = BatchChecker(ContactSchema(workspace, header, now=NOW), "sqlite")
    _agree(checker, [(i + 2, row) for i, row in enumerate(rows)])
    good, problems = checker.check([(i + 2, row) for i, row in enumerate(rows)])
    assert [row[0] for row in good] == [2]  # email_validator refuses quoted local parts by default
    assert [p.line for p in problems] == [3, 4, 5, 6, 7, 8]


def test_event_cells_of_properties_the_event_lacks_are_refused_like_the_per_row_check(workspace: Workspace) -> None:
    header = ["email", "event", "occurred_at", "value", "cart_id", "campaign", "category", "product"]
    rows = [
        ["Bo@Example.com", "order_placed", "2026-11-01T10:00:00Z", "160", "", "", "running_shoes", "NP-1"],
        ["bo@example.com", "order_placed", "2026-11-01T10:00:00Z", "", "cart-1", "", "", ""],
        ["bo@example.com", "teleported", "2026-11-01T10:00:00Z", "", "", "", "", ""],
        ["bo@example.com", "email_opened", "", "", "", "", "", ""],
        ["bo@example.com", "order_placed", "2026-11-01T10:00:00", "lots", "", "", "", ""],
        ["bo@example.com", "cart_abandoned", "2026-11-01T10:00:00-05:00", "", "cart-2", "", "", "x" * 200],
    ]
    checker = BatchChecker(EventSchema(workspace, header, now=NOW), "sqlite")
    _agree(checker, [(i + 2, row) for i, row in enumerate(rows)])
