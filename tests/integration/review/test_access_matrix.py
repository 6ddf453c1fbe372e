"""Walks every cell of the access matrix as docs/access.md documents it, over HTTP: once through the
web pages (the form POST or page GET, and whether the page offers the control at all) and once
through the JSON API (with the person's bearer token).

The expected outcome of each cell is read from the documented table, never from the code under
test. Each cell gets a fresh draft in the state its action needs; "submitted" cells are walked
before and after the draft is submitted, "policy" cells with the workspace policy off and on.
An allowed action must answer with success and change what it should; a refused one must answer
403 and change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from review_factory import SAMPLE_PLAN, World, finding
from sqlmodel import Session, select
from ui_support import UI, soup

from copilot.models import AuditLog, FindingOverride, PlanRevision, Review, User, WorkspaceRecord
from copilot.services import review as gate
from copilot.services.access import Action
from copilot.services.api_tokens import issue_token

DOC = Path(__file__).parents[3] / "docs" / "access.md"
COLUMNS = ("author", "marketer", "reviewer", "admin")
PEOPLE = {"author": "mara", "marketer": "mo", "reviewer": "rita", "admin": "ada"}
CELLS = {"yes", "no", "never", "submitted", "policy"}
# Who may do what is decided in Python, not SQL: SQLite is enough (the gate's SQL runs on both in
# test_review_gate.py).
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def documented_matrix() -> dict[str, dict[str, str]]:
    """action -> column -> cell, from the table in docs/access.md."""
    rows = re.findall(r"^\| `(\w+)`: [^|]*\| (\w+) \| (\w+) \| (\w+) \| (\w+) \|", DOC.read_text(), flags=re.M)
    return {action: dict(zip(COLUMNS, cells, strict=True)) for action, *cells in rows}


MATRIX = documented_matrix()


def test_the_documented_matrix_has_a_row_for_every_action_and_only_known_cells() -> None:
    assert sorted(MATRIX) == sorted(a.value for a in Action)
    assert {cell for row in MATRIX.values() for cell in row.values()} <= CELLS


# -- one draft per cell, in the state its action needs --------------------------------------------

@dataclass
class Draft:
    review_id: int
    conversation_id: int
    finding_id: int | None = None


def _prepare(world: World, action: str, *, submitted: bool) -> Draft:
    u, s = world.users, world.session
    findings = {"override": [finding("FACT_PRICE")],
                "acknowledge": [finding("PROV_UNEXPECTED", "warn", needs_ack=True)]}.get(action)
    review = world.draft(u["mara"], findings, title=f"Draft for {action}")
    if action != "submit" and submitted:
        gate.submit(s, review, u["mara"], review.version)
    if action in ("schedule", "pause", "resume", "cancel"):
        gate.approve(s, review, u["rob"], review.version)
    if action in ("pause", "resume", "cancel"):
        gate.schedule(s, review, u["rob"], review.version, at="2031-06-01T09:00", timezone="UTC")
    if action == "resume":
        gate.pause(s, review, u["rob"], review.version)
    fid = None
    if findings:
        status = gate.gate_status(s, review)
        fid = (status.blocking or status.unacknowledged)[0].id
    s.commit()
    return Draft(review.id or 0, review.conversation_id, fid)


def _set_policy(world: World, on: bool) -> None:
    record = world.session.get(WorkspaceRecord, world.workspace_id)
    record.policy = {"authors_may_schedule": on}
    world.session.add(record)
    world.session.commit()


def _observe(ui: UI, d: Draft) -> tuple[Any, ...]:
    """Everything an action could change, read fresh from the database."""
    with Session(ui.runtime.engine) as s:
        review = s.get(Review, d.review_id)
        count = lambda q: s.exec(select(sa.func.count()).select_from(q)).one()  # noqa: E731
        return (review.state, review.version, review.paused_at is None,
                count(select(PlanRevision).where(PlanRevision.conversation_id == d.conversation_id).subquery()),
                count(select(AuditLog).where(AuditLog.entity_id == d.review_id,
                                             AuditLog.action == "commented").subquery()),
                count(select(FindingOverride).where(FindingOverride.review_id == d.review_id).subquery()),
                count(select(User).subquery()))


def _version(ui: UI, d: Draft) -> int:
    with Session(ui.runtime.engine) as s:
        return s.get(Review, d.review_id).version


def _revision(ui: UI, d: Draft) -> int:
    with Session(ui.runtime.engine) as s:
        return max(s.exec(select(PlanRevision.number).where(PlanRevision.conversation_id == d.conversation_id)))


# -- how each action is asked for -------------------------------------------------------------------

READS = {"read_queue", "read_draft", "read_review"}
_PATHS = {"request_changes": "request-changes"}
VARIANT = SAMPLE_PLAN["variants"][0]


def page_request(ui: UI, action: str, d: Draft, n: int) -> tuple[str, str, dict[str, Any]]:
    """(method, path, form) of the web page's request for the action."""
    if action == "read_queue":
        return "GET", "/review", {}
    if action == "read_draft":
        return "GET", f"/chat/{d.conversation_id}", {}
    if action == "read_review":
        return "GET", f"/review/{d.review_id}", {}
    if action == "edit":
        return "POST", f"/chat/{d.conversation_id}/variants/0/save", {
            "base_number": _revision(ui, d), "subject": f"Edited subject {n}", "preheader": VARIANT["preheader"],
            "body": VARIANT["body"], "cta_text": VARIANT["cta_text"], "cta_url": VARIANT["cta_url"]}
    if action == "submit":
        return "POST", f"/chat/{d.conversation_id}/submit", {}
    if action == "comment":
        return "POST", f"/review/{d.review_id}/comment", {"comment": "Is the offer confirmed?"}
    if action == "manage_users":
        return "POST", "/users", {"username": f"new{n}", "role": "marketer", "password": "long-enough-pw"}
    form: dict[str, Any] = {"version": _version(ui, d), "comment": "please check", "reason": "checked"}
    if action == "schedule":
        form.update(at="2031-07-01T09:00", timezone="Europe/Berlin")
    if action == "approve":  # the page's confirmation step names the revision approved
        with Session(ui.runtime.engine) as s:
            form["confirm"] = s.get(Review, d.review_id).revision_hash
    if action in ("override", "acknowledge"):
        return "POST", f"/review/{d.review_id}/findings/{d.finding_id}/{action}", form
    return "POST", f"/review/{d.review_id}/{_PATHS.get(action, action)}", form


