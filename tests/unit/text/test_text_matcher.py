"""One phrase matcher, two ways of keeping hits: phrase lists (guards) and a vocabulary read side by
side (the brief reader). Both quote the text as written."""

from __future__ import annotations

import pytest

from copilot.text import Phrase, PhraseMatcher, graded_cutoff, normalize, tokenize

LISTS = [("act now", "spam"), ("click here", "spam"), ("last chance", "urgency"), ("chance", "plain"),
         ("hurry", "urgency"), ("act now", "banned")]


def _vocabulary(phrases: list[Phrase]) -> PhraseMatcher:
    filler = {"the", "their", "a", "el", "la", "der", "die"}
    return PhraseMatcher(phrases, cutoff=graded_cutoff, ignore=filler, join_hyphens=True, slack=1, words="similar",
                         keep="best_per_label")


def test_tokens_keep_their_span_and_fold_case_accents_and_apostrophes() -> None:
    text = "Größe: DON’T miss the días"
    toks = tokenize(text)
    assert [t.norm for t in toks] == ["grosse", "dont", "miss", "the", "dias"]
    assert all(text[t.start:t.end] == t.text for t in toks)
    assert normalize("win-back") == "win back" and normalize("win-back", join_hyphens=True) == "winback"


def test_a_listed_phrase_is_found_whatever_its_case_and_punctuation() -> None:
    text = "Hey. ACT NOW!! It's your last chance"
    hits = PhraseMatcher(LISTS).find(text)
    assert [(h.phrase.text, h.label, h.words, h.exact) for h in hits] == [
        ("act now", "spam", "ACT NOW", True), ("last chance", "urgency", "last chance", True)]
    assert text[hits[0].start:hits[0].end] == "ACT NOW"


def test_a_typo_with_the_same_initials_hits_and_another_word_does_not() -> None:
    matcher = PhraseMatcher(LISTS)
    assert [(h.phrase.text, h.exact) for h in matcher.find("clik here to start")] == [("click here", False)]
    assert matcher.find("click there to start") == []
    assert matcher.find("hurr up") == []  # a short phrase matches exactly or not at all


def test_the_longest_phrase_wins_and_the_first_listed_label_keeps_a_shared_phrase() -> None:
    hits = PhraseMatcher(LISTS).find("act now: last chance")
    assert [(h.phrase.text, h.label) for h in hits] == [("act now", "spam"), ("last chance", "urgency")]


def test_the_same_text_is_read_once_and_answers_alike() -> None:
    matcher = PhraseMatcher(LISTS)
    first = matcher.find("ACT NOW")
    assert matcher.find("ACT NOW") == first and matcher._cache


def test_a_vocabulary_skips_articles_and_joins_hyphenated_words() -> None:
    matcher = _vocabulary([Phrase("abandoned cart", "goal", "cart"), Phrase("win-back", "goal", "winback")])
    assert [(h.target, h.text) for h in matcher.find("people who abandoned their cart")] == [
        ("cart", "abandoned their cart")]
    assert [h.target for h in matcher.find("a win-back mail")] == ["winback"]


def test_a_vocabulary_prefers_the_longer_phrase_unless_it_matched_much_worse() -> None:
    matcher = _vocabulary([Phrase("abandoned cart", "goal", "cart"), Phrase("cart", "goal", "any_cart")])
    assert [h.target for h in matcher.find("abandonned cart remindr")] == ["cart"]


def test_a_vocabulary_keeps_hits_of_different_kinds_side_by_side() -> None:
    matcher = _vocabulary([Phrase("cart abandoned", "event", "cart_abandoned"),
                           Phrase("cart abandoners", "goal", "cart_abandonment")])
    assert {h.label for h in matcher.find("cart abandoners")} == {"event", "goal"}


def test_a_vocabulary_word_must_agree_word_by_word() -> None:
    matcher = _vocabulary([Phrase("track runners", "audience", "track")])
    assert matcher.find("win back runners") == []
    assert [h.target for h in matcher.find("track runner")] == ["track"]


def test_a_long_phrase_takes_a_word_more_or_less() -> None:
    matcher = _vocabulary([Phrase("people who ditched carts", "goal", "cart")])
    assert [h.target for h in matcher.find("people who ditched carts yesterday")] == ["cart"]
    assert [h.text for h in matcher.find("people who just ditched carts")] == ["people who just ditched carts"]
    assert matcher.find("people that ditched carts") == []  # same length: every word must agree


@pytest.mark.parametrize(("text", "expected"), [
    ("First Name", "first_name"),
    ("lastOrderDate", "last_order_date"),
    ("Order Completed", "order_completed"),
    ("  E-mail Address ", "e_mail_address"),
    ("Größe (cm)", "grosse_cm"),
    ("2FA enabled", "f_2fa_enabled"),
    ("occurred_at", "occurred_at"),
    ("#", ""),
])
def test_identifier_names_a_header_or_event_as_the_catalog_does(text: str, expected: str) -> None:
    from copilot.text import identifier

    assert identifier(text) == expected
