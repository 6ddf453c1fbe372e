"""`copilot campaigns` from the terminal: why someone got it or not, exports, the suppression list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from copilot.cli import cli
from copilot.delivery.jobs import run_until_idle
from copilot.runtime import Runtime
from copilot.settings import Settings

from .support import add_contacts, ledger, plan_data, schedule_campaign

AT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def test_campaigns_why_export_and_suppress_from_the_terminal(cli_env: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runtime = Runtime.start(cli_env.replace(control_percent=0.0))
    try:
        add_contacts(runtime, [{"first_name": "Ann"}, {"first_name": "Bo", "consent": "unsubscribed"}])
        review_id = schedule_campaign(runtime, plan_data(), at=AT)
        runner = CliRunner()
        suppressed = runner.invoke(cli, ["campaigns", "suppress", "Runner0@Example.com", "--reason", "complaint"])
        assert suppressed.exit_code == 0 and "1 address(es) added" in suppressed.output
        run_until_idle(runtime, now=AT + timedelta(seconds=1))
        assert {r.reason for r in ledger(runtime, review_id)} == {"suppressed", "unsubscribed"}
        why = runner.invoke(cli, ["campaigns", "why", str(review_id), "runner0@example.com"])
        assert why.exit_code == 0 and "their address is on the suppression list" in why.output
        as_json = json.loads(runner.invoke(cli, ["campaigns", "why", str(review_id), "runner1@example.com",
                                                 "--json"]).output)
        assert as_json["sends"][0]["reason"] == "unsubscribed"
        out = tmp_path / "plan.json"
        exported = runner.invoke(cli, ["campaigns", "export", str(review_id), "--format", "listmonk", "-o", str(out)])
        assert exported.exit_code == 0 and json.loads(out.read_text())["format"] == "listmonk"
        missing = runner.invoke(cli, ["campaigns", "why", str(review_id), "nobody@example.com"])
        assert missing.exit_code == 2 and "error: no contact 'nobody@example.com'" in missing.output
    finally:
        runtime.close()