def api_request(ui: UI, action: str, d: Draft, n: int) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path, JSON body) of the JSON API's request for the action."""
    if action == "read_queue":
        return "GET", "/api/reviews", None
    if action == "read_draft":
        return "GET", f"/api/conversations/{d.conversation_id}", None
    if action == "read_review":
        return "GET", f"/api/reviews/{d.review_id}", None
    if action == "edit":
        return "POST", f"/api/conversations/{d.conversation_id}/variants", {
            "base_number": _revision(ui, d), "segment": VARIANT["segment"], "key": "A", "message": "email_1",
            "changes": {"subject": f"Edited subject {n}"}}
    if action == "submit":
        return "POST", f"/api/conversations/{d.conversation_id}/submit", {}
    if action == "comment":
        return "POST", f"/api/reviews/{d.review_id}/comments", {"text": "Is the offer confirmed?"}
    if action == "manage_users":
        return "POST", "/api/users", {"username": f"new{n}", "role": "marketer", "password": "long-enough-pw"}
    body: dict[str, Any] = {"version": _version(ui, d), "comment": "please check", "reason": "checked"}
    if action == "schedule":
        body = {"version": body["version"], "at": "2031-07-01T09:00", "timezone": "Europe/Berlin"}
    if action in ("override", "acknowledge"):
        return "POST", f"/api/reviews/{d.review_id}/findings/{d.finding_id}/{action}", body
    return "POST", f"/api/reviews/{d.review_id}/{_PATHS.get(action, action)}", body


# Where a page offers each action, and the control that offers it.
CONTROLS: dict[str, tuple[Callable[[Draft], str], str]] = {
    "read_queue": (lambda d: "/scheduled", "nav a[href='/review']"),
    "manage_users": (lambda d: "/scheduled", "nav a[href='/users']"),
    "edit": (lambda d: f"/chat/{d.conversation_id}", "form.composer, details.edit-copy form"),
    "submit": (lambda d: f"/chat/{d.conversation_id}", "#submit-panel form"),
    "comment": (lambda d: f"/review/{d.review_id}", "#comment-form"),
    "approve": (lambda d: f"/review/{d.review_id}", "#approve-open"),
    "request_changes": (lambda d: f"/review/{d.review_id}", "#changes-form"),
    "reject": (lambda d: f"/review/{d.review_id}", "#reject-form"),
    "override": (lambda d: f"/review/{d.review_id}", "form.override"),
    "acknowledge": (lambda d: f"/review/{d.review_id}", "form.acknowledge"),
    "schedule": (lambda d: f"/review/{d.review_id}", "#schedule-form"),
    "pause": (lambda d: f"/review/{d.review_id}", "#pause-form"),
    "resume": (lambda d: f"/review/{d.review_id}", "#resume-form"),
    "cancel": (lambda d: f"/review/{d.review_id}", "#cancel-form"),
}


