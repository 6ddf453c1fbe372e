"""Delivery: approved campaigns sent exactly once, to the right people, at their local time.

The engine (``engine``) freezes audiences and steps journeys into the send ledger; the sender
(``sender``) hands due messages to a transport (``transports``: outbox or SMTP); ``jobs`` runs both on
Huey; ``service`` pauses, resumes, cancels, counts and explains; ``export`` hands plans to other senders.
"""

from copilot.delivery.export import export
from copilot.delivery.jobs import get_huey, notify, run_until_idle
from copilot.delivery.message import Composer
from copilot.delivery.service import cancel, counts, explain, pause, resume
from copilot.delivery.transports import OutboxTransport, SmtpTransport

__all__ = [
    "Composer",
    "OutboxTransport",
    "SmtpTransport",
    "cancel",
    "counts",
    "explain",
    "export",
    "get_huey",
    "notify",
    "pause",
    "resume",
    "run_until_idle",
]
