"""Token counting works offline from the bundled encodings and follows the chat API's billing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from copilot import tokens


def test_bundled_encodings_unpack_under_the_names_tiktoken_looks_for(tmp_path: Path) -> None:
    directory = tokens.prepare_tiktoken_cache(tmp_path / "tk")
    for name in tokens.BUNDLED_ENCODINGS:
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        assert (directory / hashlib.sha1(url.encode()).hexdigest()).stat().st_size > 1_000_000
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(directory)


def test_counts_text_for_known_and_unknown_models(tmp_path: Path) -> None:
    cache = tmp_path / "tk"
    assert tokens.count_text("hello world", model="gpt-4o-mini", cache_dir=cache) == 2
    # a local model name tiktoken does not know falls back to o200k_base instead of failing
    assert tokens.count_text("hello world", model="llama-3.2-1b-instruct", cache_dir=cache) == 2
    assert tokens.encoding_for_model("gpt-4", cache).name == "cl100k_base"


def test_message_count_adds_the_chat_framing(tmp_path: Path) -> None:
    cache = tmp_path / "tk"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "win back runners"}]
    content = sum(tokens.count_text(m["content"], model="gpt-4o", cache_dir=cache) for m in messages)
    roles = sum(tokens.count_text(m["role"], model="gpt-4o", cache_dir=cache) for m in messages)
    assert tokens.count_messages(messages, model="gpt-4o", cache_dir=cache) == content + roles + 2 * 3 + 3


def test_cost_uses_the_per_million_prices() -> None:
    cost = tokens.estimate_cost(2_000, 500, prompt_per_mtok=0.15, completion_per_mtok=0.60)
    assert cost == pytest.approx(0.0006)
