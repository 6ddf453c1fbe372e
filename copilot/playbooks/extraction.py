"""Keep the playbook catalogs in step with the playbooks' English copy (scripts/extract_playbook_strings.py).

Every string the offline copywriter translates is collected: each message's subject(s), preheader(s),
body paragraphs, CTA(s) and merge-field fallbacks (variant A and B), and each segment's ``lines`` and
their fallbacks, into ``locales/<lang>/<playbook>.po``; the copywriter's own patterns (offer wording,
the code and end-date sentences, the newsletter's period words) into ``locales/<lang>/common.po``.
Updating keeps every translation already written; a string the playbook no longer has is kept as an
obsolete entry (``#~``) so a reworded line's old translation is still at hand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from copilot.playbooks.catalogs import LOCALES_DIR, language_neutral
from copilot.playbooks.library import PLAYBOOK_DIR, load_playbooks
from copilot.playbooks.schema import CopyOverride, CopySpec, Playbook

__all__ = ["COMMON", "Entry", "catalog_path", "common_strings", "main", "playbook_strings", "untranslated",
           "update_catalogs"]

COMMON = "common"  # the catalog of the planner's own strings
_TEXT_FIELDS = ("subject", "subject_with_offer", "subject_plain", "preheader", "preheader_with_offer", "cta",
                "cta_with_offer")


@dataclass
class Entry:
    """One translatable string: its English text, optional gettext context and where it is used."""

    text: str
    context: str | None = None
    where: list[str] = field(default_factory=list)
    note: str = ""


def _add(out: dict[tuple[str | None, str], Entry], text: str | None, where: str, context: str | None = None,
         note: str = "") -> None:
    if not text or language_neutral(text):
        return
    entry = out.setdefault((context, text), Entry(text, context, note=note))
    entry.where.append(where)


def playbook_strings(book: Playbook) -> list[Entry]:
    """Every copy string of ``book`` the copywriter passes through the catalogs, in file order."""
    out: dict[tuple[str | None, str], Entry] = {}
    for m in book.messages:
        for key, spec in (("copy", m.copy_a), ("variant_b", m.variant_b)):
            if spec is None:
                continue
            where = f"{m.key}.{key}"
            for name in _TEXT_FIELDS:
                _add(out, getattr(spec, name, None), f"{where}.{name}")
            if isinstance(spec, CopySpec):
                for i, para in enumerate(spec.body):
                    _add(out, para, f"{where}.body[{i}]")
            assert isinstance(spec, CopySpec | CopyOverride)
            for merge_name, fallback in spec.merge.items():
                _add(out, fallback, f"{where}.merge.{merge_name}",
                     note=f"what {{{{ {merge_name} }}}} reads when a contact has none")
    for s in book.segments:
        for key, line in s.lines.items():
            _add(out, line, f"segments.{s.key}.lines.{key}")
        for merge_name, fallback in s.merge.items():
            _add(out, fallback, f"segments.{s.key}.merge.{merge_name}",
                 note=f"what {{{{ {merge_name} }}}} reads when a contact has none")
    return list(out.values())


def common_strings() -> list[Entry]:
    """The strings the copywriter's code writes itself (offer wording, period words)."""
    from copilot.planner.copywriter import (
        PLANNER_STRINGS,  # the planner imports the catalogs, not the reverse
    )

    out: dict[tuple[str | None, str], Entry] = {}
    for text, context, note in PLANNER_STRINGS:
        _add(out, text, "PLANNER_STRINGS", context, note)
    return list(out.values())


