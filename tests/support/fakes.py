"""Test data builders: a valid demo plan (as data and as a Plan) and users inserted directly.

There is no fake planner here: tests plan with the product's own planners (offline, or the
model planner against a stubbed HTTP API, see openai_stub).
"""

from __future__ import annotations

from typing import Any

from copilot.plan import Plan


def demo_plan_data(**overrides: Any) -> dict[str, Any]:
    """A valid two-segment winback plan for the demo workspace, as JSON data."""
    data: dict[str, Any] = {
        "title": "Win back lapsed runners",
        "brief": "win back runners who haven't bought in six months with 15% off",
        "goal": "winback",
        "summary": "Lapsed customers get the come-back offer; VIPs hear about early access first.",
        "segments": [
            {
                "name": "Lapsed VIPs",
                "priority": 1,
                "description": "VIP members whose last order was over 180 days ago",
                "rule": {"type": "all", "rules": [
                    {"type": "field", "field": "loyalty_tier", "op": "eq", "value": "vip"},
                    {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180},
                ]},
                "hypothesis": {"attribute": "loyalty_tier", "tactic": "early access before the sale",
                               "metric": "reactivation_rate", "expected_change": "+2 points vs the control"},
                "field_rationales": [{"field": "loyalty_tier",
                                      "rationale": "VIP members were promised early access to sales"}],
            },
            {
                "name": "Lapsed customers",
                "priority": 2,
                "description": "Everyone else whose last order was over 180 days ago",
                "rule": {"type": "last_performed", "event": "order_placed", "op": "older_than_days", "days": 180},
                "hypothesis": {"attribute": "last order date", "tactic": "15% come-back offer",
                               "metric": "conversion_rate", "expected_change": "+1 point vs the control"},
            },
        ],
        "trigger": {"kind": "schedule", "send_at": "2027-02-10T15:00:00Z", "recipient_local_time": True,
                    "steps": [{"type": "send", "message": "email_1"}]},
        "variants": [
            {"segment": "Lapsed VIPs", "subject": "Your spring sale starts early, {{ first_name }}",
             "preheader": "VIP members shop 48 hours before everyone else",
             "body": "Hi {{ first_name }},\n\nAs a VIP member you can shop the spring sale 48 hours early.",
             "cta_text": "Get early access", "cta_url": "https://northpeak.example/sale",
             "merge_fields": [{"name": "first_name", "fallback": "there"}]},
            {"segment": "Lapsed customers", "subject": "15% off your next run",
             "preheader": "Come back before March 19",
             "body": "Hi {{ first_name }},\n\nTake 15% off one order with code COMEBACK15 until March 19, 2027.",
             "cta_text": "Come back for 15% off", "cta_url": "https://northpeak.example/",
             "merge_fields": [{"name": "first_name", "fallback": "there"}]},
        ],
        "offers": ["winback15", "vip_early_access"],
    }
    data.update(overrides)
    return data


def demo_plan(**overrides: Any) -> Plan:
    return Plan.model_validate(demo_plan_data(**overrides))


def add_users(session: Any, *roles: tuple[str, str]) -> list[Any]:
    """Users (username, role) inserted directly: argon2 hashing is slow and these tests never log in."""
    from copilot.models import User

    users = [User(username=name, role=role, password_hash="-") for name, role in roles]
    session.add_all(users)
    session.flush()
    return users
