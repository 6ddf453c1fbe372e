"""fallbacks: every merge field has a fallback, and every variant renders cleanly for
generated edge-case contacts and the caller's sample contacts (no raw merge syntax,
"None", "Hi ,", broken URLs, escaped-HTML leaks, sandbox escapes or wrong locale)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from copilot.plan import PROSE_FIELD_NAMES
from copilot.render import (
    RenderedFields,
    clean_value,
    merge_context,
    render_fields,
    template_info,
    variant_names,
)
from copilot.rules import guaranteed_fields, pinned_values
from copilot.text import language_of, name_problem
from guards.context import VariantContext, template_tag_spans
from guards.finding import Code, Finding, Guard
from guards.profiles import UNKNOWN_REGION, Profile, edge_profiles, is_name_field, is_region_field

__all__ = ["GUARD", "RAW_MERGE", "EMPTY_SALUTATION"]

MISSING_FALLBACK = Code("FB_MISSING_FALLBACK", "fallbacks", "block",
                        "A merge field has no fallback for contacts without a value")
TEMPLATE_ERROR = Code("FB_TEMPLATE_ERROR", "fallbacks", "block", "The copy template does not compile or render",
                      lowerable=False)
SANDBOX = Code("FB_SANDBOX_VIOLATION", "fallbacks", "block",
               "The copy reaches beyond merge fields (attributes, calls, loops): refused by the sandbox",
               lowerable=False)
EXPRESSION = Code("FB_NOT_A_MERGE_FIELD", "fallbacks", "block",
                  "An output computes a value ({{ 7+7 }}, arithmetic, a constant) instead of showing a merge field")
TEMPLATE_LIMIT = Code("FB_TEMPLATE_LIMIT", "fallbacks", "block",
                      "The template is beyond the language's limits (size, nesting, loops, output, render time)",
                      lowerable=False)
RAW_MERGE = Code("FB_RAW_MERGE_SYNTAX", "fallbacks", "block",
                 "Merge syntax would reach the inbox as text", lowerable=False)
NULL_LITERAL = Code("FB_NULL_LITERAL", "fallbacks", "block", 'A rendered field shows "None", "null", "nan" ...',
                    lowerable=False)
EMPTY_SALUTATION = Code("FB_EMPTY_SALUTATION", "fallbacks", "block",
                        'A greeting renders with nothing after it ("Hi ,")')
SPACING = Code("FB_SPACING", "fallbacks", "warn", "A render leaves doubled spaces or a space before punctuation")
EMPTY_SUBJECT = Code("FB_EMPTY_SUBJECT", "fallbacks", "block", "The subject renders empty", lowerable=False)
BAD_CTA_URL = Code("FB_BAD_CTA_URL", "fallbacks", "block", "The CTA URL is not a valid http(s) URL after rendering",
                   lowerable=False)
UNESCAPED_HTML = Code("FB_UNESCAPED_HTML", "fallbacks", "block",
                      "The rendered HTML has a tag or attribute the copy cannot produce safely", lowerable=False)
PRINTED_STRUCTURE = Code("FB_PRINTED_STRUCTURE", "fallbacks", "block",
                         "A render prints a list or mapping as Python writes it (['road', 'trail'])",
                         lowerable=False)
RAW_VALUE = Code("FB_RAW_VALUE", "fallbacks", "warn",
                 "A render prints a raw ISO date or an unrounded number (2026-05-01, 1234.5678)")
NAME_AS_IS = Code("FB_NAME_AS_IS", "fallbacks", "warn",
                  "A name is printed as stored: all capitals, an e-mail address or junk greets the reader as it is")
PLACEHOLDER_FALLBACK = Code("FB_PLACEHOLDER_FALLBACK", "fallbacks", "block",
                            "A fallback is an unfilled placeholder ([Name], FNAME, First Name) every reader "
                            "without the value sees")
GENERIC_FALLBACK = Code("FB_GENERIC_FALLBACK", "fallbacks", "warn",
                        "A name's fallback is a form-letter word (Customer, Valued member, Cliente)")
LOCALE_MISMATCH = Code("FB_LOCALE_MISMATCH", "fallbacks", "block",
                       "The variant's language does not match its recipients")
REGION_LINE = Code("FB_REGION_LINE", "fallbacks", "warn",
                   "A line about the reader's country or region reads wrong for a country it did not expect")
LOCALE_DEFAULT = Code("FB_LOCALE_DEFAULT", "fallbacks", "warn",
                      "Some recipients read another of the brand's languages and get the default-language copy")

# Merge syntax of other tools, and Jinja's own, as it would show if left unrendered.
_RAW_MERGE = re.compile(
    r"\{\{|\}\}|\{%|%\}|\{#|#\}|\*\|[A-Za-z_:]+\|\*|%%[A-Za-z_ ]+%%|\$\{[A-Za-z_.]+\}"
    r"|(?<![{\w])\{[A-Za-z_][A-Za-z0-9_]*\}(?!\})"
    r"|\[(?:[A-Z][A-Za-z]*|FNAME|LNAME)(?:[ _][A-Z][A-Za-z]*)*\](?!\()")
_NULL_WORD = re.compile(r"(?<![\w-])(None|null|undefined|NaN|nan|\[object Object\])(?![\w-])")
_GREETINGS = (r"hi|hello|hey|dear|hiya|howdy|hola|hallo|bonjour|ciao|good (?:morning|afternoon|evening)"
              r"|welcome(?: back)?|congrats|congratulations|thanks|thank you|happy birthday|guten tag|liebe[rs]?")
_GREETING_BEFORE_MERGE = re.compile(rf"(?i)\b(?:{_GREETINGS})\s*\{{\{{")
_EMPTY_GREETING = re.compile(rf"(?i)\b(?:{_GREETINGS})[ \t]*(?:[,;:.!?]|$)", re.M)
_MERGE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
# A greeting of up to four words before a merge output that ends its clause, in any language:
# "Hi {{ first_name }},", "Hola {{ nombre }}!", "Sehr geehrte Frau {{ last_name }},", "Hej {{ x }}".
_LEAD_BEFORE_MERGE = re.compile(r"^[ \t]*[¡¿]?((?:[^\W\d_]+[ \t]+){0,3}[^\W\d_]+)[ \t]*\{\{[^{}\n]{1,200}\}\}[ \t]*(?:[,!.:;]|$)",
                                re.M)
# Python's way of printing a list, tuple or mapping: ['a', 'b'], ('a',), {'k': 1}, [], {}.
_PY_STRUCTURE = re.compile(r"""[\[(]\s*(?:'[^'\n]{0,100}'|"[^"\n]{0,100}")\s*[,\])]|\{\s*(?:'[^'\n]{0,100}'|"[^"\n]{0,100}")\s*:"""
                           r"|\[\]|\{\}|\(\)")
_ISO_DATE = re.compile(r"(?<![\w-])\d{4}-[01]\d-[0-3]\d(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-][0-2]\d:?[0-5]\d)?)?(?![\w-])")
_LONG_DECIMAL = re.compile(r"(?<![\w.,])\d+\.\d{3,}(?![\w])")
# A fallback written inside a tag: first_name | fallback("there"), contact.city | default('x').
_FILTER_DEFAULT = re.compile(r"""(?<![\w.])(?:contact\.)?([A-Za-z_]\w*)\s*\|\s*(?:fallback|as_name|default|d)\s*\(\s*(["'])([^"'\n]{0,120})\2""")
_BRACKETED = re.compile(r"[\[{<(%*|]+\s*[^\W\d][\w .'-]{0,40}\s*[\]}>)%*|]+")
_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")
_SPACE_PUNCT = re.compile(r"(?<=\w) [,;:.!?](?=\s|$)", re.M)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w-]*)([^>]*)>")
_SAFE_TAGS = frozenset({"p", "a", "strong", "em", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "code",
                        "pre", "blockquote", "hr", "br", "img"})
