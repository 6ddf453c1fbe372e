"""Build the answer source for ``--provider offline|openai`` with the product's own planner factory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from copilot.errors import EvalError
from copilot.settings import Settings
from evals.answers import AnswerSource, CachedAnswers, LiveAnswers

__all__ = ["PROVIDERS", "make_source", "prompts_hash", "cache_dir"]

PROVIDERS = ("offline", "openai")
_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


def prompts_hash(folder: Path = _PROMPTS_DIR) -> str:
    """sha256 over every prompt file, so an edited prompt misses the answer cache."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir(settings: Settings) -> Path:
    return settings.data_dir / "eval-cache"


def make_source(provider: str, *, settings: Settings, model: str | None = None, cache: bool = True) -> AnswerSource:
    """offline: the playbook planner, never cached (it is fast and its code is what is measured).
    openai: the configured OpenAI-compatible model, answers cached by request hash."""
    if provider == "offline":
        if model:
            raise EvalError("--model applies to --provider openai; the offline planner has no model", path="--model")
        from copilot.planner.offline import OfflinePlanner

        return LiveAnswers(OfflinePlanner())
    if provider != "openai":
        raise EvalError(f"unknown provider {provider!r} (use one of {', '.join(PROVIDERS)})", path="--provider")
    if not settings.llm_configured:
        raise EvalError("--provider openai needs OPENAI_API_KEY or OPENAI_BASE_URL", path="--provider")
    from copilot.planner.factory import get_planner

    settings = settings.replace(model=model) if model else settings
    planner = get_planner(settings)
    identity = f"{planner.name}|{settings.model}|{settings.openai_base_url or 'default'}|fallback:{settings.llm_fallback}|prompts:{prompts_hash()}"
    source: AnswerSource = LiveAnswers(planner, identity=identity)
    return CachedAnswers(source, cache_dir(settings) / "plans") if cache else source
