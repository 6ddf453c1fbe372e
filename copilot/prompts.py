"""Prompt templates: files in ``prompts/`` loaded by name into typed templates that refuse wrong variables.

Each file starts with a YAML header between ``---`` lines (version, description, and
every variable with its meaning), then the Jinja2 body. The version (plus a short hash of
the file, so an edit without a version bump still shows) is recorded on every revision.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound, TemplateSyntaxError, meta
from jinja2.exceptions import UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.errors import PromptError

__all__ = ["PromptTemplate", "load_prompt", "prompt_names", "PROMPTS_DIR", "delimit"]

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
SUFFIX = ".j2"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HEADER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def delimit(value: Any, tag: str) -> str:
    """Wrap untrusted text in <tag>...</tag>, neutralising any tag inside it that could close the block early."""
    text = str(value)
    text = re.sub(rf"<(/?)\s*{re.escape(tag)}", lambda m: f"<{m.group(1)}\u200b{tag}", text, flags=re.IGNORECASE)
    return f"<{tag}>\n{text}\n</{tag}>"


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False, default=str)


@lru_cache(maxsize=8)
def _environment(directory: Path) -> SandboxedEnvironment:
    # Partials (``_name.j2``, no header) are shared through {% include %}; they live in the same folder.
    # auto_reload off: prompt files are part of the release, and a stat() of every partial on each
    # render costs milliseconds on the path to the first streamed token.
    env = SandboxedEnvironment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined,
                               autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                               auto_reload=False)
    env.filters["json"] = _compact_json
    env.filters["delimit"] = delimit
    return env


@lru_cache(maxsize=64)
def _compiled(directory: Path, sha256: str, source: str) -> Template:
    """Compile a prompt body once (keyed by its hash), not on every render."""
    return _environment(directory).from_string(source)


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, pattern=r"^[0-9A-Za-z._-]+$")
    description: str = Field(min_length=1)
    variables: dict[str, str] = Field(default_factory=dict)


class PromptTemplate(BaseModel):
    """One prompt file: ``render(**variables)`` needs exactly the declared variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    description: str
    variables: dict[str, str]
    source: str
    sha256: str  # of the file and every partial it includes
    directory: Path

    @property
    def ref(self) -> str:
        """What revisions record: the declared version and the file's short hash, e.g. ``2#1f0c9a3b``."""
        return f"{self.version}#{self.sha256[:8]}"

    def render(self, **variables: Any) -> str:
        missing = sorted(set(self.variables) - set(variables))
        unknown = sorted(set(variables) - set(self.variables))
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown {', '.join(unknown)}")
            raise PromptError(f"prompt {self.name!r}: {'; '.join(parts)} (declared: "
                              f"{', '.join(sorted(self.variables)) or 'none'})",
                              prompt=self.name, missing=missing, unknown=unknown)
        try:
            return _compiled(self.directory, self.sha256, self.source).render(**variables).strip() + "\n"
        except UndefinedError as exc:  # e.g. an attribute missing on a variable's value
            raise PromptError(f"prompt {self.name!r}: {exc.message}", prompt=self.name) from exc


def _parse(name: str, path: Path) -> PromptTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"no prompt named {name!r} (looked for {path})", prompt=name, file=str(path)) from exc
    match = _HEADER.match(text)
    if match is None:
        raise PromptError(f"prompt {name!r} must start with a '---' YAML header", prompt=name, file=str(path))
    try:
        header = _Header.model_validate(yaml.safe_load(match.group(1)) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise PromptError(f"prompt {name!r} has a bad header: {exc}", prompt=name, file=str(path)) from exc
    body = text[match.end():]
    env = _environment(path.parent)
    digest = hashlib.sha256(text.encode("utf-8"))
    used: set[str] = set()
    pending, seen = [(path.name, body)], set()
    while pending:  # the template and, transitively, the partials it includes
        file_name, source = pending.pop()
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as exc:
            raise PromptError(f"prompt {name!r}: {file_name} line {exc.lineno}: {exc.message}",
                              prompt=name, file=str(path.parent / file_name)) from exc
        used |= meta.find_undeclared_variables(ast)
        for included in meta.find_referenced_templates(ast):
            if included is None or included in seen:
                continue
            seen.add(included)
            try:
                partial = env.loader.get_source(env, included)[0]  # type: ignore[union-attr]
            except TemplateNotFound as exc:
                raise PromptError(f"prompt {name!r} includes {included!r}, which does not exist",
                                  prompt=name, file=str(path)) from exc
            digest.update(partial.encode("utf-8"))
            pending.append((included, partial))
    undeclared, unused = sorted(used - set(header.variables)), sorted(set(header.variables) - used)
    if undeclared or unused:
        raise PromptError(f"prompt {name!r}: header and body disagree (used but not declared: "
                          f"{', '.join(undeclared) or 'none'}; declared but not used: {', '.join(unused) or 'none'})",
                          prompt=name, file=str(path), missing=undeclared, unknown=unused)
    return PromptTemplate(name=name, version=header.version, description=header.description,
                          variables=header.variables, source=body, sha256=digest.hexdigest(),
                          directory=path.parent)


@lru_cache(maxsize=64)
def _load(name: str, directory: Path) -> PromptTemplate:
    return _parse(name, directory / f"{name}{SUFFIX}")


def load_prompt(name: str, *, directory: Path | None = None) -> PromptTemplate:
    """The prompt file ``prompts/<name>.j2`` as a typed template (cached; files are part of the release)."""
    if not _NAME.match(name):
        raise PromptError(f"bad prompt name {name!r}: lower-case letters, digits and '_' only", prompt=name)
    return _load(name, (directory or PROMPTS_DIR).resolve())


def prompt_names(directory: Path | None = None) -> list[str]:
    """Loadable prompts (partials, named ``_*.j2``, are only included by them)."""
    return sorted(p.name[: -len(SUFFIX)] for p in (directory or PROMPTS_DIR).glob(f"*{SUFFIX}")
                  if not p.name.startswith("_"))