_BAD_ATTR = re.compile(r"""(?i)\bon[a-z]+\s*=|\b(?:href|src)\s*=\s*["']?\s*(?:javascript|vbscript|data):|style\s*=""")


_ERROR_CODES = {"not_allowed": SANDBOX, "sandbox": SANDBOX, "expression": EXPRESSION, "limit": TEMPLATE_LIMIT}
_ERROR_FIXES = {
    SANDBOX.code: "Keep copy to the template language: merge fields with a fallback, contact.field, items[0], "
                  "the listed filters, if/else, set and for over a list (guards/README.md).",
    EXPRESSION.code: "Write the value itself as text, or show a merge field ({{ first_name | fallback(\"there\") }}).",
    TEMPLATE_LIMIT.code: "Simplify the template: fewer nested blocks and loops, shorter tags.",
}


def check_variant(ctx: VariantContext) -> list[Finding]:
    return list(_check(ctx))


def _check(ctx: VariantContext) -> Iterator[Finding]:
    variant = ctx.variant
    known: dict[tuple[str, str | None, str], Finding] = {}
    static_missing: set[str] = set()
    broken_fields: set[str] = set()
    rule = ctx.segment.rule if ctx.segment is not None else None
    # A value the segment rule guarantees (``first_name exists``, ``country = DE``) needs no fallback.
    guaranteed = guaranteed_fields(rule) if rule is not None else set()
    declared = {m.name for m in variant.merge_fields} | guaranteed
    seen_defaults: set[tuple[str, str]] = set()
    for m in variant.merge_fields:
        yield from _placeholder(ctx, m.name, m.fallback, None, None, seen_defaults)
        if m.name not in guaranteed:
            yield from _region_fallback(ctx, m.name, m.fallback, None, None)
    for spec, source in variant.copy_items():
        name = spec.name
        info = template_info(source, kind=spec.kind)
        if info.error is not None:
            broken_fields.add(name)
            code = _ERROR_CODES.get(info.error.context["kind"], TEMPLATE_ERROR)
            yield ctx.finding(code, field=name, span=_line_span(source, info.error.context.get("line")),
                              message=f"{name}: {info.error.message}", evidence={"error": info.error.message},
                              fix=_ERROR_FIXES.get(code.code, _ERROR_FIXES[SANDBOX.code]))
            continue
        for var in sorted(info.unguarded - declared - static_missing):
            static_missing.add(var)
            span = _find(source, var)
            yield ctx.finding(MISSING_FALLBACK, field=name, span=span, message=(
                f"merge field {var!r} in the {name} has no fallback: a contact without it breaks the send"),
                evidence={"merge_field": var},
                fix=f'Declare a fallback for {var} in merge_fields, or write {{{{ {var} | fallback("...") }}}}.')
        for start, end in template_tag_spans(source) if "|" in source else ():
            for m in _FILTER_DEFAULT.finditer(source, start, end):
                yield from _placeholder(ctx, m.group(1), m.group(3), name, (m.start(3), m.end(3)), seen_defaults)
                if m.group(1) not in guaranteed:
                    yield from _region_fallback(ctx, m.group(1), m.group(3), name, (m.start(3), m.end(3)))
        if name != "cta_url":
            for m in _RAW_MERGE.finditer(ctx.prose[name]):
                yield _remember(known, ctx.finding(
                    RAW_MERGE, field=name, span=m.span(), message=(
                        f"{m.group(0)!r} in the {name} is not a merge field here and will be sent as written"),
                    evidence={"match": m.group(0)}, fix="Use {{ field_name }} with a fallback."), m.group(0))
    yield from _check_locale(ctx)
    names = variant_names(variant)
    pinned = {n: p for n in names if rule is not None and (p := pinned_values(rule, n))}
    profiles = edge_profiles(names, ctx.workspace, guaranteed=guaranteed, pinned=pinned)
    profiles += [Profile(f"sample {i + 1}", contact, synthetic=False) for i, contact in enumerate(ctx.samples)
                 if _in_segment(contact, guaranteed, pinned)]
    by_context: dict[str, tuple[dict[str, Any], list[Profile]]] = {}
    for profile in profiles:
        context = merge_context(variant, profile.contact, names=names)
        key = repr(sorted(context.items()))
        by_context.setdefault(key, (context, []))[1].append(profile)
    merged: list[Finding] = []
    name_fields = sorted(n for n in names if is_name_field(n, ctx.workspace))
    # Placeholders already reported: their render's raw-merge finding would say it twice.
    placeholders = {v.strip() for f, v in seen_defaults if _placeholder_kind(f, v) == "placeholder"}
    for context, group in by_context.values():
        rendered = render_fields(variant, context)
        for finding in _check_render(ctx, rendered, group, static_missing, broken_fields, name_fields, guaranteed):
            key = (finding.code, finding.field, str(finding.evidence.get("match")))
            if finding.code == RAW_MERGE.code and finding.evidence.get("match") in placeholders:
                continue  # the placeholder fallback's own finding says it
            if key in known:  # same problem for another profile: one finding listing all of them
                known[key].evidence["profiles"] += [p for p in finding.evidence["profiles"]
                                                    if p not in known[key].evidence["profiles"]]
            else:
                known[key] = finding
                merged.append(finding)
    yield from merged


