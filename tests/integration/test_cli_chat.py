"""``copilot chat`` in the terminal and ``copilot plan`` with a model configured (the model's API over respx)."""

from __future__ import annotations

import re

import pytest
import respx
from click.testing import CliRunner
from support.fakes import demo_plan
from support.openai_stub import BASE_URL, StubLLM, answering

from copilot.cli import cli
from copilot.models import User
from copilot.settings import get_settings
from copilot.tokens import prepare_tiktoken_cache


@pytest.fixture(scope="module", autouse=True)
def _tiktoken_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    prepare_tiktoken_cache(tmp_path_factory.mktemp("tiktoken"))


@pytest.fixture
def env(runtime, monkeypatch):  # type: ignore[no-untyped-def]
    """The CLI reads settings from the environment: point it at the test database."""
    with runtime.session() as session:
        session.add(User(username="marketer", role="marketer", password_hash="-"))
        session.commit()
    monkeypatch.setenv("COPILOT_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _with_model(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_BASE_URL", BASE_URL)
    monkeypatch.setenv("COPILOT_LLM_RETRIES", "0")
    get_settings.cache_clear()


def test_chat_streams_answers_from_the_model_and_names_the_planner(env) -> None:  # type: ignore[no-untyped-def]
    _with_model(env)
    plan = demo_plan()
    fewer = plan.model_copy(update={"segments": plan.segments[1:], "variants": plan.variants[1:]})
    first = answering(plan, reply="Two segments with the come-back offer.")
    then = answering(fewer, copy_to_write=[], reply="Dropped the VIP segment.")
    stub = StubLLM(lambda kind, body: (then if kind == "revise" else first)(kind, body))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=stub)
        result = CliRunner().invoke(cli, ["chat", "-m", "win back lapsed runners with 15% off",
                                          "-m", "drop the VIP segment"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "copilot> Two segments with the come-back offer." in lines
    assert "copilot> Dropped the VIP segment." in lines
    footers = [line for line in lines if line.startswith("[")]
    assert [re.match(r"\[(\S+) \| (revision \d+)", f).groups() for f in footers] == [
        ("llm:gpt-4o-mini", "revision 1"), ("llm:gpt-4o-mini", "revision 2")]
    assert stub.kinds == ["plan", "copy", "copy", "revise"]


def test_interactive_chat_offline_with_commands(env) -> None:  # type: ignore[no-untyped-def]
    script = "\n".join([
        "win back runners who haven't bought in six months with 15% off",
        "drop the VIP segment", "/revisions", "/diff 1 2", "/restore 1", "/usage", "/bogus", "/quit", ""])
    result = CliRunner().invoke(cli, ["chat"], input=script, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "[offline-playbook | revision 1" in result.output
    assert "restored revision 1 as revision 3" in result.output
    assert "/revisions          list the plan's revisions" in result.output  # /bogus shows the help
    assert re.search(r"^(you> )?\s+1\s+\S+ \S+\s+offline-playbook", result.output, flags=re.MULTILINE)


def test_chat_with_an_unknown_user_is_a_clear_error(env) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["chat", "--user", "nobody", "-m", "hello"])
    assert result.exit_code == 2 and "error: no user named 'nobody'" in result.output


def test_copilot_plan_uses_the_model_when_one_is_configured(env) -> None:  # type: ignore[no-untyped-def]
    _with_model(env)
    stub = StubLLM(answering(demo_plan()))
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(side_effect=stub)
        result = CliRunner().invoke(cli, ["plan", "--no-sizes", "win back lapsed runners with 15% off"],
                                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("[winback, llm:gpt-4o-mini]")
    assert stub.kinds[0] == "plan"
