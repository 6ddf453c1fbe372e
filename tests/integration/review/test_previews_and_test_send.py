"""Previews are the message delivery sends (its Composer: inbox line, HTML part, text part), framed at
desktop and phone width only by our own pages; "Send me a test" hands that message to the configured
transport (a real SMTP server here), addressed to the viewer's own address and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from review_factory import World, plan_dict
from support.smtp import Mailbox, smtp_server
from ui_support import UI, Browser, soup

from copilot.app import create_app
from copilot.delivery.message import Composer, from_header
from copilot.delivery.test_send import TEST_HEADER
from copilot.models import Contact, PlanRevision, Review, User
from copilot.plan import Plan
from copilot.runtime import Runtime
from copilot.services.checking import contacts_by_id
from review_ui import ReviewUIPlugin

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

OFFER = {"first_name": "Ines", "email": "ines@example.org", "city": "Lyon", "locale": "en", "timezone": "Europe/Paris"}


def _submitted_with_sample(world: World, **plan_changes: Any) -> tuple[Review, Contact]:
    s = world.session
    contact = Contact(workspace_id=world.workspace_id, **OFFER)
    s.add(contact)
    s.flush()
    plan = plan_dict(**plan_changes)
    plan["variants"][0]["body"] = "Hi {{ first_name }}, **15% off** until Sunday.\n\n- trail shoes\n- road shoes"
    review = world.submitted(world.users["mara"], plan=plan, title="Previewed spring send")
    s.get(PlanRevision, review.revision_id).sizing = {"segments": [  # type: ignore[union-attr]
        {"name": "Lapsed buyers", "size": 1, "raw_size": 1, "sample_ids": [contact.id]},
        {"name": "Everyone else", "size": 0, "raw_size": 0, "sample_ids": []}]}
    s.commit()
    return review, contact


def _expected(runtime: Runtime, review: Review, contact: Contact) -> Any:
    with runtime.session() as s:
        revision = s.get(PlanRevision, review.revision_id)
        variant = Plan.model_validate(revision.plan).variants[0]  # type: ignore[union-attr]
        [values] = contacts_by_id(s, [contact.id or 0])
    return Composer(runtime.default_workspace, variant).parts(
        values, unsubscribe_url=runtime.default_workspace.brand.preference_center_url)


def test_a_preview_is_the_message_delivery_composes_at_two_widths(ui: UI) -> None:
    review, contact = _submitted_with_sample(ui.world)
    expected = _expected(ui.runtime, review, contact)
    rita = ui.browser("rita")
    page = soup(rita.get(f"/review/{review.id}"))
    first = page.select_one("#variant-0 details.preview")
    assert first.has_attr("open") and "Sample contact" in first.summary.get_text()
    assert first.select_one(".inbox-from").get_text() == from_header(ui.runtime.default_workspace)
    assert first.select_one(".inbox-subject").get_text() == expected.subject == "We saved you 15% for spring"
    assert first.select_one(".inbox-pre").get_text() == expected.preheader
    assert first.select_one(".text-part pre").get_text() == expected.text
    assert "Hi Ines, 15% off until Sunday." in expected.text  # the contact's own values, Markdown as text
    desktop, phone = first.select(".frame-desktop iframe"), first.select(".frame-phone iframe")
    assert len(desktop) == len(phone) == 1 and desktop[0]["src"] == phone[0]["src"]
    assert all(f.has_attr("sandbox") and not f["sandbox"] for f in (*desktop, *phone))  # no scripts, no origin
    framed = rita.get(desktop[0]["src"])
    assert framed.status_code == 200 and framed.headers["content-type"].startswith("text/html")
    assert framed.text == expected.html  # the CSS-inlined document delivery sends, byte for byte
    assert "<strong>15% off</strong>" in framed.text and 'style="' in framed.text
    policy_header = framed.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy_header and "default-src 'none'" in policy_header
    assert "script-src" not in policy_header  # default-src 'none' leaves scripts nothing
    # The contact with missing data gets the fallbacks, also through delivery's renderer.
    missing = page.select("#variant-0 details.preview")[-1]
    assert missing.summary.get_text() == "Contact with missing data"
    assert "Hi runner, 15% off" in missing.select_one(".text-part pre").get_text()


def test_previews_are_for_readers_of_the_draft_only(ui: UI) -> None:
    review, _ = _submitted_with_sample(ui.world)
    page = soup(ui.browser("rita").get(f"/review/{review.id}"))
    src = page.select_one("#variant-0 .frame-desktop iframe")["src"]
    assert ui.browser("rita").get(src).status_code == 200
    mo = ui.browser("mo")  # another marketer: not their draft
    assert mo.get(src).status_code in (403, 404)
    assert mo.post(f"/previews/{review.revision_id}/0/test-send", htmx=True).status_code in (403, 404)
    assert ui.browser().get(src, follow_redirects=False).status_code in (302, 303, 401)
    assert ui.browser("rita").get(f"/previews/{review.revision_id}/9/0").status_code == 404


def _smtp_app(runtime: Runtime, host: str, port: int):  # type: ignore[no-untyped-def]
    smtp = Runtime(settings=runtime.settings.replace(transport="smtp", smtp_host=host, smtp_port=port,
                                                     smtp_security="none"),
                   engine=runtime.engine, default_workspace=runtime.default_workspace)
    return create_app(runtime=smtp, plugins=[ReviewUIPlugin()])


def _give_address(world: World, name: str, address: str | None) -> None:
    user = world.session.get(User, world.users[name].id)
    user.email = address  # type: ignore[union-attr]
    world.session.commit()


def test_send_me_a_test_mails_the_preview_to_the_viewers_own_address_over_smtp(runtime: Runtime, world: World) -> None:
    review, contact = _submitted_with_sample(world)
    expected = _expected(runtime, review, contact)
    _give_address(world, "rita", "rita.reviewer@example.net")
    with smtp_server() as (host, port, box):
        rita = Browser(_smtp_app(runtime, host, port))
        assert rita.login("rita").status_code == 303
        page = soup(rita.get(f"/review/{review.id}"))
        form = page.select_one("#variant-0 form.test-send")
        assert form.button.get_text() == "Send me a test" and not form.select("input[name=to], input[type=email]")
        answer = rita.post(form["action"], {"to": "someone.else@example.com"}, htmx=True)  # a "to" is ignored
        assert answer.status_code == 200, answer.text
        assert soup(answer).select_one(".sent-ok").get_text().startswith("Test sent to rita.reviewer@example.net")
        assert [to for to, _ in box.messages] == ["rita.reviewer@example.net"]
        [message] = box.parsed()
    assert message["To"] == "rita.reviewer@example.net"
    assert message["From"] == from_header(runtime.default_workspace)
    assert message["Subject"] == expected.subject
    assert message[TEST_HEADER].startswith("Lapsed buyers / email_1 / A")
    assert message["List-Unsubscribe"]  # every header delivery sends
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.replace("\r\n", "\n") == expected.text.replace("\r\n", "\n")
    assert html.replace("\r\n", "\n") == expected.html.replace("\r\n", "\n")


def test_no_test_without_an_address_and_a_refusal_is_reported(runtime: Runtime, world: World) -> None:
    review, _ = _submitted_with_sample(world)
    box = Mailbox(refuse={"rita.reviewer@example.net": (550, 1)})
    with smtp_server(box) as (host, port, box):
        app = _smtp_app(runtime, host, port)
        rita, ada = Browser(app), Browser(app)
        assert rita.login("rita").status_code == 303 and ada.login("ada").status_code == 303
        path = f"/previews/{review.revision_id}/0/test-send"
        rita.get(f"/review/{review.id}")
        none = rita.post(path, htmx=True)
        assert none.status_code == 409 and "no e-mail address" in none.text
        ada.get("/users")  # the admin gives rita her address; her next request knows it
        assert ada.post(f"/users/{world.users['rita'].id}", {"email": "rita.reviewer@example.net"}).status_code == 303
        refused = rita.post(path, htmx=True)
        assert refused.status_code == 502 and "could not be sent" in refused.text and "550" in refused.text
        assert box.messages == []
        again = rita.post(path, htmx=True)  # the relay takes it the second time
        assert again.status_code == 200 and len(box.messages) == 1


def test_an_admin_sets_a_persons_own_address(ui: UI) -> None:
    ada = ui.browser("ada")
    rita_id = ui.world.users["rita"].id
    ada.get("/users")
    assert ada.post(f"/users/{rita_id}", {"email": "not an address"}).status_code in (400, 409, 422)
    assert ada.post(f"/users/{rita_id}", {"email": " Rita@Example.NET "}).status_code == 303
    with ui.runtime.session() as s:
        user = s.get(User, rita_id)
        assert user.email == "Rita@example.net" and user.role == "reviewer"  # type: ignore[union-attr]
    page = soup(ada.get("/users"))
    assert page.select_one(f"#email-{rita_id}")["value"] == "Rita@example.net"
