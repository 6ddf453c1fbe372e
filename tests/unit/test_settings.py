"""Settings come from the environment with documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.errors import ConfigError
from copilot.settings import SETTINGS_DOC, Settings


def test_defaults_use_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTINGS_DOC:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path))
    s = Settings.from_env()
    assert s.database_url == f"sqlite:///{tmp_path / 'copilot.db'}"
    assert s.llm_configured is False
    assert s.workspace_dir is None


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COPILOT_PORT", "9001")
    s = Settings.from_env()
    assert (s.database_url, s.port, s.llm_configured) == ("postgresql+psycopg://u@h/db", 9001, True)


def test_bad_number_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        Settings.from_env()
    assert info.value.context["setting"] == "COPILOT_PORT"


def test_fallback_choice_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_LLM_FALLBACK", "None")
    assert Settings.from_env().llm_fallback is False
    monkeypatch.setenv("COPILOT_LLM_FALLBACK", "maybe")
    with pytest.raises(ConfigError, match="COPILOT_LLM_FALLBACK must be one of offline, none, got 'maybe'"):
        Settings.from_env()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in readme]
    assert missing == []
