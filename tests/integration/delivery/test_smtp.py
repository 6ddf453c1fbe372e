"""Sending through a real SMTP server (aiosmtpd in the test): delivery, retries with backoff on 4xx,
a bounce record on 5xx, and the same Message-ID on every attempt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from support.smtp import Mailbox, smtp_server

from copilot.delivery.jobs import run_until_idle
from copilot.delivery.transports import Envelope, SmtpTransport
from copilot.models import Contact, SuppressedAddress
from copilot.runtime import Runtime
from copilot.settings import Settings

from .support import add_contacts, ledger, plan_data, schedule_campaign

AT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def relay(settings: Settings) -> Iterator[tuple[Runtime, Mailbox]]:
    with smtp_server() as (host, port, box):
        runtime = Runtime.start(settings.replace(transport="smtp", smtp_host=host, smtp_port=port,
                                                 smtp_security="none", send_backoff=60.0, send_retries=2,
                                                 control_percent=0.0))
        yield runtime, box
        runtime.close()


def test_campaign_is_delivered_to_the_smtp_server_once_per_recipient(relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = relay
    add_contacts(runtime, [{"first_name": f"R{i}"} for i in range(25)])
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    rows = ledger(runtime, review_id)
    assert {r.status for r in rows} == {"sent"} and box.count == 25 and box.duplicates() == 0
    received = {m["To"]: m for m in box.parsed()}
    assert set(received) == {f"runner{i}@example.com" for i in range(25)}
    assert {m["Message-ID"] for m in received.values()} == {r.message_id for r in rows}
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in received.values())


def test_a_temporary_refusal_is_retried_after_the_backoff_with_the_same_message_id(
        relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = relay
    add_contacts(runtime, [{"first_name": "Later"}, {"first_name": "Now"}])
    box.refuse["runner0@example.com"] = (452, 1)  # mailbox busy, once
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    first = {r.contact_id: r for r in ledger(runtime, review_id)}
    later = min(first)
    assert first[later].status == "queued" and "452" in (first[later].detail or "")
    assert first[later].due_at.replace(tzinfo=UTC) == AT + timedelta(seconds=61)
    assert box.count == 1
    run_until_idle(runtime, now=AT + timedelta(seconds=30))  # before the backoff: nothing
    assert box.count == 1
    run_until_idle(runtime, now=AT + timedelta(seconds=62))
    done = {r.contact_id: r for r in ledger(runtime, review_id)}
    assert done[later].status == "sent" and done[later].attempts == 2 and box.count == 2


def test_retries_run_out_into_a_failure_that_says_why(relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = relay
    add_contacts(runtime, [{"first_name": "Stuck"}])
    box.refuse["runner0@example.com"] = (451, 99)
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    for minutes in range(0, 20, 2):
        run_until_idle(runtime, now=AT + timedelta(minutes=minutes, seconds=1))
    row = ledger(runtime, review_id)[0]
    assert (row.status, row.reason, row.attempts) == ("failed", "retries_exhausted", 3)
    assert "451" in (row.detail or "") and box.count == 0


def test_a_permanent_refusal_records_a_bounce_and_suppresses_the_address(relay: tuple[Runtime, Mailbox]) -> None:
    runtime, box = relay
    ids = add_contacts(runtime, [{"first_name": "Gone"}, {"first_name": "Here"}])
    box.refuse["runner0@example.com"] = (550, 1)
    review_id = schedule_campaign(runtime, plan_data(), at=AT)
    run_until_idle(runtime, now=AT + timedelta(seconds=1))
    rows = {r.contact_id: r for r in ledger(runtime, review_id)}
    assert (rows[ids[0]].status, rows[ids[0]].reason) == ("failed", "bounced") and "550" in rows[ids[0]].detail
    assert rows[ids[1]].status == "sent"
    with runtime.session() as s:
        assert s.get(Contact, ids[0]).consent == "bounced"  # type: ignore[union-attr]
        listed = s.exec(select(SuppressedAddress)).all()
    assert [(a.email, a.reason) for a in listed] == [("runner0@example.com", "bounce")]
    # The next campaign does not try the address again.
    second = schedule_campaign(runtime, plan_data(title="Second"), at=AT + timedelta(days=1))
    run_until_idle(runtime, now=AT + timedelta(days=1, seconds=1))
    again = {r.contact_id: r for r in ledger(runtime, second)}
    assert (again[ids[0]].status, again[ids[0]].reason) == ("suppressed", "bounced")


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_a_relay_with_or_without_pipelining_gets_the_same_messages_and_refusals(
        settings: Settings, pipelining: bool) -> None:
    with smtp_server(Mailbox(pipelining=pipelining)) as (host, port, box):
        runtime = Runtime.start(settings.replace(transport="smtp", smtp_host=host, smtp_port=port,
                                                 smtp_security="none", control_percent=0.0))
        ids = add_contacts(runtime, [{"first_name": "Gone"}, {"first_name": ".Dot"}, {"first_name": "Later"}])
        box.refuse["runner0@example.com"] = (550, 1)
        box.refuse["runner2@example.com"] = (452, 1)
        review_id = schedule_campaign(runtime, plan_data(), at=AT)
        run_until_idle(runtime, now=AT + timedelta(seconds=1))
        rows = {r.contact_id: r for r in ledger(runtime, review_id)}
        runtime.close()
    assert [(rows[i].status, rows[i].reason) for i in ids] == [("failed", "bounced"), ("sent", None), ("queued", None)]
    assert "452" in (rows[ids[2]].detail or "")
    (to, data), = box.messages
    assert to == "runner1@example.com" and data.count(b"Message-ID: " + rows[ids[1]].message_id.encode()) == 1
    assert box.parsed()[0].get_body(("plain",)).get_content().startswith("Hello .Dot,")


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_connections_sharing_a_gate_never_leave_two_messages_taken_but_unrecorded(pipelining: bool) -> None:
    # What a crash can send twice is what the relay took and the ledger does not have yet: with the gate,
    # never more than the one message being recorded, however many connections send at once.
    with smtp_server(Mailbox(keep_bodies=False, pipelining=pipelining)) as (host, port, box):
        gate, recorded, unrecorded = threading.Lock(), [], []

        def accepted() -> None:
            unrecorded.append(box.count - len(recorded))
            time.sleep(0.002)  # a slow commit: other connections finish their messages meanwhile
            recorded.append(1)

        def connection(k: int) -> None:
            transport = SmtpTransport(host=host, port=port, security="none")
            for i in range(15):
                data = f"Message-ID: <{k}.{i}@x.example>\r\nSubject: hi\r\n\r\n.line\r\nbody\r\n".encode()
                transport.send(Envelope("a@x.example", f"r{k}.{i}@example.com", data, "f", "n"),
                               gate=gate, accepted=accepted)
            transport.close()

        threads = [threading.Thread(target=connection, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert box.count == len(recorded) == 60 and box.duplicates() == 0
    assert max(unrecorded) == 1
