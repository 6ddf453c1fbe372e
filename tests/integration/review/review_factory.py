"""Builds conversations, plan revisions, findings and reviews straight in the database for
the review gate's tests (the conversation service is tested on its own)."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from sqlmodel import Session, select

from copilot.models import Conversation, FindingRow, PlanRevision, Review, User, WorkspaceRecord
from copilot.plan import Plan
from copilot.services import review as gate

PASSWORD = "secret-pw"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # A real argon2id hash with light parameters (they travel inside the hash, so the product's
    # verify_password checks it as usual): default-strength hashing would dominate the suite's time.
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)

SAMPLE_PLAN: dict[str, Any] = {
    "title": "Win back lapsed runners",
    "brief": "win back runners who have not bought in six months with 15% off",
    "goal": "winback",
    "summary": "Lapsed buyers get a calm reminder and the spring offer.",
    "segments": [
        {
            "name": "Lapsed buyers",
            "priority": 1,
            "rule": {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180},
            "hypothesis": {"attribute": "last order over 180 days ago", "tactic": "offer",
                           "metric": "reactivation_rate", "expected_change": "+2 points"},
        },
        {
            "name": "Everyone else",
            "priority": 2,
            "rule": {"type": "consent", "state": "subscribed"},
            "hypothesis": {"attribute": "subscribed", "tactic": "news",
                           "metric": "click_rate", "expected_change": "+1 point"},
        },
    ],
    "trigger": {"kind": "schedule", "send_at": "2030-03-01T09:00:00Z", "steps": [{"type": "send", "message": "email_1"}]},
    "variants": [
        {"segment": "Lapsed buyers", "key": "A", "subject": "We saved you 15% for spring",
         "preheader": "Your next run starts here", "body": "Hi {{ first_name }}, it has been a while.",
         "cta_text": "Shop running shoes", "cta_url": "https://example.com/shoes",
         "merge_fields": [{"name": "first_name", "fallback": "runner"}]},
        {"segment": "Everyone else", "key": "A", "subject": "Spring is here",
         "body": "New trail shoes are in.", "cta_text": "See what's new", "cta_url": "https://example.com/new"},
    ],
}


def plan_dict(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE_PLAN)
    data.update(changes)
    return Plan.model_validate(data).model_dump(mode="json")


def finding(code: str, severity: str = "block", *, needs_ack: bool = False, field_name: str = "subject",
            span: tuple[int, int] | None = (3, 8), message: str = "a problem", fix: str | None = "fix it",
            variant_segment: str = "Lapsed buyers") -> dict[str, Any]:
    evidence: dict[str, Any] = {"requires_acknowledgement": True} if needs_ack else {}
    return {"guard": code.split("_")[0].lower(), "code": code, "severity": severity, "segment": variant_segment,
            "variant": "A", "field": field_name, "span_start": span[0] if span else None,
            "span_end": span[1] if span else None, "message": message, "evidence": evidence, "fix": fix}


@dataclass
class World:
    session: Session
    workspace_id: int
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str, role: str) -> User:
        if name not in self.users:
            user = User(username=name, display_name=name.title(), role=role, password_hash=_password_hash())
            self.session.add(user)
            self.session.flush()
            self.users[name] = user
        return self.users[name]

    def conversation(self, author: User, title: str = "Spring win-back") -> Conversation:
        conv = Conversation(workspace_id=self.workspace_id, author_id=author.id or 0, title=title)
        self.session.add(conv)
        self.session.flush()
        return conv

    def revise(self, conv: Conversation, plan: dict[str, Any] | None = None,
               findings: list[dict[str, Any]] | None = None, actor: User | None = None) -> Review:
        """Store a new revision with its findings and tell the gate, as the conversation service does."""
        plan = plan or plan_dict()
        last = self.session.exec(select(PlanRevision).where(PlanRevision.conversation_id == conv.id)
                                 .order_by(PlanRevision.number.desc())).first()  # type: ignore[union-attr]
        rev = PlanRevision(conversation_id=conv.id or 0, number=(last.number + 1) if last else 1,
                           parent_number=last.number if last else None, plan=plan,
                           content_hash=Plan.model_validate(plan).content_hash(), planner="test")
        self.session.add(rev)
        self.session.flush()
        for f in findings or []:
            fp = hashlib.sha256(repr(sorted((k, str(v)) for k, v in f.items())).encode()).hexdigest()
            self.session.add(FindingRow(revision_id=rev.id or 0, fingerprint=fp, **f))
        self.session.flush()
        return gate.on_revision_changed(self.session, conversation_id=conv.id or 0, revision=rev, actor=actor)

    def draft(self, author: User, findings: list[dict[str, Any]] | None = None,
              plan: dict[str, Any] | None = None, title: str = "Spring win-back") -> Review:
        return self.revise(self.conversation(author, title), plan, findings)

    def submitted(self, author: User, findings: list[dict[str, Any]] | None = None, **kw: Any) -> Review:
        review = self.draft(author, findings, **kw)
        return gate.submit(self.session, review, author, review.version)


def make_world(session: Session) -> World:
    ws = session.exec(select(WorkspaceRecord)).first()
    if ws is None:
        ws = WorkspaceRecord(slug="northpeak", name="Northpeak Running", source_dir=".", content_hash="x")
        session.add(ws)
        session.flush()
    return World(session=session, workspace_id=ws.id or 0)


FIVE_SEGMENTS = ("Lapsed VIPs", "Lapsed repeat buyers", "Lapsed one-time buyers", "Browsers who never bought",
                 "Everyone else")


def five_segment_plan(*, locales: tuple[str, ...] = ("en",)) -> dict[str, Any]:
    """A plan with five segments, a dated two-email schedule and one variant per segment, email and
    language (the plan page's size to read and to measure)."""
    segments, variants = [], []
    for i, name in enumerate(FIVE_SEGMENTS):
        segments.append({"name": name, "priority": i + 1,
                         "rule": {"type": "last_performed", "event": "order_placed", "op": "older_than_days",
                                  "days": 90 * (i + 1)},
                         "hypothesis": {"attribute": f"last order over {90 * (i + 1)} days ago", "tactic": "offer",
                                        "metric": "reactivation_rate", "expected_change": "+2 points"}})
        for message in ("email_1", "email_2"):
            for locale in locales:
                variants.append({
                    "segment": name, "message": message, "key": "A", "locale": locale,
                    "subject": f"{'A reminder: ' if message == 'email_2' else ''}we saved you 15% for spring",
                    "preheader": "Your next run starts here",
                    "body": "Hi {{ first_name }},\n\nit has been a while. **15% off** one order until Sunday:\n\n"
                            "- trail shoes\n- road shoes\n\nSee you out there.",
                    "cta_text": "Shop running shoes", "cta_url": "https://example.com/shoes",
                    "merge_fields": [{"name": "first_name", "fallback": "runner"}]})
    return plan_dict(title="Five-segment spring win-back", segments=segments, variants=variants, trigger={
        "kind": "schedule", "send_at": "2030-03-01T09:00:00Z",
        "steps": [{"type": "send", "message": "email_1"}, {"type": "delay", "hours": 72},
                  {"type": "send", "message": "email_2"}]})


def five_segment_sizing(sample_ids: list[int], *, empty: str | None = "Browsers who never bought") -> dict[str, Any]:
    """Sizing as the conversation service stores it: sizes (one segment at 0 by default), pairwise
    overlaps before priority and a few sample contacts per segment."""
    sizes = {name: (0 if name == empty else 1200 // (i + 1)) for i, name in enumerate(FIVE_SEGMENTS)}
    overlaps = {a: {b: (sizes[a] if a == b else min(sizes[a], sizes[b]) // 4) for b in FIVE_SEGMENTS}
                for a in FIVE_SEGMENTS}
    return {"total": sum(sizes.values()), "overlaps": overlaps, "suppression": {"unsubscribed": 12, "bounced": 3},
            "segments": [{"name": n, "size": sizes[n], "raw_size": sizes[n] + 10, "english": f"contacts in {n}",
                          "sample_ids": [] if sizes[n] == 0 else sample_ids[:3]} for n in FIVE_SEGMENTS]}