_GENERIC_WORDS: frozenset[str] | None = None


def _generic_words() -> frozenset[str]:
    global _GENERIC_WORDS
    if _GENERIC_WORDS is None:
        data = yaml.safe_load((Path(__file__).parent / "data" / "fallback_words.yaml").read_text(encoding="utf-8"))
        _GENERIC_WORDS = frozenset(" ".join(str(w).casefold().split()) for words in data.values() for w in words)
    return _GENERIC_WORDS


def _placeholder_kind(field: str, value: str, extra_generic: frozenset[str] = frozenset()) -> str | None:
    """'placeholder' for a fallback that is an unfilled template slot, 'generic' for a form-letter word
    standing in for a name, else None."""
    text = " ".join(value.split())
    if not text:
        return None
    squashed = re.sub(r"[^a-z]", "", text.casefold())
    field_words = re.sub(r"[^a-z]", "", field.casefold())
    if _BRACKETED.fullmatch(text) or _RAW_MERGE.search(text):
        return "placeholder"
    if squashed and squashed in {field_words, "name", "firstname", "lastname", "fullname", "fname", "lname",
                                 "yourname", "insertname", "placeholder", "xxx", "tbd", "todo"}:
        return "placeholder"
    if len(text) >= 3 and re.fullmatch(r"[A-Z][A-Z0-9_]+", text) and "_" in text or text in {"FNAME", "LNAME", "NAME"}:
        return "placeholder"
    word = text.casefold().strip(".,!")
    if word in _generic_words() or word in extra_generic:
        return "generic"
    # "Valued supporter", "Dear patron", "Estimado donante": a form-letter address, whatever the noun.
    if re.fullmatch(r"(?:valued|dear|esteemed|estimad[oa]|querid[oa]|geehrte[rs]?|liebe[rs]?|cher|chère)\s+\w+", word):
        return "generic"
    return None


