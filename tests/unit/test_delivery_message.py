"""Messages as mail clients expect them: parts, inlined CSS, headers, escaping, and the fast
renderer agreeing with the one previews use."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.delivery.message import Composer, unsubscribe_mailto
from copilot.plan import Variant
from copilot.render import render_field, render_variant
from copilot.workspace import load_workspace

WS = load_workspace()
UNSUB = "https://app.example/unsubscribe/tok-123"


def variant(**kw: object) -> Variant:
    data = {"segment": "s", "subject": "{{ first_name }}, your next run", "preheader": "New for {{ city }}",
            "body": "Hi {{ first_name }},\n\nThe **new** trail shoe is in. [See it](https://northpeak.example/r/{{ city }})",
            "cta_text": "Shop now", "cta_url": "https://northpeak.example/shop?c={{ city }}",
            "merge_fields": [{"name": "first_name", "fallback": "runner"}, {"name": "city", "fallback": "town"}]}
    data.update(kw)
    return Variant.model_validate(data)


def raw(v: Variant, contact: dict[str, object]) -> bytes:
    return Composer(WS, v).compose(contact, to="alex@example.com", message_id="<1.2.ab@northpeak.example>",
                                   date="Mon, 01 Mar 2027 09:00:00 +0000", unsubscribe_url=UNSUB,
                                   unsubscribe_mailto=unsubscribe_mailto(WS, "tok-123")).data


def compose(v: Variant, contact: dict[str, object]) -> EmailMessage:
    msg = message_from_bytes(raw(v, contact), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_message_has_a_text_part_an_html_part_with_inlined_css_and_the_postal_footer() -> None:
    msg = compose(variant(), {"first_name": "Zoë", "city": "Portland"})
    assert msg.get_content_type() == "multipart/alternative" and not msg.defects
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert text.startswith("Hi Zoë,") and "Shop now: https://northpeak.example/shop?c=Portland" in text
    assert WS.brand.sender.postal_address in text and f"Unsubscribe: {UNSUB}" in text
    page = BeautifulSoup(html, "html.parser")
    assert page.find("style") is None  # inlined, not left as a block many clients drop
    cta = page.select_one("a.cta")
    assert cta["href"] == "https://northpeak.example/shop?c=Portland" and "background" in cta["style"]
    assert page.find("footer").get_text(" ", strip=True).startswith(WS.brand.sender.postal_address)
    assert page.select_one("footer a")["href"] == UNSUB


def test_headers_carry_message_id_and_one_click_list_unsubscribe() -> None:
    msg = compose(variant(), {"first_name": "Alex"})
    assert msg["Message-ID"] == "<1.2.ab@northpeak.example>"
    assert msg["Subject"] == "Alex, your next run"
    assert msg["From"] == f"{WS.brand.sender.from_name} <{WS.brand.sender.from_email}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = [part.strip().strip("<>") for part in str(msg["List-Unsubscribe"]).split(",")]
    assert links[0] == UNSUB and links[1].startswith("mailto:unsubscribe@northpeak.example?subject=unsubscribe")


def test_non_ascii_and_long_subjects_are_encoded_and_folded_not_broken() -> None:
    subject = "Über " + "sehr lange Betreffzeile " * 6 + "{{ first_name }}"
    msg = compose(variant(subject=subject), {"first_name": "Jörg"})
    assert msg["Subject"] == render_field(variant(subject=subject), "subject", {"first_name": "Jörg"})
    data = raw(variant(subject=subject), {"first_name": "Jörg"})
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))


def test_contact_values_stay_text_in_html_and_cannot_add_headers() -> None:
    msg = compose(variant(subject="Hi {{ first_name }}"), {"first_name": "Al\r\nBcc: x@evil.example", "city": "A&B"})
    assert msg["Bcc"] is None
    html = msg.get_body(("html",)).get_content()
    assert "A&amp;B" in html and "<script" not in html


@settings(max_examples=150, deadline=None)
@given(first=st.one_of(st.none(), st.text(max_size=30)), city=st.one_of(st.none(), st.text(max_size=30)),
       use_default=st.booleans())
def test_the_fast_renderer_gives_what_previews_render(first: str | None, city: str | None, use_default: bool) -> None:
    # The composer renders from cached layouts; previews render each message whole. Same copy, same text.
    v = variant(preheader='Near {{ city | default("you") }}' if use_default else "Near {{ city }}")
    contact = {k: val for k, val in {"first_name": first, "city": city}.items() if val is not None}
    expected = render_variant(v, contact, workspace=WS, unsubscribe_url=UNSUB)
    subject, html, text = Composer(WS, v).render(contact, unsubscribe_url=UNSUB)
    assert subject == expected.subject
    assert text == expected.text
    ours, theirs = BeautifulSoup(html, "html.parser"), BeautifulSoup(expected.html, "html.parser")
    assert ours.get_text().split() == theirs.get_text().split()
    assert [a["href"] for a in ours.find_all("a")] == [a["href"] for a in theirs.find_all("a")]


@pytest.mark.parametrize("source", ["Hi {{ first_name }}", "Hi {{ first_name | fallback('you') }}!",
                                    "{{ first_name | default('x') }}{{ city }}", "plain"])
def test_plain_merge_templates_match_jinja_exactly(source: str) -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from copilot.render import fallback

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, finalize=lambda v: "" if v is None else v)
    env.filters["fallback"] = fallback
    for ctx in ({"first_name": "Ann", "city": "Oslo"}, {"first_name": "  ", "city": ""}, {"first_name": 0, "city": None}):
        assert render_field(variant(subject=source), "subject", ctx) == env.from_string(source).render(ctx)
