"""The JSON API: controllers, shared dependencies and the error handler."""

from copilot.api.conversations import ConversationController
from copilot.api.core import HealthController, WorkspaceController
from copilot.api.delivery import CampaignController, EventController, UnsubscribeController
from copilot.api.deps import provide_runtime, provide_session
from copilot.api.errors import EXCEPTION_HANDLERS, copilot_error_handler
from copilot.api.reviews import ReviewController, ScheduledController, SubmitController
from copilot.api.segments import SegmentController
from copilot.api.users import UserController

__all__ = [
    "CampaignController",
    "EventController",
    "UnsubscribeController",
    "ConversationController",
    "HealthController",
    "ReviewController",
    "ScheduledController",
    "SubmitController",
    "UserController",
    "SegmentController",
    "WorkspaceController",
    "provide_runtime",
    "provide_session",
    "EXCEPTION_HANDLERS",
    "copilot_error_handler",
    "API_CONTROLLERS",
]

# Controllers later issues add are appended here (one line each).
API_CONTROLLERS: list[type] = [HealthController, WorkspaceController]
API_CONTROLLERS.append(ConversationController)
API_CONTROLLERS.append(SegmentController)
API_CONTROLLERS.extend([ReviewController, SubmitController, ScheduledController, UserController])
API_CONTROLLERS.extend([EventController, CampaignController, UnsubscribeController])