def _customer_words(ctx: VariantContext) -> frozenset[str]:
    """What the brand calls its customers (brand.yaml customer_words: donors, members, runners), singular
    and plural: "Hi Donor" is as much a form letter as "Hi Customer"."""
    words = {w.casefold() for w in ctx.workspace.brand.customer_words}
    return frozenset(words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3})


def _placeholder(ctx: VariantContext, field: str, value: str, where: str | None, span: tuple[int, int] | None,
                 seen: set[tuple[str, str]]) -> Iterator[Finding]:
    kind = _placeholder_kind(field, value, _customer_words(ctx))
    if kind is None or (field, value) in seen:
        return
    if kind == "generic" and not is_name_field(field, ctx.workspace):
        return
    seen.add((field, value))
    place = f"in the {where}" if where else "in merge_fields"
    if kind == "placeholder":
        yield ctx.finding(PLACEHOLDER_FALLBACK, field=where, span=span, message=(  # type: ignore[arg-type]
            f"the fallback {value!r} for {field} ({place}) is a placeholder: every contact without {field} "
            f"reads {value!r}"), evidence={"merge_field": field, "fallback": value},
            fix='Use words a reader can see ("there", "friend"), or write the sentence without the field.')
    else:
        yield ctx.finding(GENERIC_FALLBACK, field=where, span=span, message=(  # type: ignore[arg-type]
            f"the fallback {value!r} for {field} ({place}) reads as a form letter (\"Hi {value}\")"),
            evidence={"merge_field": field, "fallback": value},
            fix='Greet without the name ("Hi there", "Hola", "Hallo") when it is missing.')


