"""Playbook copy in other languages: gettext catalogs (copilot/playbooks/locales/<lang>/<playbook>.po,
one per playbook and language, plus ``common.po`` for the planner's own lines) read with Babel.

A catalog maps each English copy string of the playbooks, exactly as written, to its translation
with the same [[placeholders]] and {{ merge fields }}. A string with no translation stays English
and the planner says so; English needs no catalog.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["LOCALES_DIR", "catalog_languages", "translate"]

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def _lang(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower()


@lru_cache(maxsize=16)
def _catalog(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        out.update({m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string})
    return out


def catalog_languages() -> list[str]:
    """Languages the playbook copy is translated into (besides English)."""
    return sorted(p.name for p in LOCALES_DIR.glob("*") if p.is_dir() and any(p.glob("*.po")))


def translate(text: str, locale: str) -> str | None:
    """``text`` in ``locale``'s language; the text itself for English; None when not translated."""
    lang = _lang(locale)
    if lang == "en" or not text.strip():
        return text
    return _catalog(lang).get(text)
