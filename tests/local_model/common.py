"""What the local-model tests share: the server's alias, the fixed seed, the server handle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL = "local"  # the server's --alias (scripts/local_model.sh)
SEED = 1234

# Figures the tests measured (token ratios, turn times); printed at the end of the run.
FIGURES: dict[str, Any] = {}


@dataclass(frozen=True)
class LocalServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    port: int
    pid: int
    log: Path