def _remember(known: dict[tuple[str, str | None, str], Finding], finding: Finding, match: str) -> Finding:
    known[(finding.code, finding.field, match)] = finding
    finding.evidence.setdefault("profiles", [])
    return finding


def _check_render(ctx: VariantContext, r: RenderedFields, group: list[Profile], static_missing: set[str],
                  broken_fields: set[str], name_fields: list[str], guaranteed: set[str] | frozenset[str] = frozenset()
                  ) -> Iterator[Finding]:
    labels = [p.name for p in group]
    synthetic = all(p.synthetic for p in group)

    def finding(code: Code, field: str, message: str, match: str | None = None, text: str = "",
                fix: str | None = None, **evidence: Any) -> Finding:
        ev: dict[str, Any] = {"profiles": list(labels), "match": match, **evidence}
        if synthetic and match is not None and text:
            at = text.find(match)
            ev["output"] = text[max(0, at - 30): at + len(match) + 30]
        return ctx.finding(code, field=field, message=message, evidence=ev, fix=fix)  # type: ignore[arg-type]

    for name, error in r.errors.items():
        kind = error.context.get("kind")
        if name in broken_fields or (kind == "undefined" and error.context.get("variable") in static_missing):
            continue
        if kind == "bad_url":
            yield finding(BAD_CTA_URL, name, f"for {_who(labels)}: {error.message}", match=error.message,
                          fix="Write a full https:// link; merge values in it are percent-encoded.")
        elif kind == "undefined":
            var = error.context.get("variable")
            why = (f" (the segment rule guarantees {var} is not blank, but a stored value the renderer refuses, such "
                   "as markup, template syntax, a null word or over 100 characters, still needs one)"
                   if var in guaranteed else "")
            yield finding(MISSING_FALLBACK, name, f"for {_who(labels)}: {error.message}{why}", match=var,
                          fix=f"Declare a fallback for {var} in merge_fields.")
        else:
            code = _ERROR_CODES.get(str(kind), TEMPLATE_ERROR)
            yield finding(code, name, f"for {_who(labels)}: {error.message}", match=error.message)
    if r.subject is not None and not r.subject.strip():
        yield finding(EMPTY_SUBJECT, "subject", f"the subject renders empty for {_who(labels)}", match="",
                      fix="Give the subject words that do not depend on a merge field.")
    texts = {name: r.text(name) for name in PROSE_FIELD_NAMES}
    french = ctx.variant.locale.lower().startswith("fr")  # French sets a space before ! ? : ;
    for name, text in texts.items():
        if not text:
            continue
        problems = _text_problems(ctx.source(name), ctx.prose[name], text, french)  # type: ignore[index]
        for code, match, what in problems:
            yield finding(code, name, f"the {name} {what} for {_who(labels)}", match, text, fix=_FIXES[code.code])
    codes = _enum_codes(ctx)
    for name, text in texts.items() if codes else ():
        shown = [c for c in codes if text and c in text and c not in ctx.prose[name]]  # type: ignore[index]
        if shown:
            yield finding(RAW_VALUE, name, f"the {name} prints the stored code {shown[0]!r} for {_who(labels)}",
                          shown[0], text, fix=("Turn the code into words: {% if x == \"" + shown[0] + "\" %}...{% endif %}, "
                                               "or leave it out of the copy."))
    if any(p.name == "unknown_region" for p in group):
        for name, text in texts.items():
            m = re.search(rf"(?<![\w-]){UNKNOWN_REGION}(?![\w-])", text or "")
            if m and not re.search(rf"(?<![\w-]){UNKNOWN_REGION}(?![\w-])", ctx.prose[name]):  # type: ignore[index]
                yield finding(REGION_LINE, name, (
                    f"the {name} prints the country or region code as stored for a reader from a country the copy "
                    f"did not expect: {text[max(0, m.start() - 30): m.end() + 10].strip()!r}"), UNKNOWN_REGION, text,
                    fix=_FIXES[REGION_LINE.code])
                break
    # Names as sample contacts really hold them ("JOHN", "jo@example.com", "asdf"), printed as stored.
    as_is = sorted({v for p in group if not p.synthetic for f in name_fields
                    if isinstance(v := clean_value(p.contact.get(f)), str) and name_problem(v)})
    for name, text in texts.items() if as_is else ():
        shown = [v for v in as_is if text and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text)]
        if shown:
            fields = ", ".join(name_fields)
            example = name_fields[0]
            yield finding(NAME_AS_IS, name, (
                f"the {name} prints {fields} as stored: {_who(labels)}, named {' or '.join(repr(v) for v in shown)}, "
                f"are greeted that way"), "name", text, fix=(
                f'Write {{{{ {example} | as_name("there") }}}}: all capitals print in title case, and an e-mail '
                "address or junk gets the fallback."), stored=shown, fields=name_fields)
    if r.body_html:
        problem = _unsafe_html(r.body_html)
        if problem:
            yield finding(UNESCAPED_HTML, "body", f"the body's HTML has {problem} for {_who(labels)}", problem,
                          r.body_html, fix="Remove raw HTML from the copy; Markdown covers links and emphasis.")


