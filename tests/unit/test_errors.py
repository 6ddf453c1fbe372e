"""The error tree's base class: context attributes never break the error itself."""

from __future__ import annotations

from copilot.errors import NotFoundError


def test_context_may_carry_a_key_named_message_without_breaking_the_error() -> None:
    error = NotFoundError("no email 'email_9'", message="email_9", segment="Lapsed")
    assert error.message == "no email 'email_9'" and error.context["message"] == "email_9"
    body = error.to_dict()
    assert body["message"] == "no email 'email_9'" and body["error"] == "NotFoundError" and body["segment"] == "Lapsed"
