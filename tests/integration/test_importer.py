"""CSV import: every bad row named by line and reason, nothing half-written, re-imports upsert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from copilot.audience.aggregates import rebuild_aggregates
from copilot.errors import ImportDataError
from copilot.models import Contact, Event
from copilot.services import importer
from copilot.services.importer import import_contacts, import_events
from copilot.services.workspaces import register_workspace
from copilot.workspace import Workspace

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

CONTACTS = """\
email,consent,first_name,country,timezone,signed_up_at,loyalty_tier,order_count,shoe_size,marathon_finisher,last_order_at
Ann.Lee@Example.com,subscribed,Ann,us,America/Chicago,2025-03-01T10:00:00Z,vip,7,9.5,yes,2026-10-30T08:00:00+02:00
bo@example.com,unsubscribed,Bo,DE,Europe/Berlin,2024-01-05,member,1,,no,
cy@example.com,bounced,,,,,none,0,,,
"""

EVENTS = """\
email,event,occurred_at,product,category,value,cart_id,campaign
ann.lee@example.com,cart_abandoned,2026-11-21T18:00:00Z,NP-TEMPO-FLY,running_shoes,160,cart-9,
ANN.LEE@example.com,order_placed,2026-11-21 19:30:00,NP-TEMPO-FLY,running_shoes,160,,
bo@example.com,email_opened,2026-11-20T09:00:00-05:00,,,,,newsletter-2026-11-19
"""


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workspace_id(engine: Engine, demo_workspace: Workspace) -> int:
    with Session(engine) as session:
        record = register_workspace(session, demo_workspace)
        session.commit()
        assert record.id is not None
        return record.id


def _contacts(engine: Engine) -> dict[str, Contact]:
    with Session(engine) as session:
        return {c.email: c for c in session.exec(select(Contact))}


def _event_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Event)).one())


def _refused(engine: Engine, ws: Workspace, wid: int, path: Path, kind: str = "contacts") -> ImportDataError:
    run = import_contacts if kind == "contacts" else import_events
    with pytest.raises(ImportDataError) as info:
        run(engine, ws, wid, path, now=NOW)
    return info.value


def test_contacts_import_keeps_consent_and_types_attributes(engine: Engine, demo_workspace: Workspace,
                                                            workspace_id: int, tmp_path: Path) -> None:
    result = import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    assert (result.rows, result.imported, result.created, result.updated) == (3, 3, 3, 0)
    people = _contacts(engine)
    assert set(people) == {"ann.lee@example.com", "bo@example.com", "cy@example.com"}
    ann, bo, cy = people["ann.lee@example.com"], people["bo@example.com"], people["cy@example.com"]
    assert (ann.consent, bo.consent, cy.consent) == ("subscribed", "unsubscribed", "bounced")
    assert ann.country == "US" and ann.timezone == "America/Chicago"
    assert ann.signed_up_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert ann.attributes == {"loyalty_tier": "vip", "order_count": 7, "shoe_size": 9.5, "marathon_finisher": True,
                              "last_order_at": "2026-10-30T06:00:00+00:00"}
    assert bo.attributes == {"loyalty_tier": "member", "order_count": 1, "marathon_finisher": False}
    assert cy.first_name is None and cy.locale == "en" and cy.timezone == "UTC"


def test_reimport_updates_by_email_case_insensitively_without_duplicates(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", CONTACTS)
    import_contacts(engine, demo_workspace, workspace_id, path, now=NOW)
    again = import_contacts(engine, demo_workspace, workspace_id, path, now=NOW)
    assert (again.created, again.updated) == (0, 3)
    update = _write(tmp_path, "u.csv", "email,consent,city,order_count\nANN.LEE@EXAMPLE.COM,subscribed,Austin,8\n")
    import_contacts(engine, demo_workspace, workspace_id, update, now=NOW)
    people = _contacts(engine)
    assert len(people) == 3
    ann = people["ann.lee@example.com"]
    # New values land, blank or absent columns keep what was stored, attributes merge.
    assert ann.city == "Austin" and ann.first_name == "Ann" and ann.timezone == "America/Chicago"
    assert ann.attributes["order_count"] == 8 and ann.attributes["loyalty_tier"] == "vip"


def test_an_import_never_resubscribes_an_opted_out_contact(engine: Engine, demo_workspace: Workspace,
                                                           workspace_id: int, tmp_path: Path) -> None:
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    flip = _write(tmp_path, "f.csv", "email,consent\nbo@example.com,subscribed\ncy@example.com,subscribed\n"
                                     "ann.lee@example.com,unsubscribed\n")
    result = import_contacts(engine, demo_workspace, workspace_id, flip, now=NOW)
    assert result.kept_opted_out == 2
    assert "never re-subscribes" in result.summary()
    people = _contacts(engine)
    assert [people[e].consent for e in ("bo@example.com", "cy@example.com", "ann.lee@example.com")] == [
        "unsubscribed", "bounced", "unsubscribed"]
    assert people["ann.lee@example.com"].consent_updated_at == NOW


@pytest.mark.parametrize(("row", "line_reason"), [
    ("not-an-email,subscribed,1", "bad email 'not-an-email'"),
    ("dee@example.com,maybe,1", "unknown consent state 'maybe'"),
    ("dee@example.com,subscribed,two", "order_count must be a whole number, got 'two'"),
    ("dee@example.com,subscribed,1,extra", "expected 3 fields like the header, found 4"),
    (",subscribed,1", "email is empty"),
])
def test_a_bad_contact_row_is_named_by_line_and_nothing_is_written(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path, row: str,
        line_reason: str) -> None:
    path = _write(tmp_path, "c.csv", f"email,consent,order_count\nok@example.com,subscribed,3\n{row}\n")
    error = _refused(engine, demo_workspace, workspace_id, path)
    assert error.context["bad_rows"] == 1
    [problem] = error.context["problems"]
    assert problem["line"] == 3 and line_reason in problem["message"]
    assert _contacts(engine) == {}


def test_a_bad_timestamp_and_a_future_one_are_refused(engine: Engine, demo_workspace: Workspace,
                                                      workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent,signed_up_at\na@example.com,subscribed,2026-02-30\n"
                                     "b@example.com,subscribed,next tuesday\nc@example.com,subscribed,2031-01-01\n")
    problems = _refused(engine, demo_workspace, workspace_id, path).context["problems"]
    assert [p["line"] for p in problems] == [2, 3, 4]
    assert "not an ISO 8601 timestamp" in problems[0]["message"]
    assert "in the future" in problems[2]["message"]


def test_a_row_with_several_problems_names_them_all(engine: Engine, demo_workspace: Workspace,
                                                    workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent,loyalty_tier,timezone,birth_date\n"
                                     "x@example.com,subscribed,gold,Mars/Base,1990-02-31\n")
    [problem] = _refused(engine, demo_workspace, workspace_id, path).context["problems"]
    assert "loyalty_tier must be one of none, member, vip" in problem["message"]
    assert "unknown time zone 'Mars/Base'" in problem["message"]
    assert "birth_date must be a date" in problem["message"]


def test_duplicate_contacts_in_one_file_are_refused_case_insensitively(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent\na@example.com,subscribed\nb@example.com,subscribed\n"
                                     "A@Example.com,unsubscribed\n")
    [problem] = _refused(engine, demo_workspace, workspace_id, path).context["problems"]
    assert problem == {"line": 4, "column": None, "message": "duplicate of line 2 (same email)"}


@pytest.mark.parametrize(("header", "message"), [
    ("email,first_name", "missing required column 'consent'"),
    ("consent,first_name", "missing required column 'email'"),
    ("email,consent,shoe_colour", "unknown column 'shoe_colour'"),
    ("email,consent,email", "column 'email' appears twice"),
])
def test_a_bad_header_is_refused_naming_the_column(engine: Engine, demo_workspace: Workspace,
                                                   workspace_id: int, tmp_path: Path, header: str,
                                                   message: str) -> None:
    error = _refused(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", header + "\n"))
    assert message in error.message
    assert error.context["line"] == 1


def test_an_empty_file_is_a_clear_error(engine: Engine, demo_workspace: Workspace, workspace_id: int,
                                        tmp_path: Path) -> None:
    error = _refused(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", ""))
    assert "the file is empty (0 bytes)" in error.message and "email, consent" in error.message


def test_a_file_that_is_not_utf8_is_a_clear_error(engine: Engine, demo_workspace: Workspace,
                                                  workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent,first_name\nj@example.com,subscribed,J\xfcrgen\n".encode("latin-1"))
    error = _refused(engine, demo_workspace, workspace_id, path)
    assert "line 2: not UTF-8" in error.message


def test_skip_invalid_imports_the_rest_and_says_exactly_what_it_skipped(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent\na@example.com,subscribed\nnope,subscribed\n"
                                     "b@example.com,gone\nc@example.com,bounced\na@example.com,subscribed\n")
    result = import_contacts(engine, demo_workspace, workspace_id, path, skip_invalid=True, now=NOW)
    assert (result.rows, result.imported, result.skipped_count) == (5, 2, 3)
    assert [(p.line, p.message.split(" ")[0]) for p in result.skipped] == [(3, "bad"), (4, "unknown"),
                                                                           (6, "duplicate")]
    assert set(_contacts(engine)) == {"a@example.com", "c@example.com"}


def test_events_reference_contacts_by_email(engine: Engine, demo_workspace: Workspace, workspace_id: int,
                                            tmp_path: Path) -> None:
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    result = import_events(engine, demo_workspace, workspace_id, _write(tmp_path, "e.csv", EVENTS), now=NOW)
    assert result.imported == 3
    people = _contacts(engine)
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(Event.occurred_at)).all()
    opened, cart, order = events
    assert opened.contact_id == people["bo@example.com"].id
    assert opened.occurred_at == datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert opened.properties == {"campaign": "newsletter-2026-11-19"}
    assert (cart.name, cart.product, cart.category, cart.value, cart.properties) == (
        "cart_abandoned", "NP-TEMPO-FLY", "running_shoes", 160.0, {"cart_id": "cart-9"})
    assert order.contact_id == cart.contact_id == people["ann.lee@example.com"].id
    assert order.occurred_at == datetime(2026, 11, 21, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize(("row", "reason"), [
    ("nobody@example.com,order_placed,2026-11-01T10:00:00Z,,", "no contact with email 'nobody@example.com'"),
    ("bo@example.com,teleported,2026-11-01T10:00:00Z,,", "unknown event 'teleported'"),
    ("bo@example.com,order_placed,yesterday,,", "occurred_at 'yesterday' is not an ISO 8601 timestamp"),
    ("bo@example.com,order_placed,2026-11-01T10:00:00Z,,cart-1", "'cart_id' is not a property of event 'order_placed'"),
    ("bo@example.com,order_placed,2026-11-01T10:00:00Z,lots,", "value must be a number, got 'lots'"),
    ("bo@example.com,email_opened,2026-11-01T10:00:00Z,,", "duplicate of line 2"),
])
def test_a_bad_event_row_is_named_by_line_and_nothing_is_written(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path, row: str, reason: str) -> None:
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    path = _write(tmp_path, "e.csv", "email,event,occurred_at,value,cart_id\n"
                                     f"bo@example.com,email_opened,2026-11-01T10:00:00Z,,\n{row}\n")
    error = _refused(engine, demo_workspace, workspace_id, path, kind="events")
    [problem] = error.context["problems"]
    assert problem["line"] == 3 and reason in problem["message"]
    assert _event_count(engine) == 0


def test_a_failure_while_writing_rolls_back_every_chunk(engine: Engine, demo_workspace: Workspace,
                                                        workspace_id: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    monkeypatch.setattr(importer, "CHUNK", 2)
    rows = [f"bo@example.com,email_opened,2026-11-0{d}T10:00:00Z" for d in range(1, 7)]
    rows.insert(3, "cy@example.com,email_opened,2026-11-08T10:00:00Z")  # in the second chunk of two rows
    path = _write(tmp_path, "e.csv", "email,event,occurred_at\n" + "\n".join(rows) + "\n")
    calls = []

    def delete_cy_after_the_check(_: int) -> None:
        # The first call comes when the checking pass reaches the end of the file, after
        # cy's row was checked; cy then vanishes, and the writing pass has written the
        # first chunk when it reaches cy's.
        calls.append(1)
        if len(calls) == 1:
            with Session(engine) as session:
                session.delete(session.exec(select(Contact).where(Contact.email == "cy@example.com")).one())
                session.commit()

    with pytest.raises(ImportDataError, match="disappeared during the import; nothing imported"):
        import_events(engine, demo_workspace, workspace_id, path, progress=delete_cy_after_the_check, now=NOW)
    assert _event_count(engine) == 0


def test_an_exported_demo_audience_imports_back_unchanged(engine: Engine, demo_workspace: Workspace,
                                                          workspace_id: int, tmp_path: Path) -> None:
    from copilot.audience import generate_audience
    from copilot.audience.export import write_audience_csv

    contacts_csv, events_csv = tmp_path / "c.csv", tmp_path / "e.csv"
    _, n_events = write_audience_csv(demo_workspace, contacts_csv, events_csv, contacts=300, now=NOW)
    assert import_contacts(engine, demo_workspace, workspace_id, contacts_csv, now=NOW).imported == 300
    assert import_events(engine, demo_workspace, workspace_id, events_csv, now=NOW).imported == n_events
    [chunk] = list(generate_audience(demo_workspace, contacts=300, now=NOW))
    people = _contacts(engine)
    for i, email in enumerate(chunk.email):
        person = people[email]
        assert person.consent == chunk.consent[i]
        assert person.attributes == json.loads(chunk.attributes[i])
        # The importer trims cells: blank and whitespace-only names arrive as no name.
        assert person.first_name == ((chunk.first_name[i] or "").strip() or None)
        assert int(person.signed_up_at.timestamp()) == chunk.signed_up_at[i]
    assert _event_count(engine) == n_events == len(chunk.events)


def test_only_true_repeats_are_duplicates(engine: Engine, demo_workspace: Workspace, workspace_id: int,
                                          tmp_path: Path) -> None:
    path = _write(tmp_path, "c.csv", "email,consent\na@example.com,subscribed\nb@example.com,subscribed\n"
                                     "A@example.com,subscribed\nc@example.com,bounced\n")
    result = import_contacts(engine, demo_workspace, workspace_id, path, skip_invalid=True, now=NOW)
    assert [str(p) for p in result.skipped] == ["line 4: duplicate of line 2 (same email)"]
    assert set(_contacts(engine)) == {"a@example.com", "b@example.com", "c@example.com"}


def test_a_big_events_import_rebuilds_the_indexes_it_deferred(engine: Engine, demo_workspace: Workspace,
                                                              workspace_id: int, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    from copilot.audience import bulk

    monkeypatch.setattr(bulk, "DEFER_FROM_ROWS", 2)  # what counts as big, scaled down to the test
    before = {i["name"] for i in sa.inspect(engine).get_indexes("events")}
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    assert import_events(engine, demo_workspace, workspace_id, _write(tmp_path, "e.csv", EVENTS), now=NOW).imported == 3
    assert {i["name"] for i in sa.inspect(engine).get_indexes("events")} == before
    assert _event_count(engine) == 3


def _aggregates(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT contact_id, name, category, event_count, first_at, last_at, value_sum FROM contact_aggregates "
            "ORDER BY contact_id, name, category"))]


def test_imported_events_are_added_to_the_per_contact_aggregates(engine: Engine, demo_workspace: Workspace,
                                                                 workspace_id: int, tmp_path: Path) -> None:
    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    import_events(engine, demo_workspace, workspace_id, _write(tmp_path, "e.csv", EVENTS), now=NOW)
    # A second file for the same contacts: counts and sums grow, first and last times widen.
    more = ("email,event,occurred_at,category,value\nann.lee@example.com,order_placed,2026-01-02T10:00:00Z,apparel,40\n"
            "ann.lee@example.com,order_placed,2026-11-22T08:00:00Z,running_shoes,100\n")
    import_events(engine, demo_workspace, workspace_id, _write(tmp_path, "e2.csv", more), now=NOW)
    ann, bo = _contacts(engine)["ann.lee@example.com"].id, _contacts(engine)["bo@example.com"].id
    at = lambda text: datetime.fromisoformat(text).astimezone(UTC)  # noqa: E731
    got = [(cid, name, cat, n, first.astimezone(UTC) if first.tzinfo else first.replace(tzinfo=UTC),
            last.astimezone(UTC) if last.tzinfo else last.replace(tzinfo=UTC), total)
           for cid, name, cat, n, first, last, total in
           [(r[0], r[1], r[2], r[3], *(v if isinstance(v, datetime) else datetime.fromisoformat(v) for v in r[4:6]),
             r[6]) for r in _aggregates(engine)]]
    assert got == [
        (ann, "cart_abandoned", "", 1, at("2026-11-21T18:00:00Z"), at("2026-11-21T18:00:00Z"), 160.0),
        (ann, "cart_abandoned", "running_shoes", 1, at("2026-11-21T18:00:00Z"), at("2026-11-21T18:00:00Z"), 160.0),
        (ann, "order_placed", "", 3, at("2026-01-02T10:00:00Z"), at("2026-11-22T08:00:00Z"), 300.0),
        (ann, "order_placed", "apparel", 1, at("2026-01-02T10:00:00Z"), at("2026-01-02T10:00:00Z"), 40.0),
        (ann, "order_placed", "running_shoes", 2, at("2026-11-21T19:30:00Z"), at("2026-11-22T08:00:00Z"), 260.0),
        (bo, "email_opened", "", 1, at("2026-11-20T14:00:00Z"), at("2026-11-20T14:00:00Z"), 0.0),
    ]
    # What the importer keeps step by step is what a recomputation from the events gives.
    kept = _aggregates(engine)
    with engine.begin() as conn:
        rebuild_aggregates(conn)
    assert _aggregates(engine) == kept


def test_events_recorded_through_the_api_are_added_to_the_aggregates(
        engine: Engine, demo_workspace: Workspace, workspace_id: int, tmp_path: Path) -> None:
    from copilot.services.events import record_events

    import_contacts(engine, demo_workspace, workspace_id, _write(tmp_path, "c.csv", CONTACTS), now=NOW)
    import_events(engine, demo_workspace, workspace_id, _write(tmp_path, "e.csv", EVENTS), now=NOW)
    with Session(engine) as session:
        record_events(session, demo_workspace, workspace_id, [
            {"email": "ann.lee@example.com", "event": "order_placed", "occurred_at": "2026-11-22T09:00:00Z",
             "properties": {"category": "apparel", "value": 12.5}},
            {"email": "cy@example.com", "event": "email_opened", "occurred_at": "2026-11-22T10:00:00Z",
             "properties": {}}], now=NOW)
        session.commit()
    kept = _aggregates(engine)
    assert [(r[1], r[2], r[3], r[6]) for r in kept if r[1] == "order_placed"] == [
        ("order_placed", "", 2, 172.5), ("order_placed", "apparel", 1, 12.5), ("order_placed", "running_shoes", 1, 160.0)]
    with engine.begin() as conn:
        rebuild_aggregates(conn)
    assert _aggregates(engine) == kept
