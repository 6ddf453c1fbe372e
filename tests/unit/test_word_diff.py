"""The reviewer's diff is word-level: a one-word edit is one word struck and one added."""

from __future__ import annotations

from copilot.services.plan_diff import word_diff


def test_word_diff_marks_only_the_words_that_changed() -> None:
    assert word_diff("We saved you 15% for spring", "We saved 15% for you") == [
        ("same", "We saved"), ("del", " you"), ("same", " 15% for "), ("del", "spring"), ("ins", "you")]
    assert word_diff("", "New") == [("ins", "New")] and word_diff("Same", "Same") == [("same", "Same")]
