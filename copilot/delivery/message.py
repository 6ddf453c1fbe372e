"""Messages as mail clients expect them: multipart/alternative (a text part and an HTML part with its
CSS inlined by css-inline), the brand's sender and postal address, Message-ID, List-Unsubscribe with
an HTTPS link and a mailto, and List-Unsubscribe-Post One-Click (RFC 8058).

``Composer`` renders one variant for many contacts: the layout, the Markdown and the CSS inlining
run once per distinct body (merge values sit in placeholders), so each contact costs only its merge
values, a placeholder fill and the MIME encoding. ``mime_bytes`` builds one message from a
``RenderedEmail`` the slow, simple way (previews, the deliverability guard) with the same headers.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from email import base64mime
from email.header import Header
from email.utils import formataddr
from typing import Any
from urllib.parse import quote

import css_inline

from copilot.plan import Variant
from copilot.render import (
    COPY_FIELDS,
    RenderedEmail,
    email_html,
    email_text,
    markdown_to_html_text,
    merge_context,
    merge_plan,
    render_body,
    render_field,
    template_variables,
    variant_names,
)
from copilot.workspace import Workspace

__all__ = ["Composer", "ComposedMessage", "MessageParts", "mime_bytes", "unsubscribe_mailto", "sender_domain",
           "from_header"]

_INLINER = css_inline.CSSInliner(keep_style_tags=False)
# The one-line copy fields (everything but the Markdown body), each rendered on its own.
_LINE_FIELDS = tuple(spec for spec in COPY_FIELDS if spec.kind != "markdown")
# Named placeholders in a cached layout: \ue002<k>\ue003 (the body's own are \ue000<n>\ue001).
_NAMED = ("subject", "preheader", "cta_text", "cta_url", "unsubscribe_url")
_MARK = {name: f"\ue002{i}\ue003" for i, name in enumerate(_NAMED)}
_SLOTS = re.compile(r"\ue000(\d+)\ue001|%EE%80%80(\d+)%EE%80%81|\ue002(\d)\ue003")


def sender_domain(workspace: Workspace) -> str:
    return workspace.brand.sender.from_email.rsplit("@", 1)[-1].lower()


def unsubscribe_mailto(workspace: Workspace, token: str) -> str:
    """The mailto: half of List-Unsubscribe: the brand's unsubscribe mailbox with the token as subject."""
    sender = workspace.brand.sender
    address = sender.unsubscribe_email or f"unsubscribe@{sender_domain(workspace)}"
    return f"mailto:{address}?subject={quote('unsubscribe ' + token)}"


def _header(name: str, value: str) -> bytes:
    """One header line: short ASCII as it is, long ASCII folded (email.header), anything else as RFC 2047
    base64 encoded words of whole characters, one per folded line."""
    if value.isascii():
        if len(name) + len(value) < 76:
            return f"{name}: {value}\r\n".encode("ascii")
        encoded = Header(value, "us-ascii", maxlinelen=76, header_name=name).encode(linesep="\r\n")
        return f"{name}: {encoded}\r\n".encode("ascii")
    words, chunk = [], ""
    for char in value:  # at most 39 bytes per word: 52 base64 characters, 64 with the =?utf-8?b?...?= frame
        if len((chunk + char).encode("utf-8")) > 39:
            words.append(base64mime.header_encode(chunk.encode("utf-8"), charset="utf-8"))
            chunk = ""
        chunk += char
    if chunk:
        words.append(base64mime.header_encode(chunk.encode("utf-8"), charset="utf-8"))
    return f"{name}: " .encode("ascii") + "\r\n ".join(words).encode("ascii") + b"\r\n"


def _qp(text: str) -> bytes:
    # CRLF in, CRLF out: b2a_qp keeps the line ending style it finds (soft breaks included).
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return binascii.b2a_qp(crlf.encode("utf-8"), quotetabs=False, istext=True, header=False)


