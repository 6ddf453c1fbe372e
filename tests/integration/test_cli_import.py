"""``copilot import``: reports every bad row on stderr, exits 2 and writes nothing; memory stays flat."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from copilot import db
from copilot.cli import cli
from copilot.models import Contact, Event
from copilot.settings import Settings


def _csv(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_bad_rows_are_listed_on_stderr_and_nothing_is_imported(cli_env: Settings, row_count: Callable[[type], int], tmp_path: Path) -> None:
    path = _csv(tmp_path, "c.csv", "email,consent,order_count\na@example.com,subscribed,1\nnope,subscribed,2\n"
                                   "b@example.com,subscribed,many\nA@example.com,bounced,3\n")
    result = CliRunner().invoke(cli, ["import", "contacts", path])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: c.csv: 3 bad rows, nothing imported")
    assert lines[1:] == [
        "  line 3: bad email 'nope': An email address must have an @-sign.",
        "  line 4: order_count must be a whole number, got 'many'",
        "  line 5: duplicate of line 2 (same email)",
    ]
    assert row_count(Contact) == 0


def test_skip_invalid_imports_the_rest_and_lists_what_it_skipped(cli_env: Settings, row_count: Callable[[type], int], tmp_path: Path) -> None:
    path = _csv(tmp_path, "c.csv", "email,consent\na@example.com,subscribed\nb@example.com,sleeping\n")
    result = CliRunner().invoke(cli, ["import", "contacts", "--skip-invalid", path])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "c.csv: imported 1 contacts (1 new, 0 updated) in " + result.stdout.split(" in ")[1].split(" s")[0]
        + " s; skipped 1 bad rows",
        "skipped:",
        "  line 3: unknown consent state 'sleeping'; expected one of subscribed, unsubscribed, bounced",
    ]
    assert row_count(Contact) == 1


def test_events_import_into_a_named_workspace(cli_env: Settings, row_count: Callable[[type], int], tmp_path: Path) -> None:
    runner = CliRunner()
    contacts = _csv(tmp_path, "c.csv", "email,consent\nann@example.com,subscribed\n")
    events = _csv(tmp_path, "e.csv", "email,event,occurred_at,value,product\n"
                                     "ANN@example.com,order_placed,2026-01-05T10:00:00Z,120.5,NP-TEMPO-FLY\n")
    assert runner.invoke(cli, ["import", "contacts", contacts, "--workspace", "northpeak"]).exit_code == 0
    result = runner.invoke(cli, ["import", "events", events, "--workspace", "northpeak"])
    assert result.exit_code == 0, result.output
    assert "imported 1 events" in result.stdout
    assert row_count(Event) == 1


def test_unknown_workspace_and_empty_file_are_clear_errors(cli_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    path = _csv(tmp_path, "c.csv", "email,consent\n")
    unknown = runner.invoke(cli, ["import", "contacts", path, "--workspace", "nope"])
    assert unknown.exit_code == 2 and "no workspace 'nope'" in unknown.stderr
    empty = runner.invoke(cli, ["import", "events", _csv(tmp_path, "empty.csv", "")])
    assert empty.exit_code == 2
    assert "empty.csv: the file is empty (0 bytes)" in empty.stderr


def _peak_rss_kib(args: list[str], env: dict[str, str]) -> int:
    """Run ``copilot ARGS`` in a fresh interpreter and return its peak resident memory."""
    code = ("import resource, sys\nfrom copilot.cli import cli\ntry:\n    cli.main(sys.argv[1:], prog_name='copilot')\n"
            "except SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stderr.rsplit("PEAK", 1)[1].split()[0])


def _events_file(path: Path, emails: list[str], rows: int, width: int) -> None:
    """An events CSV of ``rows`` valid, distinct rows, each carrying ``width`` characters of campaign key."""
    pad = "x" * width
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["email", "event", "occurred_at", "campaign"])
        for i in range(rows):
            out.writerow([emails[i % len(emails)], "email_opened",
                          f"2026-{1 + i % 9:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}Z",
                          f"{pad}-{i}"])


@pytest.mark.slow
def test_a_200_mb_file_imports_with_flat_memory(cli_env: Settings, row_count: Callable[[type], int], tmp_path: Path) -> None:
    """Peak memory of a 200 MB import stays within a small margin of a 2 MB import's.

    Rows are wide (10 KB each) so the test stays fast; benchmarks/import_csv.py measures
    a realistic 200 MB file of narrow rows.
    """
    env = {**os.environ, "DATABASE_URL": cli_env.database_url, "COPILOT_DATA_DIR": str(cli_env.data_dir)}
    emails = [f"runner{i}@example.com" for i in range(500)]
    contacts = tmp_path / "c.csv"
    contacts.write_text("email,consent\n" + "".join(f"{e},subscribed\n" for e in emails), encoding="utf-8")
    _peak_rss_kib(["import", "contacts", str(contacts)], env)
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    _events_file(small, emails, 200, 10_000)
    _events_file(big, emails, 20_000, 10_000)
    assert big.stat().st_size > 200 * 1024 * 1024 - 10 * 1024 * 1024
    small_peak = _peak_rss_kib(["import", "events", str(small)], env)
    big_peak = _peak_rss_kib(["import", "events", str(big)], env)
    assert row_count(Event) == 20_200
    growth_mib = (big_peak - small_peak) / 1024
    # Reading the file whole would add at least its 200 MB; SQLite's page cache may add up to 64 MiB.
    assert growth_mib < 100, f"peak memory grew by {growth_mib:.0f} MiB for a 200 MB file"
    engine = db.make_engine(cli_env.database_url)
    with Session(engine) as session:
        one = session.exec(select(Event).where(Event.properties.is_not(None)).limit(1)).one()  # type: ignore[union-attr]
        assert len(json.dumps(one.properties)) > 10_000
    engine.dispose()
