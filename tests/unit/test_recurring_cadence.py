"""A recurring campaign's cadence: read from the brief, written as cron, described in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from copilot.brief.extract import extract_recurring_weekday
from copilot.plan import Trigger
from copilot.planner.base import PlanRequest
from copilot.planner.offline import OfflinePlanner
from copilot.planner.timeline import describe_cron, describe_recurring, timeline
from copilot.validation import validate_plan
from copilot.workspace import Workspace

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("every friday", (4, False)),
    ("on Fridays", (4, False)),
    ("each Monday morning", (0, False)),
    ("every other Friday", (4, True)),
    ("every second tuesday", (1, True)),
    ("jeden Freitag", (4, False)),
    ("freitags", (4, False)),
    ("cada viernes", (4, False)),
    ("todos los lunes", (0, False)),
    ("send it on Friday", None),  # one day, not a cadence
    ("el viernes", None),  # Spanish weekday names end in s: still one day
    ("win back lapsed runners", None),
])
def test_a_recurring_weekday_is_read_from_the_words_marketers_use(text: str, expected: tuple[int, bool] | None) -> None:
    assert extract_recurring_weekday(text) == expected


@pytest.mark.parametrize(("brief", "cron", "subject"), [
    ("monthly newsletter", "0 9 1 * *", "This month at Northpeak Running"),
    ("newsletter", "0 9 1 * *", "This month at Northpeak Running"),
    ("weekly newsletter", "0 9 * * 2", "This week at Northpeak Running"),
    ("weekly newsletter every friday for road runners", "0 9 * * 5", "This week at Northpeak Running"),
    ("newsletter every tuesday at 7am", "0 7 * * 2", "This week at Northpeak Running"),
    ("wöchentlicher Newsletter für alle Abonnenten", "0 9 * * 2", "This week at Northpeak Running"),
    ("boletín cada viernes a las 8h", "0 8 * * 5", "This week at Northpeak Running"),
    ("newsletter every two weeks", "0 9 1,15 * *", "This fortnight at Northpeak Running"),
])
def test_the_newsletter_follows_the_cadence_day_and_time_of_the_brief(
        demo_workspace: Workspace, brief: str, cron: str, subject: str) -> None:
    result = OfflinePlanner().plan_now(PlanRequest(brief=brief, workspace=demo_workspace, now=NOW))
    plan = result.plan
    assert plan is not None and plan.goal == "newsletter"
    assert plan.trigger.kind == "recurring" and plan.trigger.cron == cron
    assert plan.variants[0].subject == subject
    assert describe_cron(cron) in plan.summary
    assert validate_plan(plan, demo_workspace) == []


def test_every_other_friday_cannot_be_cron_so_the_plan_says_what_it_does_instead(demo_workspace: Workspace) -> None:
    result = OfflinePlanner().plan_now(PlanRequest(brief="newsletter for trail runners every other Friday",
                                                   workspace=demo_workspace, now=NOW))
    assert result.plan is not None and result.plan.trigger.cron == "0 9 1,15 * *"
    assert any("cannot say every other Friday" in n and "1st and the 15th" in n for n in result.notes)


@pytest.mark.parametrize(("cron", "words"), [
    ("0 9 1 * *", "on the 1st of every month at 09:00"),
    ("30 7 1,15 * *", "on the 1st and 15th of every month at 07:30"),
    ("0 9 * * 5", "every Friday at 09:00"),
    ("0 9 * * 0", "every Sunday at 09:00"),
    ("0 9 * * 7", "every Sunday at 09:00"),
    ("0 18 * * 1,3,5", "every Monday, Wednesday and Friday at 18:00"),
    ("15 6 * * *", "every day at 06:15"),
    ("0 9 22 * *", "on the 22nd of every month at 09:00"),
    ("0 9 1 1 *", "on cron '0 9 1 1 *'"),
    ("*/15 * * * *", "on cron '*/15 * * * *'"),
    ("0 9 1-7 * 5", "on cron '0 9 1-7 * 5'"),
])
def test_a_cron_reads_as_words_or_stays_cron(cron: str, words: str) -> None:
    assert describe_cron(cron) == words


def test_the_timeline_names_the_zone_a_recurring_send_keeps() -> None:
    steps = [{"type": "send", "message": "email_1"}]
    local = Trigger.model_validate({"kind": "recurring", "cron": "0 9 * * 5", "recipient_local_time": True,
                                    "steps": steps})
    fixed = Trigger.model_validate({"kind": "recurring", "cron": "0 9 * * 5", "timezone": "Europe/Berlin",
                                    "steps": steps})
    assert timeline(local)[0] == "repeats every Friday at 09:00 in each recipient's local time (cron '0 9 * * 5')"
    assert describe_recurring(fixed) == "every Friday at 09:00 Europe/Berlin time (cron '0 9 * * 5')"