_FIXES = {
    RAW_MERGE.code: "Use {{ field_name }} with a fallback.",
    NULL_LITERAL.code: "Give the merge field a fallback; blank values never print.",
    EMPTY_SALUTATION.code: 'Give the name a fallback word ("there") or drop the greeting.',
    SPACING.code: "Put the space inside the fallback, or remove it.",
    PRINTED_STRUCTURE.code: 'Join a list for readers: {{ items | join(", ") }}, or show one item: {{ items[0] }}.',
    RAW_VALUE.code: "Write dates in words and round numbers (| round(2)), or leave the raw value out of the copy.",
    REGION_LINE.code: ("Write the line for the places it is true of ({% if country in [\"US\", \"CA\"] %}...{% endif %}) "
                       "or without the region; never print a stored country code."),
}


@lru_cache(maxsize=1)
def _place_names() -> frozenset[str]:
    """Country names and codes (CLDR, English), folded: a fallback that is one assumes a reader's country."""
    from babel import Locale

    names = {str(v).casefold() for v in Locale("en").territories.values()}
    codes = {str(k).casefold() for k in Locale("en").territories if str(k).isalpha() and len(str(k)) == 2}
    return frozenset(names | codes | {"usa", "uk", "america", "the us", "the uk", "the usa", "the states"})


def _region_fallback(ctx: VariantContext, field: str, value: str, where: str | None,
                     span: tuple[int, int] | None) -> Iterator[Finding]:
    """A region field's fallback that names one country: every reader without the value, wherever they
    live, is told they live there ("Free shipping to the US")."""
    if not is_region_field(field, ctx.workspace):
        return
    text = " ".join(value.split()).casefold().strip(".,!")
    bare = text[4:] if text.startswith("the ") else text
    if text in _place_names() or bare in _place_names():
        place = f"in the {where}" if where else "in merge_fields"
        yield ctx.finding(REGION_LINE, field=where, span=span, message=(  # type: ignore[arg-type]
            f"the fallback {value!r} for {field} ({place}) names one country: readers whose country is unknown "
            f"are told they live there"), evidence={"merge_field": field, "fallback": value},
            fix='Use a fallback that fits every reader ("your area"), or write the line only for the places it is true of.')


