"""``copilot workspace draft`` / ``check``: types and roles guessed from CSV columns, a role it cannot guess
left to a person, bad CSV files named by file and line, and the check listing every marker and problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli import cli
from copilot.services.import_rows import ContactSchema, EventSchema
from copilot.text import identifier
from copilot.workspace import load_workspace
from copilot.workspace.draft import (
    MARKER,
    ColumnProfile,
    DraftError,
    check_workspace,
    draft_workspace,
    guess_event_role,
    guess_field_role,
    guess_type,
)


def _col(header: str, *values: str) -> ColumnProfile:
    col = ColumnProfile(header, identifier(header))
    for v in values:
        col.add(v)
    return col


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("values", "expected"), [
    (("1", "22", "-3"), ("integer", [])),
    (("1.5", "22", "3e2"), ("number", [])),
    (("yes", "No", "TRUE"), ("boolean", [])),
    (("2026-01-02", "2025-12-31"), ("date", [])),
    (("2026-01-02T10:00:00Z", "2026-01-03"), ("datetime", [])),
    (("gold", "silver", "gold", "bronze", "gold", "silver"), ("enum", ["gold", "silver", "bronze"])),
    (("Anna", "Ben", "Cleo"), ("string", [])),  # every value once: names, not an enum
    (("12", "twelve", "13", "14"), ("string", [])),  # one odd value: text, so importing never trips on it
    (("2026-02-30", "2026-01-01"), ("string", [])),  # not a real date
])
def test_types_are_guessed_from_the_values(values: tuple[str, ...], expected: tuple[str, list[str]]) -> None:
    assert guess_type(_col("Something", *values)) == expected


def test_zero_one_is_a_number_unless_the_name_asks_a_yes_or_no_question() -> None:
    assert guess_type(_col("Visits", "0", "1", "1"))[0] == "integer"
    assert guess_type(_col("Is Wholesale", "0", "1", "1"))[0] == "boolean"


@pytest.mark.parametrize(("header", "values", "role"), [
    ("First Name", ("Ana", "Ben"), "first_name"),
    ("Given Name", ("Ana", "Ben"), "first_name"),
    ("Last Order Date", ("2026-01-02", "2025-05-06"), "last_purchase_at"),
    ("lastOrderDate", ("2026-01-02", "2025-05-06"), "last_purchase_at"),
    ("Date of Last Donation", ("2026-01-02",), "last_purchase_at"),
    ("Total Spent", ("10.5", "99"), "lifetime_value"),
    ("LTV", ("10.5", "99"), "lifetime_value"),
    ("Number of Orders", ("1", "4"), "order_count"),
    ("Joined", ("2024-03-01",), "signed_up_at"),
    ("Date of Birth", ("1980-03-01",), "birthday"),
    ("Membership Level", ("basic", "plus", "basic", "plus"), "tier"),
    ("Favorite Genre", ("crime", "poetry", "crime", "poetry"), "preferred_category"),
    ("Trial Ends", ("2026-12-01",), "trial_ends_at"),
    ("Last Login", ("2026-12-01T08:00:00Z",), "last_active_at"),
    ("Pref", ("en", "de", "de-AT", "en", "fr"), "locale"),  # from the values' shape alone
])
def test_roles_are_proposed_from_generic_names_and_value_shapes(header: str, values: tuple[str, ...],
                                                                 role: str) -> None:
    col = _col(header, *values)
    assert guess_field_role(col, guess_type(col)[0]) == role


@pytest.mark.parametrize(("header", "values"), [
    ("Care Score", ("3", "9", "4")),  # nothing in the name or the values says what it means
    ("Shoe Size", ("41", "44")),
    ("Last Order Date", ("last spring", "in May")),  # the name fits, but text cannot hold a date role
])
def test_a_role_that_cannot_be_guessed_is_left_to_a_person(header: str, values: tuple[str, ...]) -> None:
    col = _col(header, *values)
    assert guess_field_role(col, guess_type(col)[0]) is None


def test_a_role_is_proposed_once() -> None:
    col = _col("Last Order Date", "2026-01-02")
    assert guess_field_role(col, "date", {"last_purchase_at"}) is None


@pytest.mark.parametrize(("name", "role"), [
    ("Order Completed", "purchase"),  # implied by Segment's name
    ("Workshop Attended", "attendance"),
    ("Donation Made", "purchase"),
    ("Basket Left", "cart"),
    ("Care Guide Downloaded", None),
])
def test_event_roles(name: str, role: str | None) -> None:
    assert guess_event_role(name) == role


CONTACTS = ("Email,Consent,First Name,Locale,Last Order Date,Orders,Total Spent,Care Score\n"
            + "".join(f"p{i}@example.com,subscribed,P{i},{'de' if i % 3 else 'en'},2026-0{1 + i % 9}-1{i % 10},"
                      f"{i % 5},{i * 7.5},{i % 4}\n" for i in range(30)))
EVENTS = ("email,event,occurred_at,product,value\n"
          + "".join(f"p{i}@example.com,Order Completed,2026-05-0{1 + i % 9}T10:00:00Z,SKU-{i % 3},{10 + i}\n"
                    for i in range(12)))


def test_the_draft_loads_as_written_and_check_lists_every_marker(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "contacts.csv", CONTACTS)
    events = _write(tmp_path / "events.csv", EVENTS)
    draft = draft_workspace(contacts, tmp_path / "ws", events=events, name="Plot Twist Books")
    workspace = load_workspace(tmp_path / "ws")  # the markers are tolerated: comments and placeholder text
    assert workspace.slug == "plot-twist-books"
    assert workspace.roles["purchase"] == "order_completed"
    assert workspace.roles["lifetime_value"] == "total_spent"
    assert workspace.field("care_score").role is None  # type: ignore[union-attr]
    assert workspace.brand.locales == ["de", "en"]
    assert {p.sku for p in workspace.facts.products} == {"SKU-0", "SKU-1", "SKU-2"}
    assert workspace.field("total_spent").thresholds["high"] > 0  # type: ignore[union-attr]
    assert draft.before_import == []

    report = check_workspace(tmp_path / "ws")
    assert not report.ready and report.problems == []
    assert len(report.markers) == draft.markers
    care = next(m for m in report.markers if "care_score" in m)
    assert re.match(r"catalog\.yaml:\d+: field care_score \(from 'Care Score'\): confirm provenance", care)
    assert "none guessed" in care

    for name in ("brand.yaml", "voice.yaml", "facts.yaml", "catalog.yaml"):  # markers deleted, nothing set
        path = tmp_path / "ws" / name
        text = re.sub(rf"  # {re.escape(MARKER)}:.*$", "", path.read_text(encoding="utf-8"), flags=re.M)
        path.write_text(text.replace(f"{MARKER}: ", ""), encoding="utf-8")
    report = check_workspace(tmp_path / "ws")
    assert report.markers == [] and not report.ready
    assert report.placeholders[:3] == ["brand.yaml: website is still https://example.com",
                                       "brand.yaml: preference_center_url is still https://example.com/preferences",
                                       "brand.yaml: sender.from_email is still hello@example.com"]
    assert "facts.yaml: products[0] (SKU-0) still has the drafted name, price and page" in report.placeholders

    for name in ("brand.yaml", "facts.yaml"):  # the real values
        path = tmp_path / "ws" / name
        text = path.read_text(encoding="utf-8").replace("https://example.com", "https://plottwist.example")
        path.write_text(text.replace("hello@example.com", "hi@plottwist.example"), encoding="utf-8")
    assert check_workspace(tmp_path / "ws").ready


def test_check_lists_every_loader_problem_of_every_file(tmp_path: Path) -> None:
    draft_workspace(_write(tmp_path / "c.csv", CONTACTS), tmp_path / "ws")
    brand = tmp_path / "ws" / "brand.yaml"
    brand.write_text(brand.read_text(encoding="utf-8").replace("currency: USD", "curency: USD"), encoding="utf-8")
    voice = tmp_path / "ws" / "voice.yaml"
    voice.write_text(voice.read_text(encoding="utf-8").replace("max_exclamation_marks: 1",
                                                                "max_exclamation_marks: -1"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["workspace", "check", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert "did you mean 'currency'?" in result.stdout
    assert re.search(r"voice\.yaml:\d+: max_exclamation_marks:", result.stdout)
    assert "marked for review" in result.stdout


def test_columns_to_rename_and_a_missing_consent_column_are_said(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "c.csv", "Email Address,Language\na@example.com,en\nb@example.com,de\n"
                                          "c@example.com,en\nd@example.com,de\n")
    draft = draft_workspace(contacts, tmp_path / "ws")
    assert draft.before_import == ["c.csv: rename the column 'Email Address' to email",
                                   "c.csv: add a consent column (subscribed, unsubscribed or bounced)",
                                   "c.csv: rename the column 'Language' to locale"]
    markers = check_workspace(tmp_path / "ws").markers
    assert any("has no consent column" in m for m in markers)
    assert load_workspace(tmp_path / "ws").field("locale").role == "locale"  # type: ignore[union-attr]


def test_a_models_guess_and_health_data_are_drafted_cautiously(tmp_path: Path) -> None:
    rows = "".join(f"p{i}@example.com,subscribed,0.{i % 9 + 1},{'knee' if i % 2 else 'none'}\n" for i in range(6))
    draft_workspace(_write(tmp_path / "c.csv", "email,consent,Churn Risk,Injury Notes\n" + rows), tmp_path / "ws")
    workspace = load_workspace(tmp_path / "ws")
    risk, injury = workspace.field("churn_risk"), workspace.field("injury_notes")
    assert (risk.provenance, risk.disclosed, risk.allowed_uses) == ("inferred", False, ["analytics"])  # type: ignore[union-attr]
    assert injury.sensitive and injury.allowed_uses == ["analytics"]  # type: ignore[union-attr]


def test_a_consent_column_in_other_words_is_said(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "c.csv", "email,consent\na@example.com,yes\nb@example.com,no\n")
    draft = draft_workspace(contacts, tmp_path / "ws")
    assert draft.before_import == ["c.csv: write the 'consent' column as subscribed, unsubscribed or bounced "
                                   "(it holds 'no', 'yes')"]
    assert any("holds 'no', 'yes'" in m for m in check_workspace(tmp_path / "ws").markers)


def test_event_columns_in_other_words_are_found_and_to_be_renamed(tmp_path: Path) -> None:
    events = _write(tmp_path / "e.csv", "Customer,Action,When,Amount\n" + "".join(
        f"p{i}@example.com,{'Purchase' if i % 2 else 'Page Viewed'},2026-05-0{1 + i % 9}T10:00:00Z,{i}\n"
        for i in range(6)))
    draft = draft_workspace(_write(tmp_path / "c.csv", CONTACTS), tmp_path / "ws", events=events)
    assert draft.before_import == ["e.csv: rename the column 'Customer' to email",
                                   "e.csv: rename the column 'Action' to event",
                                   "e.csv: rename the column 'When' to occurred_at"]
    workspace = load_workspace(tmp_path / "ws")
    assert (workspace.roles["purchase"], workspace.roles["browse"]) == ("purchase", "page_viewed")
    assert [p.name for p in workspace.event("purchase").properties] == ["amount"]  # type: ignore[union-attr]
    assert sum("e.csv calls the" in m for m in check_workspace(tmp_path / "ws").markers) == 3


@pytest.mark.parametrize(("text", "message"), [
    ("", "c.csv:1: the file is empty"),
    ("email,consent\n", "c.csv:2: the file has a header but no rows"),
    ("email,consent\na@example.com,subscribed\nb@example.com\n", "c.csv:3: expected 2 fields like the header, found 1"),
    ('email,consent\na@example.com,subscribed\n"b@example.com,subscribed\n', "c.csv:3: malformed CSV"),
    ("Email,EMAIL\na@x.io,b@x.io\n", "c.csv:1: columns 'Email' and 'EMAIL' would both be named 'email'"),
    ("name\nAna\nBen\n", "c.csv:1: no column holds email addresses"),
    ("email;consent\na@example.com;subscribed\n", "c.csv:1: the columns are separated by semicolons"),
])
def test_bad_csv_files_are_named_by_file_and_line_and_nothing_is_written(tmp_path: Path, text: str,
                                                                          message: str) -> None:
    with pytest.raises(DraftError) as info:
        draft_workspace(_write(tmp_path / "c.csv", text), tmp_path / "ws")
    assert message in info.value.message
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").iterdir())


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"email,consent\na@example.com,subscribed\n" + "b@example.com,abonn\u00e9\n".encode("latin-1"))
    with pytest.raises(DraftError, match=r"c\.csv:3: not UTF-8"):
        draft_workspace(path, tmp_path / "ws")


def test_an_existing_workspace_is_not_replaced_without_force(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "c.csv", CONTACTS)
    draft_workspace(contacts, tmp_path / "ws")
    with pytest.raises(DraftError, match="pass --force"):
        draft_workspace(contacts, tmp_path / "ws")
    draft_workspace(contacts, tmp_path / "ws", force=True)


def test_the_command_prints_the_summary_and_the_next_step(tmp_path: Path) -> None:
    contacts = _write(tmp_path / "c.csv", CONTACTS)
    result = CliRunner().invoke(cli, ["workspace", "draft", "--contacts", str(contacts), "--out",
                                      str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "roles proposed" in result.stdout and "copilot workspace check" in result.stdout
    bad = _write(tmp_path / "bad.csv", "")
    result = CliRunner().invoke(cli, ["workspace", "draft", "--contacts", str(bad), "--out", str(tmp_path / "w2")])
    assert result.exit_code == 2
    assert "bad.csv:1: the file is empty" in result.stderr


def test_the_importer_reads_headers_and_event_names_as_the_draft_names_them(tmp_path: Path) -> None:
    draft_workspace(_write(tmp_path / "c.csv", CONTACTS), tmp_path / "ws", events=_write(tmp_path / "e.csv", EVENTS))
    workspace = load_workspace(tmp_path / "ws")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    schema = ContactSchema(workspace, ["Email", "Consent", "First Name", "Last Order Date"], now=now)
    assert schema.header_problems == []
    row = schema.row(["a@example.com", "subscribed", "Ana", "2026-03-04"])
    assert row.columns == {"first_name": "Ana"} and row.attributes == {"last_order_date": "2026-03-04"}
    events = EventSchema(workspace, ["email", "event", "occurred_at", "value"], now=now)
    assert events.row(["a@example.com", "Order Completed", "2026-05-01T10:00:00Z", "12"]).name == "order_completed"