def conditions(row: dict[str, str], cell: str) -> list[tuple[str, dict[str, bool], bool]]:
    """(label, setup, allowed?) for each situation the row's cells tell apart. A row with a "submitted"
    cell is walked before and after submission in every column (a "yes" must hold in both, a "no" in
    neither); a row with a "policy" cell with the policy off and on."""
    if "submitted" in row.values():
        return [("before submission", {"submitted": False}, cell == "yes"),
                ("once submitted", {"submitted": True}, cell in ("yes", "submitted"))]
    if "policy" in row.values():
        return [("policy off", {"policy": False}, cell == "yes"),
                ("policy on", {"policy": True}, cell in ("yes", "policy"))]
    return [("", {}, cell == "yes")]


@sqlite_only
@pytest.mark.parametrize("channel", ["page", "api"])
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_every_cell_of_the_documented_matrix_holds_over_http(ui: UI, action: str, channel: str) -> None:
    w = ui.world
    tokens = {column: issue_token(w.session, w.users[name].id or 0, label="matrix")[1]
              for column, name in PEOPLE.items()}
    w.session.commit()
    browsers = {column: ui.browser(name) for column, name in PEOPLE.items()} if channel == "page" else {}
    api = ui.browser()
    wrong: list[str] = []
    n = 0
    for column in COLUMNS:
        for label, setup, allowed in conditions(MATRIX[action], MATRIX[action][column]):
            n += 1
            cell = f"{action} x {column}{' (' + label + ')' if label else ''} over the {channel}"
            _set_policy(w, setup.get("policy", False))
            d = _prepare(w, action, submitted=setup.get("submitted", True))
            before = _observe(ui, d)
            if channel == "page":
                b = browsers[column]
                if action in CONTROLS:
                    where, selector = CONTROLS[action]
                    offered = bool(soup(b.get(where(d))).select(selector))
                    if offered != allowed:
                        wrong.append(f"{cell}: the page {'offers' if offered else 'hides'} it")
                method, path, form = page_request(ui, action, d, n)
                response = b.get(path, follow_redirects=False) if method == "GET" else b.post(path, form)
                ok = response.status_code == (200 if method == "GET" else 303)
            else:
                method, path, body = api_request(ui, action, d, n)
                headers = {"Authorization": f"Bearer {tokens[column]}"}
                response = api.client.request(method, path, json=body, headers=headers)
                ok = 200 <= response.status_code < 300
            after = _observe(ui, d)
            if allowed and not ok:
                wrong.append(f"{cell}: expected allowed, got {response.status_code}: {response.text[:200]}")
            elif not allowed and response.status_code != 403:
                wrong.append(f"{cell}: expected 403, got {response.status_code}")
            if action not in READS and (after != before) != allowed:
                wrong.append(f"{cell}: {'nothing changed' if allowed else 'it changed the draft'} "
                             f"({before} -> {after})")
    assert wrong == [], "\n".join(wrong)


@sqlite_only
def test_an_admin_author_keeps_the_admin_rights_except_deciding_on_their_own_draft(ui: UI) -> None:
    """The documented rule for an author who also holds a role: the role's column applies, except where
    the author column says never."""
    w, s = ui.world, ui.world.session
    review = w.submitted(w.users["ada"])
    gate.approve(s, review, w.users["rob"], review.version)
    s.commit()
    b = ui.browser("ada")
    page = soup(b.get(f"/review/{review.id}"))
    assert page.select("#schedule-form") and not page.select("#approve-form")
    response = b.post(f"/review/{review.id}/schedule", {"version": review.version, "at": "2031-07-01T09:00",
                                                        "timezone": "UTC"})
    assert response.status_code == 303
    with Session(ui.runtime.engine) as fresh:
        assert fresh.get(Review, review.id).state == "scheduled"


@sqlite_only
def test_authors_may_schedule_is_off_unless_the_brand_folder_turns_it_on(runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import yaml

    from copilot.errors import WorkspaceError
    from copilot.services.workspaces import get_workspace_record, register_workspace
    from copilot.workspace import demo_workspace_dir, load_workspace

    with runtime.session() as s:
        assert get_workspace_record(s, runtime.default_workspace.slug).policy == {"authors_may_schedule": False}
    folder = tmp_path / "brand"
    shutil.copytree(demo_workspace_dir(), folder)
    brand = yaml.safe_load((folder / "brand.yaml").read_text())
    brand["review_policy"] = {"authors_may_schedule": True}
    (folder / "brand.yaml").write_text(yaml.safe_dump(brand))
    with runtime.session() as s:
        record = register_workspace(s, load_workspace(folder))
        s.commit()
        assert record.policy == {"authors_may_schedule": True}
    brand["review_policy"] = {"authors_may_schedul": True}  # a typo is an error, not a silent "off"
    (folder / "brand.yaml").write_text(yaml.safe_dump(brand))
    with pytest.raises(WorkspaceError, match="review_policy.authors_may_schedul"):
        load_workspace(folder)