@lru_cache(maxsize=8192)
def _text_problems(source: str, prose: str, text: str, french: bool) -> tuple[tuple[Code, str, str], ...]:
    """(code, matched text, what is wrong) for one rendered field; cached, since most
    profiles render most fields identically. Cheap substring tests guard each regex."""
    out: list[tuple[Code, str, str]] = []
    if any(marker in text for marker in ("{", "}", "*|", "%%", "$", "[")):
        out += [(RAW_MERGE, m.group(0), f"shows {m.group(0)!r}") for m in _RAW_MERGE.finditer(text)]
    if any(word in text for word in ("None", "null", "undefined", "NaN", "nan", "object Object")):
        nulls = _NULL_WORD.findall(text)
        if len(nulls) > len(_NULL_WORD.findall(prose)):  # more than the copy itself says
            out.append((NULL_LITERAL, nulls[0], f"shows {nulls[0]!r}"))
    if any(c in text for c in "[({"):
        printed = _PY_STRUCTURE.findall(text)
        if len(printed) > len(_PY_STRUCTURE.findall(prose)):
            out.append((PRINTED_STRUCTURE, printed[0], f"prints a list or mapping as Python does ({printed[0]!r}...)"))
    if "-" in text or "." in text:
        raw = [m.group(0) for p in (_ISO_DATE, _LONG_DECIMAL) for m in p.finditer(text)]
        if raw and len(raw) > sum(1 for p in (_ISO_DATE, _LONG_DECIMAL) for _ in p.finditer(prose)):
            out.append((RAW_VALUE, raw[0], f"prints the raw value {raw[0]!r}"))
    empty_greeting = False
    if "{{" in source and _GREETING_BEFORE_MERGE.search(source):
        # more bare greetings than the copy itself writes ("Welcome back, $30 off" is the copy's own)
        own = len(_EMPTY_GREETING.findall(_MERGE_TAG.sub("X", source)))
        found = list(_EMPTY_GREETING.finditer(text))
        m = found[0] if len(found) > own else None
        if m:
            empty_greeting = True
            out.append((EMPTY_SALUTATION, m.group(0).strip(), f"greets with {m.group(0).strip()!r}"))
    if not empty_greeting and "{{" in source:
        for lead in dict.fromkeys(m.group(1) for m in _LEAD_BEFORE_MERGE.finditer(source)):
            m = re.search(rf"(?m)^[ \t]*[¡¿]?{re.escape(lead)}[ \t]*(?:[,!.:;]|$)", text)
            if m:
                empty_greeting = True
                out.append((EMPTY_SALUTATION, m.group(0).strip(), f"greets with {m.group(0).strip()!r}"))
                break
    if source.lstrip().startswith("{{") and text.lstrip()[:1] in {",", ";", ":", ".", "!", "?"}:
        empty_greeting = True
        out.append((EMPTY_SALUTATION, text.strip()[:12], f"starts with punctuation: {text.strip()[:40]!r}"))
    if not french and not empty_greeting:  # the empty greeting already explains the stray space
        checks = ((_DOUBLE_SPACE, "  " in text, "has doubled spaces"),
                  (_SPACE_PUNCT, any(f" {p}" in text for p in ",;:.!?"), "has a space before punctuation"))
        for pattern, worth_trying, what in checks:
            m = pattern.search(text) if worth_trying else None
            if m:
                excerpt = text[max(0, m.start() - 12): m.end() + 12].strip()
                out.append((SPACING, excerpt, f"{what}: {excerpt!r}"))
    return tuple(out)


@lru_cache(maxsize=4096)
def _unsafe_html(fragment: str) -> str | None:
    for m in _TAG.finditer(fragment):
        tag, attrs = m.group(2).lower(), m.group(3)
        if tag not in _SAFE_TAGS:
            return f"a <{tag}> tag"
        if _BAD_ATTR.search(attrs):
            return f"an unsafe attribute in <{tag}{attrs}>"
    return None


