"""Fixtures for delivery tests: a runtime whose clock-driven jobs run in-process."""

from __future__ import annotations

import pytest
