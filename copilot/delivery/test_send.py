"""A test send: one variant rendered for one contact's values and handed to the configured transport
(the outbox or the SMTP relay, as a campaign's messages are), addressed to the person asking.

The message is the one delivery composes (``Composer.compose``: the same parts, headers and CSS
inlining); only the recipient differs, the unsubscribe link is the brand's preference centre (there
is no campaign to leave), and an ``X-Copilot-Test`` header says what it is. Nothing is recorded in a
ledger and no frequency cap counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import format_datetime, make_msgid
from typing import Any

from copilot.delivery.message import Composer, sender_domain
from copilot.delivery.transports import Envelope, Transport, make_transport, outbox_name
from copilot.models import utcnow
from copilot.plan import Variant
from copilot.settings import Settings
from copilot.workspace import Workspace

__all__ = ["send_test", "TEST_FOLDER", "TEST_HEADER"]

TEST_FOLDER = "test-sends"  # the outbox folder test sends are filed in
TEST_HEADER = "X-Copilot-Test"


def send_test(settings: Settings, workspace: Workspace, variant: Variant, contact: Mapping[str, Any], *,
              to: str, transport: Transport | None = None) -> str:
    """Send ``variant`` as ``contact`` would get it, to ``to``; returns the Message-ID. Raises RenderError
    when the copy cannot be rendered and TransportError when the transport refuses it."""
    message_id = make_msgid("test", domain=sender_domain(workspace))
    composed = Composer(workspace, variant).compose(
        contact, to=to, message_id=message_id, date=format_datetime(utcnow()),
        unsubscribe_url=workspace.brand.preference_center_url, unsubscribe_mailto=None,
        extra_headers=[(TEST_HEADER, f"{variant.segment} / {variant.message} / {variant.key} / {variant.locale}")])
    envelope = Envelope(sender=workspace.brand.sender.from_email, recipient=to, data=composed.data,
                        folder=TEST_FOLDER, name=outbox_name(to, variant.message, message_id.strip("<>")))
    own = transport is None
    transport = transport or make_transport(settings)
    try:
        transport.send(envelope)
    finally:
        if own:
            transport.close()
    return message_id