def catalog_path(lang: str, name: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / lang / f"{name}.po"


def _sources(folder: Path) -> list[tuple[str, str, list[Entry]]]:
    """(catalog name, source file, entries) for every playbook in ``folder`` and the common catalog."""
    books = sorted(load_playbooks(folder), key=lambda b: b.id)
    return [(COMMON, "copilot/planner/copywriter.py", common_strings())] + [
        (b.id, f"copilot/playbooks/{b.id}.yaml", playbook_strings(b)) for b in books]


def _read(path: Path, lang: str) -> Catalog | None:
    if not path.exists():
        return None
    with path.open("rb") as handle:
        try:
            return read_po(handle, locale=lang, abort_invalid=True)
        except Exception as exc:  # a broken catalog is named, never overwritten
            raise SystemExit(f"{path}: not a valid .po file: {exc}") from exc


def _render(lang: str, name: str, source: str, entries: list[Entry], old: Catalog | None) -> bytes:
    catalog = Catalog(locale=lang, project="campaign-copilot", domain=name, fuzzy=False,
                      header_comment=f"# {lang} translations of {source}\n"
                                     "# Kept in step by scripts/extract_playbook_strings.py; keep every "
                                     "[[placeholder]],\n# {{ merge field }} and {format field} as in the English.")
    if old is not None:
        catalog.creation_date = old.creation_date
        catalog.revision_date = old.revision_date
    wanted = set()
    for e in entries:
        before = old.get(e.text, e.context) if old is not None else None
        string = before.string if before is not None and isinstance(before.string, str) else ""
        comments = [e.note] if e.note else []
        message = catalog.add(e.text, string, locations=[(f"{source}#{w}", None) for w in e.where],
                              auto_comments=comments, context=e.context)
        if message is not None:  # "{value}% off" is no printf pattern, whatever Babel guesses
            message.flags.discard("python-format")
        wanted.add((e.context, e.text))
    if old is not None:
        for m in old:
            if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string \
                    and (m.context, m.id) not in wanted:
                catalog.obsolete[(m.id, m.context) if m.context else m.id] = m  # type: ignore[index]
        for key, m in old.obsolete.items():
            if (m.context, m.id) not in wanted and key not in catalog.obsolete:
                catalog.obsolete[key] = m
    buf = BytesIO()
    write_po(buf, catalog, width=0, include_lineno=False)
    return buf.getvalue()


def _strip_dates(data: bytes) -> bytes:
    return b"\n".join(line for line in data.split(b"\n") if b"-Date:" not in line)


def update_catalogs(langs: Sequence[str], folder: Path = PLAYBOOK_DIR, locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Write or update every catalog of ``langs``; return the files whose content changed."""
    from datetime import UTC, datetime

    changed = []
    for lang in langs:
        for name, source, entries in _sources(folder):
            path = catalog_path(lang, name, locales_dir)
            old = _read(path, lang)
            data = _render(lang, name, source, entries, old)
            if path.exists() and _strip_dates(path.read_bytes()) == _strip_dates(data):
                continue
            if old is not None:  # content changed: a new revision date
                old.revision_date = datetime.now(UTC)
                data = _render(lang, name, source, entries, old)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(path)
    return changed


def untranslated(langs: Sequence[str], folder: Path = PLAYBOOK_DIR, locales_dir: Path = LOCALES_DIR) -> list[str]:
    """'<lang>/<catalog>.po: <string>' for every string of every playbook with no translation in ``langs``."""
    out = []
    for lang in langs:
        for name, _, entries in _sources(folder):
            path = catalog_path(lang, name, locales_dir)
            catalog = _read(path, lang)
            for e in entries:
                m = catalog.get(e.text, e.context) if catalog is not None else None
                if m is None or not m.string or m.fuzzy:
                    ctx = f" [{e.context}]" if e.context else ""
                    out.append(f"{lang}/{name}.po: {e.text!r}{ctx}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lang", action="append", dest="langs", metavar="LANG",
                        help="a language to write catalogs for (repeatable); default: every language that has "
                             "a folder in copilot/playbooks/locales")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every string without a translation")
    args = parser.parse_args(argv)
    langs = args.langs or sorted(p.name for p in LOCALES_DIR.glob("*") if p.is_dir())
    if not langs:
        parser.error("no language: pass --lang (e.g. --lang es --lang de --lang fr)")
    if args.check:
        missing = untranslated(langs)
        for line in missing:
            print(line)
        print(f"{len(missing)} string(s) without a translation in {', '.join(langs)}", file=sys.stderr)
        return 1 if missing else 0
    for path in update_catalogs(langs):
        print(f"wrote {path}")
    return 0
