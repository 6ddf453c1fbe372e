"""The htmx web UI: accounts, chat with the plan beside it, the review queue and the Scheduled list."""

from review_ui.plugin import CONTENT_SECURITY_POLICY, ReviewUIPlugin

__all__ = ["ReviewUIPlugin", "CONTENT_SECURITY_POLICY"]
