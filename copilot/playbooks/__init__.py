"""The playbook library: marketing moments (segments, timings, CTAs, copy patterns) as validated YAML data."""

from copilot.playbooks.library import (
    PLAYBOOK_DIR,
    get_playbook,
    goal_key,
    load_playbooks,
    load_vocabulary,
    playbook_for_goal,
    stage_for_goal,
)
from copilot.playbooks.schema import (
    PLACEHOLDERS,
    AudienceEntry,
    CopyOverride,
    CopySpec,
    MessageSpec,
    OfferHint,
    Playbook,
    SegmentSpec,
    SuppressionSpec,
    TriggerSpec,
    Vocabulary,
    merge_names_in,
    placeholders_in,
)

__all__ = [
    "PLAYBOOK_DIR",
    "PLACEHOLDERS",
    "AudienceEntry",
    "CopyOverride",
    "CopySpec",
    "MessageSpec",
    "OfferHint",
    "Playbook",
    "SegmentSpec",
    "SuppressionSpec",
    "TriggerSpec",
    "Vocabulary",
    "get_playbook",
    "goal_key",
    "load_playbooks",
    "load_vocabulary",
    "merge_names_in",
    "placeholders_in",
    "playbook_for_goal",
    "stage_for_goal",
]