def _assemble(*, from_header: str, to: str, subject: str, date: str, message_id: str, reply_to: str | None,
              unsubscribe_url: str, mailto: str | None, text: str, html_doc: str,
              extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
    boundary = "=_" + hashlib.sha1(message_id.encode("utf-8")).hexdigest()[:24]
    # List-Unsubscribe: ASCII by construction (the URL is percent-encoded), one link per line.
    unsubscribe = f"List-Unsubscribe: <{unsubscribe_url}>" + (f",\r\n <{mailto}>" if mailto else "") + "\r\n"
    head = [
        _header("From", from_header), _header("To", to), _header("Subject", subject), _header("Date", date),
        _header("Message-ID", message_id), b"MIME-Version: 1.0\r\n",
    ]
    if reply_to:
        head.append(_header("Reply-To", reply_to))
    head.append(unsubscribe.encode("ascii"))
    head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    for name, value in extra_headers:
        head.append(_header(name, value))
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii"))
    sep = f"--{boundary}\r\n".encode("ascii")
    part_head = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    return b"".join([
        *head,
        sep, part_head.format("plain").encode("ascii"), _qp(text), b"\r\n",
        sep, part_head.format("html").encode("ascii"), _qp(html_doc), b"\r\n",
        f"--{boundary}--\r\n".encode("ascii"),
    ])


def from_header(workspace: Workspace) -> str:
    """The From line every message of the brand carries ("Name <address>")."""
    sender = workspace.brand.sender
    return formataddr((sender.from_name, sender.from_email))


def mime_bytes(workspace: Workspace, rendered: RenderedEmail, *, to: str, message_id: str, date: str,
               unsubscribe_url: str, unsubscribe_mailto: str | None = None,
               extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """One message from a rendered email, CSS inlined, with every header delivery sends."""
    return _assemble(from_header=from_header(workspace), to=to, subject=rendered.subject, date=date,
                     message_id=message_id, reply_to=workspace.brand.sender.reply_to,
                     unsubscribe_url=unsubscribe_url, mailto=unsubscribe_mailto, text=rendered.text,
                     html_doc=_INLINER.inline(rendered.html), extra_headers=extra_headers)


# Escaping and percent-encoding per value, cached: a merge value (a first name, a city) recurs in
# several places of one message and across many contacts. Bounded, so memory stays flat.
_escape = lru_cache(maxsize=16384)(html.escape)
_quote = lru_cache(maxsize=16384)(partial(quote, safe=""))


def _identity(value: str) -> str:
    return value


class _Template:
    """A document split at its per-contact values: a %-format string of the literal pieces, and for
    each hole a named value (``n``), a body value (``b``) or a body value inside a link (``u``,
    percent-encoded). Filling one encodes the values and formats once: no parsing per contact."""

    __slots__ = ("fmt", "holes")

    def __init__(self, pieces: list[str], holes: list[tuple[str, int]]) -> None:
        self.fmt = "%s".join(p.replace("%", "%%") for p in pieces)
        self.holes = holes

    def fill(self, named: Sequence[str], values: Sequence[str], *, escape: bool) -> str:
        esc = _escape if escape else _identity
        return self.fmt % tuple(esc(named[i]) if kind == "n" else esc(values[i]) if kind == "b"
                                else esc(_quote(values[i])) for kind, i in self.holes)


def _template(document: str) -> _Template:
    pieces: list[str] = []
    holes: list[tuple[str, int]] = []
    at = 0
    for match in _SLOTS.finditer(document):
        pieces.append(document[at:match.start()])
        if match.group(3) is not None:
            holes.append(("n", int(match.group(3))))
        elif match.group(2) is not None:
            holes.append(("u", int(match.group(2))))
        else:
            holes.append(("b", int(match.group(1))))
        at = match.end()
    pieces.append(document[at:])
    return _Template(pieces, holes)


@dataclass(frozen=True)
class _Layout:
    html: _Template
    text: _Template


@dataclass(frozen=True)
class MessageParts:
    """What one contact's message shows: the inbox line (subject, preheader) and both parts."""

    subject: str
    preheader: str
    html: str  # the HTML document, CSS inlined, as sent
    text: str  # the text/plain part, as sent


@dataclass(frozen=True)
class ComposedMessage:
    subject: str
    data: bytes


class Composer:
    """Renders one variant for many contacts into MIME bytes (see the module docstring)."""

    def __init__(self, workspace: Workspace, variant: Variant) -> None:
        self.workspace = workspace
        self.variant = variant
        self.names = variant_names(variant)
        self._plan = merge_plan(variant)
        brand = workspace.brand
        self._links = {"postal_address": brand.sender.postal_address,
                       "preferences_url": brand.preference_center_url}
        self._from = from_header(workspace)
        self._reply_to = brand.sender.reply_to
        # Fields without merge outputs render the same for everyone: render them once.
        self._constant: dict[str, str] = {}
        for spec in _LINE_FIELDS:
            if not template_variables(getattr(variant, spec.name), kind=spec.kind):
                self._constant[spec.name] = render_field(variant, spec.name, {})  # type: ignore[arg-type]
        self._varying = tuple(spec.name for spec in _LINE_FIELDS if spec.name not in self._constant)
        self._layouts: dict[str, _Layout] = {}

    def _layout(self, slotted: str) -> _Layout:
        """The message around one body (its Markdown with placeholders): the CSS-inlined HTML document and
        the text part, each as a format string with a field per per-contact value. Built once per body."""
        layout = self._layouts.get(slotted)
        if layout is None:
            html_slots, text_slots = markdown_to_html_text(slotted)
            # A field that is the same for everyone goes in as it is (escaped by the layout like any
            # text); the others become holes.
            marks = {name: self._constant.get(name, _MARK[name]) for name in _NAMED}
            document = email_html(locale=self.variant.locale, body_html=html_slots, **marks, **self._links)
            text = email_text(locale=self.variant.locale, body_text=text_slots,
                              **{k: v for k, v in marks.items() if k not in {"subject", "preheader"}}, **self._links)
            layout = _Layout(_template(_INLINER.inline(document)), _template(text))
            if len(self._layouts) < 64:
                self._layouts[slotted] = layout
        return layout

    def fields(self, contact: Mapping[str, Any]) -> tuple[dict[str, str], str, list[str]]:
        """(subject, preheader, cta_text, cta_url), the body's Markdown with placeholders, and the values
        that go in them. Raises RenderError like ``render_variant``."""
        context = merge_context(self.variant, contact, plan=self._plan)
        out = self._constant.copy()
        for name in self._varying:
            out[name] = render_field(self.variant, name, context)  # type: ignore[arg-type]
        slotted, values = render_body(self.variant, context)
        return out, slotted, values

    def parts(self, contact: Mapping[str, Any], *, unsubscribe_url: str) -> MessageParts:
        """Subject, preheader, HTML document (CSS inlined) and text part for one contact, exactly as
        ``compose`` sends them (previews show this); raises RenderError like ``render_variant``."""
        fields, slotted, values = self.fields(contact)
        layout = self._layout(slotted)
        named = (fields["subject"], fields["preheader"], fields["cta_text"], fields["cta_url"], unsubscribe_url)
        return MessageParts(subject=fields["subject"], preheader=fields["preheader"],
                            html=layout.html.fill(named, values, escape=True),
                            text=layout.text.fill(named, values, escape=False))

    def render(self, contact: Mapping[str, Any], *, unsubscribe_url: str) -> tuple[str, str, str]:
        """(subject, HTML document with CSS inlined, text part) for one contact; raises RenderError
        like ``render_variant``."""
        p = self.parts(contact, unsubscribe_url=unsubscribe_url)
        return p.subject, p.html, p.text

    def compose(self, contact: Mapping[str, Any], *, to: str, message_id: str, date: str, unsubscribe_url: str,
                unsubscribe_mailto: str | None, extra_headers: Sequence[tuple[str, str]] = ()) -> ComposedMessage:
        """The whole message for one contact, as bytes ready for a transport."""
        subject, html_doc, text = self.render(contact, unsubscribe_url=unsubscribe_url)
        data = _assemble(from_header=self._from, to=to, subject=subject, date=date, message_id=message_id,
                         reply_to=self._reply_to, unsubscribe_url=unsubscribe_url, mailto=unsubscribe_mailto,
                         text=text, html_doc=html_doc, extra_headers=extra_headers)
        return ComposedMessage(subject=subject, data=data)
