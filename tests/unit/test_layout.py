"""The layout's boundaries hold in the code: the core imports neither the web UI nor the evals,
and guards stay pure (no database, network or clock)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: str) -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out += [(str(path.relative_to(ROOT)), a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.append((str(path.relative_to(ROOT)), node.module))
    return out


@pytest.mark.parametrize("forbidden", ["evals", "review_ui"])
def test_the_core_never_imports_the_evals_or_the_web_ui(forbidden: str) -> None:
    bad = [(f, m) for f, m in _imports("copilot") if m == forbidden or m.startswith(forbidden + ".")]
    assert bad == []


def test_guards_touch_no_database_network_or_clock() -> None:
    banned = ("sqlmodel", "sqlalchemy", "httpx", "openai", "socket", "copilot.db", "copilot.models",
              "copilot.services")
    bad = [(f, m) for f, m in _imports("guards") if m in banned or m.startswith(tuple(b + "." for b in banned))]
    assert bad == []


def test_copilot_eval_is_a_plugin_command_of_the_copilot_cli() -> None:
    from importlib.metadata import entry_points

    from copilot.cli import PLUGIN_GROUP, cli

    assert {e.name: e.value for e in entry_points(group=PLUGIN_GROUP)}["eval"] == "evals.cli:eval_group"
    assert "eval" in cli.commands
