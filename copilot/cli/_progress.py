"""A progress bar on stderr that appears only once there is progress to show."""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["LazyProgressBar"]


class LazyProgressBar:
    """Callable with an increment; opens a click progress bar on the first call.

    Work that turns out to be unnecessary (a demo that is reused) prints no bar at all.
    """

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.label = label
        self._bar: Any = None

    def __call__(self, increment: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr,
                                          show_pos=True, show_eta=True)
            self._bar.__enter__()
        self._bar.update(increment)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __enter__(self) -> LazyProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
