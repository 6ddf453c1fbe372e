"""Rendering a variant: sandboxed merge fields, fallbacks for blank and hostile values,
contact values kept as text in HTML, a text part, and a validated CTA URL."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from copilot import render
from copilot.errors import RenderError
from copilot.plan import MergeField, Variant
from copilot.render import build_message, fallback, render_variant


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def variant(**overrides) -> Variant:  # type: ignore[no-untyped-def]
    data = dict(
        segment="lapsed", subject="{{ first_name }}, your next run", preheader="New foam, same fit",
        body="Hi {{ first_name }},\n\nYour [Cloudstride 3](https://northpeak.example/p/cloudstride-3) misses you.",
        cta_text="See what's new", cta_url="https://northpeak.example/new?utm_campaign=winback",
        merge_fields=[MergeField(name="first_name", fallback="there")],
    )
    data.update(overrides)
    return Variant(**data)


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", "None", "null", "NaN", math.nan, "...", "x" * 101])
def test_declared_fallback_replaces_blank_and_junk_values(demo_workspace, value) -> None:  # type: ignore[no-untyped-def]
    contact = {} if value is None else {"first_name": value}
    email = render_variant(variant(), contact, workspace=demo_workspace)
    assert email.subject == "there, your next run"
    assert email.text.startswith("Hi there,")


def test_fallback_filter_keeps_zero_and_false_unlike_default() -> None:
    assert fallback(0, "x") == 0
    assert fallback(False, "x") is False
    assert fallback("  ", "x") == "x"
    # Jinja's default() leaves an empty or blank string alone; fallback does not.
    v = variant(subject="{{ nickname | default('friend') }}|{{ nickname | fallback('friend') }}", merge_fields=[])
    ctx = {"nickname": "  "}
    assert render.render_field(v, "subject", ctx) == "  |friend"


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}",
    "*|FNAME|*", "%%Name%%", "${name}",
])
def test_hostile_contact_values_fall_back_and_are_never_evaluated(demo_workspace, hostile) -> None:  # type: ignore[no-untyped-def]
    email = render_variant(variant(), {"first_name": hostile}, workspace=demo_workspace)
    assert email.subject == "there, your next run"
    assert "49" not in email.html
    assert not any(tag in {"script", "img"} for tag, _ in parse(email.html).tags)


def test_markdown_and_html_in_a_value_stay_text(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    name = "O'Brien & *Sons* [win](https://evil.example) 5 > 4"
    email = render_variant(variant(), {"first_name": name}, workspace=demo_workspace)
    doc = parse(email.body_html)
    hrefs = [attrs.get("href") for tag, attrs in doc.tags if tag == "a"]
    assert hrefs == ["https://northpeak.example/p/cloudstride-3"]
    assert not any(tag in {"em", "strong"} for tag, _ in doc.tags)
    assert f"Hi {name}," in "".join(doc.text)
    assert f"Hi {name}," in email.text


def test_raw_html_written_in_copy_is_escaped(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    email = render_variant(variant(body="Hello <b>runner</b> <script>x()</script>"), {}, workspace=demo_workspace)
    doc = parse(email.body_html)
    assert [tag for tag, _ in doc.tags] == ["p"]
    assert "<b>runner</b>" in "".join(doc.text)


def test_values_inside_link_urls_are_percent_encoded(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    v = variant(body="[Your page](https://northpeak.example/u?n={{ first_name }})",
                cta_url="https://northpeak.example/c?city={{ city | fallback('none') }}")
    email = render_variant(v, {"first_name": "Ana María", "city": "São Paulo & co"}, workspace=demo_workspace)
    href = next(attrs["href"] for tag, attrs in parse(email.body_html).tags if tag == "a")
    assert href == "https://northpeak.example/u?n=Ana%20Mar%C3%ADa"
    assert email.cta_url == "https://northpeak.example/c?city=S%C3%A3o%20Paulo%20%26%20co"


def test_text_part_has_links_lists_cta_and_footer(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    v = variant(body="Hi {{ first_name }},\n\n- [Tempo Fly](https://northpeak.example/p/tempo-fly)\n- Socks\n\n**Bold** end.")
    email = render_variant(v, {"first_name": "Alex"}, workspace=demo_workspace)
    assert email.text.splitlines()[:6] == [
        "Hi Alex,", "", "- Tempo Fly (https://northpeak.example/p/tempo-fly)", "- Socks", "", "Bold end.",
    ]
    assert "See what's new: https://northpeak.example/new?utm_campaign=winback" in email.text
    assert demo_workspace.brand.sender.postal_address in email.text


@pytest.mark.parametrize("source, kind", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not_allowed"),
    ("{% for i in range(10**9) %}x{% endfor %}", "not_allowed"),
    ("{{ first_name.upper() }}", "not_allowed"),
    ("{{ 'a' * 1000000000 }}", "expression"),
    ("{{ first_name | attr('__class__') }}", "not_allowed"),
    ("{% include 'x' %}", "not_allowed"),
    ("{{ lipsum }}", "undefined"),
    ("{{ first_name ", "syntax"),
])
def test_template_injection_in_copy_is_refused_before_running(demo_workspace, source, kind) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RenderError) as info:
        render_variant(variant(subject=source), {"first_name": "Alex"}, workspace=demo_workspace)
    assert info.value.context["kind"] == kind
    assert info.value.context["field"] == "subject"


def test_merge_field_without_value_or_fallback_names_the_field(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RenderError) as info:
        render_variant(variant(preheader="For {{ city }}"), {}, workspace=demo_workspace)
    assert info.value.context == {"field": "preheader", "kind": "undefined", "line": None, "variable": "city"}


@pytest.mark.parametrize("url", ["javascript:alert(1)", "northpeak.example/new", "https://", "https://bad host/x"])
def test_cta_url_must_stay_a_valid_http_url_after_rendering(demo_workspace, url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RenderError) as info:
        render_variant(variant(cta_url=url), {}, workspace=demo_workspace)
    assert info.value.context["kind"] == "bad_url"


def test_a_value_cannot_break_the_cta_url(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    v = variant(cta_url="https://northpeak.example/r/{{ goal_race | fallback('any race') }}?x=1")
    email = render_variant(v, {"goal_race": "Boston / 2027 #1?"}, workspace=demo_workspace)
    assert email.cta_url == "https://northpeak.example/r/Boston%20%2F%202027%20%231%3F?x=1"


def test_subject_cannot_inject_headers(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    email = render_variant(variant(subject="Hi\r\nBcc: everyone@example.com"), {}, workspace=demo_workspace)
    msg = build_message(email, demo_workspace, to="alex@example.com", message_id="<a.b@northpeak.example>",
                        date="Mon, 01 Mar 2027 09:00:00 +0000")
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Hi  Bcc: everyone@example.com"


def test_message_has_text_and_html_parts_and_unsubscribe(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    email = render_variant(variant(), {"first_name": "Alex"}, workspace=demo_workspace)
    msg = build_message(email, demo_workspace, to="alex@example.com", message_id="<a.b@northpeak.example>",
                        date="Mon, 01 Mar 2027 09:00:00 +0000")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == f"<{demo_workspace.brand.preference_center_url}>"


def test_templates_compile_once_per_source(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    v = variant(subject="{{ first_name }} - a subject only this test uses")
    render_variant(v, {"first_name": "A"}, workspace=demo_workspace)
    compiled, converted = render._compile.cache_info().misses, render.markdown_to_html_text.cache_info().misses
    emails = [render_variant(v, {"first_name": f"Runner {i}"}, workspace=demo_workspace) for i in range(50)]
    assert render._compile.cache_info().misses == compiled
    assert render.markdown_to_html_text.cache_info().misses == converted  # one Markdown parse for all
    assert emails[7].text.startswith("Hi Runner 7,")


def test_non_latin_rtl_and_emoji_names_render_unchanged(demo_workspace) -> None:  # type: ignore[no-untyped-def]
    for name in ["Zoë Łukasz", "李小龙", "محمد", "שרה", "🏃 Sam"]:
        email = render_variant(variant(), {"first_name": name}, workspace=demo_workspace)
        assert email.subject == f"{name}, your next run"
