"""How messages leave: an outbox folder of .eml files (the default) or an SMTP relay.

    TransportError            base
    ├── TemporaryFailure      try again later (SMTP 4xx, connection refused or dropped, timeout)
    └── PermanentFailure      never retry this message (SMTP 5xx); ``bounce`` when the address itself
                              was refused, so the contact is marked bounced

The outbox is idempotent: a message's file name comes from its ledger row, and a file already
there means the message was already handed over (a worker killed between writing and recording
it sends nothing twice). SMTP is not: a message the relay accepted in the instant before the
worker died is sent again on restart, with the same Message-ID.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from copilot.settings import Settings

__all__ = [
    "Envelope",
    "Transport",
    "OutboxTransport",
    "SmtpTransport",
    "TransportError",
    "TemporaryFailure",
    "PermanentFailure",
    "make_transport",
    "outbox_name",
]


class TransportError(Exception):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TemporaryFailure(TransportError):
    pass


class PermanentFailure(TransportError):
    def __init__(self, message: str, *, code: int | None = None, bounce: bool = False) -> None:
        super().__init__(message, code=code)
        self.bounce = bounce


@dataclass(frozen=True)
class Envelope:
    """One message for a transport: who it is from and to, its bytes, and where the outbox files it."""

    sender: str
    recipient: str
    data: bytes
    folder: str  # the campaign's folder name in the outbox
    name: str  # the file's stem: recipient, message key, ledger id


class Transport(Protocol):
    #: True when handing the same message over twice delivers it once (so a batch may be recorded at once)
    idempotent: bool

    def send(self, envelope: Envelope, *, gate: threading.Lock | None = None,
             accepted: Callable[[], None] | None = None) -> bool:
        """Hand one message over; False when it was already there (idempotent transports only).
        ``accepted`` runs the moment the message is taken, with ``gate`` held from the end of its
        content until ``accepted`` returns (see ``SmtpTransport.send``)."""
        ...

    def close(self) -> None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


def outbox_name(*parts: str) -> str:
    """A file-system-safe name a person can still read (an address stays an address)."""
    return "__".join(_UNSAFE.sub("_", p).strip("._") or "_" for p in parts)[:200]


class OutboxTransport:
    """One .eml file per message: ``<outbox>/<campaign>/<recipient>__<message>__<ledger id>.eml``."""

    idempotent = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[str] = set()

    def send(self, envelope: Envelope, *, gate: threading.Lock | None = None,
             accepted: Callable[[], None] | None = None) -> bool:
        folder = self.root / envelope.folder
        if envelope.folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(envelope.folder)
        final = folder / f"{envelope.name}.eml"
        tmp = folder / f".{envelope.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(envelope.data)
        try:
            # link, not rename: an existing file is never replaced, and we learn it was there.
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        if accepted is not None:
            with gate or nullcontext():
                accepted()
        return True

    def close(self) -> None:
        pass


class SmtpTransport:
    """An SMTP relay: one connection kept open across messages, STARTTLS or implicit TLS, optional login."""

    idempotent = False

    def __init__(self, *, host: str, port: int, security: str = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=self.ssl_context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=self.ssl_context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.ehlo_or_helo_if_needed()
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"SMTP login refused by {self.host}:{self.port}: {exc.smtp_code} "
                                   f"{_text(exc.smtp_error)}", code=exc.smtp_code) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TemporaryFailure(f"{self.host}:{self.port} does not offer STARTTLS (set COPILOT_SMTP_SECURITY)")\
                from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"cannot connect to SMTP relay {self.host}:{self.port}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def send(self, envelope: Envelope, *, gate: threading.Lock | None = None,
             accepted: Callable[[], None] | None = None) -> bool:
        """One message. With ``accepted``, it runs right after the relay's 250 (the sender records the
        message there). ``gate`` is held from before the content's end until ``accepted`` returns: the
        connections of a pool share it, so at most one message of them all is ever accepted by the relay
        and not yet recorded (what a crash can send twice), while the rest of each transaction (its
        commands, its content) goes on in parallel."""
        held: list[threading.Lock] = []

        def before_end() -> None:
            if gate is not None:
                gate.acquire()
                held.append(gate)

        try:
            self._send(envelope, before_end)
            if accepted is not None:
                accepted()
        finally:
            if held:
                held[0].release()
        return True

    def _send(self, envelope: Envelope, before_end: Callable[[], None]) -> None:
        smtp = self._connect()
        try:
            if smtp.has_extn("pipelining"):
                refused = _pipelined(smtp, envelope, before_end)
            else:
                before_end()
                refused = smtp.sendmail(envelope.sender, [envelope.recipient], envelope.data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._reset(smtp)
            raise _classify(code, text, recipient=True) from exc
        except smtplib.SMTPSenderRefused as exc:
            self._reset(smtp)
            error = _classify(exc.smtp_code, exc.smtp_error, recipient=False)
            if isinstance(error, PermanentFailure):
                error.bounce = False  # our sender address was refused, not the recipient's
            raise error from exc
        except smtplib.SMTPDataError as exc:
            self._reset(smtp)
            raise _classify(exc.smtp_code, exc.smtp_error, recipient=False) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TemporaryFailure(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc
        if refused:  # pragma: no cover - one recipient per message, so sendmail raises instead
            code, text = next(iter(refused.values()))
            raise _classify(code, text, recipient=True)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _pipelined(smtp: smtplib.SMTP, envelope: Envelope,
               before_end: Callable[[], None]) -> dict[str, tuple[int, bytes]]:
    """``smtp.sendmail`` for one recipient in two round trips instead of four, for a server that offers
    PIPELINING (RFC 2920): MAIL, RCPT and DATA go in one write and their replies are read together,
    then the content and its end. Raises what sendmail raises for the same replies."""
    data = envelope.data
    size = f" SIZE={len(data)}" if smtp.has_extn("size") else ""
    smtp.send(f"MAIL FROM:{_quoteaddr(envelope.sender)}{size}\r\n"
              f"RCPT TO:{_quoteaddr(envelope.recipient)}\r\nDATA\r\n".encode("utf-8"))
    mail, rcpt, start = smtp.getreply(), smtp.getreply(), smtp.getreply()
    if start[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
        smtp.send(b".\r\n")  # a server that took DATA without a sender or recipient: end it empty
        smtp.getreply()
    if mail[0] != 250:
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], envelope.sender)
    if rcpt[0] not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({envelope.recipient: rcpt})
    if start[0] != 354:
        raise smtplib.SMTPDataError(*start)
    body = _DOT_LINE.sub(b"..", data)
    # All but the last line break: the relay cannot take the message before it has the end.
    smtp.send(body[:-2] if body.endswith(b"\r\n") else body)
    before_end()
    smtp.send(b"\r\n.\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
    return {}


_DOT_LINE = re.compile(rb"(?m)^\.")
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


def _quoteaddr(address: str) -> str:
    """``smtplib.quoteaddr`` without its full RFC 5322 parse for a plain address (the usual case)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _classify(code: int, text: bytes | str, *, recipient: bool) -> TransportError:
    message = f"{code} {_text(text)}".strip()
    if 400 <= code < 500:
        return TemporaryFailure(message, code=code)
    # A refused recipient (or data refused for it) is a bounce: the address is not to be mailed again.
    return PermanentFailure(message, code=code, bounce=recipient or code in (550, 551, 553))


def make_transport(settings: Settings) -> Transport:
    if settings.transport == "smtp":
        return SmtpTransport(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                             username=settings.smtp_username, password=settings.smtp_password,
                             timeout=settings.smtp_timeout)
    return OutboxTransport(settings.outbox_path)
