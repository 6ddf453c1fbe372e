"""A real SMTP server for tests and benchmarks (aiosmtpd on a free loopback port) that keeps what it
receives and can answer chosen recipients with a temporary (4xx) or permanent (5xx) refusal."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Mailbox", "smtp_server", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the server accepted; ``refuse[address] = (code, times)`` refuses that address ``times`` times."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    refuse: dict[str, tuple[int, int]] = field(default_factory=dict)
    delay: float = 0.0
    keep_bodies: bool = True
    pipelining: bool = True  # offer PIPELINING (RFC 2920): aiosmtpd reads pipelined commands in order
    count: int = 0
    ids: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        with self.lock:
            code, times = self.refuse.get(address, (0, 0))
            if times > 0:
                self.refuse[address] = (code, times - 1)
                return f"{code} {'try again later' if code < 500 else 'no such mailbox'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            time.sleep(self.delay)  # a slow relay: blocks the server, as a busy one would
        data = envelope.original_content or envelope.content
        message_id = _message_id(data)
        with self.lock:
            self.count += 1
            self.ids[message_id] += 1
            if self.keep_bodies:
                self.messages.append((envelope.rcpt_tos[0], data))
        return "250 Message accepted"

    def parsed(self) -> list[Any]:
        return [message_from_bytes(data, policy=policy.default) for _, data in self.messages]

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.ids.values() if n > 1)


def _message_id(data: bytes) -> str:
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")
    return ""


@contextmanager
def smtp_server(mailbox: Mailbox | None = None) -> Iterator[tuple[str, int, Mailbox]]:
    box = mailbox or Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield "127.0.0.1", port, box
    finally:
        controller.stop()
