"""The unsubscribe link in every message: RFC 8058 one-click POST with no login (and through the web
UI's CSRF protection), a GET that only shows the choice, signed and expiring tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from litestar.testing import TestClient
from sqlmodel import select

from copilot.app import create_app
from copilot.delivery.jobs import run_until_idle
from copilot.delivery.tokens import _SALT, UnsubscribeToken, sign
from copilot.models import AuditLog, Contact
from copilot.runtime import Runtime
from copilot.security import load_secret_key
from copilot.settings import Settings

from .support import add_contacts, outbox_messages, plan_data, schedule_campaign

AT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sent(settings: Settings) -> Iterator[tuple[Runtime, TestClient, dict[str, str]]]:
    """A campaign sent to three people; their unsubscribe paths by email; the whole app (web UI included)."""
    runtime = Runtime.start(settings.replace(control_percent=0.0, public_url="https://mail.example"))
    add_contacts(runtime, [{"first_name": n} for n in ("Ann", "Bo", "Cy")])
    schedule_campaign(runtime, plan_data(), at=AT)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    links = {}
    for msg in outbox_messages(runtime.settings.outbox_path).values():
        https = str(msg["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        assert https.startswith("https://mail.example/unsubscribe/")
        links[msg["To"]] = urlsplit(https).path
    with TestClient(create_app(runtime=runtime)) as client:
        yield runtime, client, links
    runtime.close()


def consent(runtime: Runtime, email: str) -> str:
    with runtime.session() as s:
        return s.exec(select(Contact.consent).where(Contact.email == email)).one()


def test_one_click_post_unsubscribes_at_once_without_login_or_csrf(sent) -> None:  # type: ignore[no-untyped-def]
    runtime, client, links = sent
    response = client.post(links["runner0@example.com"], content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert consent(runtime, "runner0@example.com") == "unsubscribed"
    assert consent(runtime, "runner1@example.com") == "subscribed"
    with runtime.session() as s:
        log = s.exec(select(AuditLog).where(AuditLog.action == "unsubscribed")).one()
    assert (log.from_state, log.to_state, log.data["method"]) == ("subscribed", "unsubscribed", "one-click")
    # Mail providers may send multipart/form-data (RFC 8058 allows both).
    response = client.post(links["runner1@example.com"], files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200 and consent(runtime, "runner1@example.com") == "unsubscribed"


def test_get_shows_the_choice_and_changes_nothing_then_the_form_unsubscribes_or_keeps(sent) -> None:  # type: ignore[no-untyped-def]
    runtime, client, links = sent
    path = links["runner2@example.com"]
    page = BeautifulSoup(client.get(path).text, "html.parser")
    assert consent(runtime, "runner2@example.com") == "subscribed"  # link scanners fetch links
    assert "r***@example.com" in page.get_text() and "runner2@example.com" not in page.get_text()
    buttons = {b["value"]: b.get_text(strip=True) for b in page.select("form button")}
    assert set(buttons) == {"unsubscribe", "stay"}
    done = client.post(path, data={"choice": "unsubscribe"})
    assert done.status_code == 200 and consent(runtime, "runner2@example.com") == "unsubscribed"
    client.post(path, data={"choice": "stay"})
    assert consent(runtime, "runner2@example.com") == "subscribed"


def test_a_forged_or_expired_link_changes_nothing_and_says_so(sent) -> None:  # type: ignore[no-untyped-def]
    runtime, client, links = sent
    path = links["runner0@example.com"]
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.post(forged, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "not valid" in response.text

    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 200 * 86400

    with runtime.session() as s:
        contact_id = s.exec(select(Contact.id).where(Contact.email == "runner0@example.com")).one()
    secret = load_secret_key(runtime.settings.data_dir, runtime.settings.secret_key)
    old = sign(URLSafeTimedSerializer(secret, salt=_SALT, signer=Old), UnsubscribeToken(1, contact_id, 1))
    response = client.post(f"/unsubscribe/{old}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "expired" in response.text
    assert consent(runtime, "runner0@example.com") == "subscribed"
    # The next campaign still reaches people whose links failed.
