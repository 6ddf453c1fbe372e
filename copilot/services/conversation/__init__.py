"""The conversation service's rooms, one job each; ``copilot.services.conversations`` is their public surface."""