def _check_locale(ctx: VariantContext) -> Iterator[Finding]:
    locale = ctx.variant.locale
    brand_locales = ctx.workspace.brand.locales
    base = language_of(locale)
    if locale not in brand_locales and base not in brand_locales:
        yield ctx.finding(LOCALE_MISMATCH, message=(
            f"the variant's locale {locale!r} is not one of the brand's locales ({', '.join(brand_locales)})"),
            evidence={"locale": locale, "brand_locales": list(brand_locales)})
    segment = ctx.segment
    locale_field = ctx.workspace.role_field("locale")
    pinned = pinned_values(segment.rule, locale_field.name) if segment and locale_field else None
    mismatched = False
    if pinned is not None and base not in {language_of(p) for p in pinned}:
        mismatched = True
        yield ctx.finding(LOCALE_MISMATCH, message=(
            f"the variant is written for {locale!r} but segment {ctx.variant.segment!r} only holds "
            f"{', '.join(sorted(pinned))} speakers"), evidence={"locale": locale, "segment_locales": sorted(pinned)},
            fix="Write this variant in the segment's language, or change the segment rule.")
    # Readers of a language the segment has its own variant in get that variant, not this one.
    siblings = {language_of(v.locale) for v in ctx.plan.variants
                if v.segment == ctx.variant.segment and v.message == ctx.variant.message}
    default = language_of(ctx.workspace.brand.default_locale)
    if mismatched or (base != default and default in siblings):
        return  # said above; or readers with no copy of their own get the default-language variant, checked there
    covered = siblings - {base}
    others = sorted({str(c.get("locale")) for c in ctx.samples if c.get("locale")
                     and language_of(str(c.get("locale"))) not in covered | {base}})
    if not others:
        return
    count = sum(1 for c in ctx.samples if str(c.get("locale") or locale) in others)
    # The brand's default language is the designed fallback for every reader the segment has no
    # copy for (another brand language, or one the brand does not write at all): a reviewer should
    # know (warn), it is not broken. Copy in a non-default language read by others is a mismatch (block).
    as_fallback = base == default
    yield ctx.finding(LOCALE_DEFAULT if as_fallback else LOCALE_MISMATCH, message=(
        f"{count} of {len(ctx.samples)} sample contacts of {ctx.variant.segment!r} read {', '.join(others)}, "
        f"not {locale!r}" + (" (they get this default-language copy)" if as_fallback else "")),
        evidence={"locale": locale, "sample_locales": others},
        fix="Add a variant per language, or restrict the segment by locale.")



def _enum_codes(ctx: VariantContext) -> tuple[str, ...]:
    """Values of the variant's enum fields written as codes (snake_case: kids_meals, unlimited_monthly)."""
    names = variant_names(ctx.variant)
    return tuple(sorted({v for n in names if (f := ctx.workspace.field(n)) is not None and f.type == "enum"
                         for v in f.values if "_" in v}))


def _in_segment(contact: Any, guaranteed: set[str], pinned: dict[str, set[str]]) -> bool:
    """Whether a sample contact can be a recipient as far as the rule's guarantees go (a sample with no
    value for a field the rule requires is not one of this segment's readers)."""
    for name in guaranteed:
        value = contact.get(name)
        if value is None or (isinstance(value, str) and not value.strip(" ")):
            return False
        if name in pinned and str(value) not in pinned[name]:
            return False
    return True


def _who(labels: list[str]) -> str:
    shown = ", ".join(labels[:3])
    return f"contacts like {shown}" + (f" (+{len(labels) - 3} more)" if len(labels) > 3 else "")


def _find(source: str, name: str) -> tuple[int, int] | None:
    m = re.search(rf"\b{re.escape(name)}\b", source)
    return m.span() if m else None


def _line_span(source: str, line: int | None) -> tuple[int, int] | None:
    if not line:
        return None
    start = 0
    for _ in range(line - 1):
        nl = source.find("\n", start)
        if nl < 0:
            return None
        start = nl + 1
    end = source.find("\n", start)
    return (start, len(source) if end < 0 else end)


GUARD = Guard(
    name="fallbacks",
    description="Merge fields have fallbacks; edge-case and sample contacts render cleanly in the right language.",
    codes=(MISSING_FALLBACK, TEMPLATE_ERROR, SANDBOX, EXPRESSION, TEMPLATE_LIMIT, RAW_MERGE, NULL_LITERAL, EMPTY_SALUTATION, SPACING,
           EMPTY_SUBJECT, BAD_CTA_URL, UNESCAPED_HTML, PRINTED_STRUCTURE, RAW_VALUE, NAME_AS_IS, PLACEHOLDER_FALLBACK,
           GENERIC_FALLBACK, LOCALE_MISMATCH, LOCALE_DEFAULT, REGION_LINE),
    check_variant=check_variant,
)
