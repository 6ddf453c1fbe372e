"""Campaign copilot core: domain models, workspaces, store, planners, review, API and CLI."""

__version__ = "0.1.0"

__all__ = ["__version__"]
