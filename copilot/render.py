"""Render a copy variant for one contact: sandboxed merge fields, Markdown to HTML, a text part.

Used by the guards (edge-case renders), UI previews and delivery, so every path renders
the same way (which is why the sandbox, the fallbacks and the message parts live together,
longer than most modules). Copy templates are a deliberately small language (documented in
guards/README.md, "The copy template language"): merge fields (``{{ first_name }}``,
``{{ contact.city }}``, ``{{ items[0] }}``), the common filters (``fallback``, ``as_name``, ``join``,
``first``, ``length``, ``default``, ``title`` ...), ``if`` / ``else``, ``set`` and ``for`` over a list.
Calls, methods, underscored names, includes, macros and arithmetic are refused before anything
runs (``RenderError`` kinds ``not_allowed`` and ``expression``); size and nesting are checked on
Jinja's tokens before its parser (which recurses) sees them, and output size and time while
rendering (kind ``limit``). What does run runs in Jinja2's ``ImmutableSandboxedEnvironment``, whose
attribute and item look-ups here reach data only (mapping keys, list items, loop counters).

Fallbacks. A declared merge field (``Variant.merge_fields``) or the ``fallback`` filter
replaces a value that is *unusable*: missing, None, NaN, empty, whitespace-only,
punctuation-only, a null word from a bad import ("None", "null", "undefined", "nan",
"n/a"), longer than ``MAX_VALUE_LENGTH``, or hostile (HTML tags, template or legacy
merge syntax such as ``{{``, ``*|FNAME|*``, ``%%Name%%``). This differs from Jinja's
``default``: ``default(x)`` replaces only an *undefined* value (and with
``boolean=True`` every falsy one, including 0 and False, but still not "   " or
"None"). ``fallback`` keeps 0 and False, and replaces the blank and hostile values above.

Escaping. Contact values are data, never template code or Markdown. The body's template
is rendered with each merge output replaced by a placeholder, the Markdown is converted
once (HTML disabled, so raw HTML written in copy comes out escaped), and the values are
then put in as HTML-escaped text (percent-encoded inside link URLs): a value can add no
link, emphasis or tag. In the CTA URL values are percent-encoded; the URL must be http(s)
with a host after rendering. Compiled templates and Markdown conversions are cached by
their source text, so rendering one variant for many contacts parses its Markdown once.
"""

from __future__ import annotations

import html
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import (
    Environment,
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markdown_it import MarkdownIt

from copilot.errors import RenderError
from copilot.plan import COPY_FIELD_BY_NAME, COPY_FIELD_NAMES, COPY_FIELDS, CopyFieldName, Variant
from copilot.text.names import tidy_name
from copilot.workspace import Workspace

__all__ = [
    "MAX_VALUE_LENGTH",
    "MAX_TEMPLATE_CHARS",
    "MAX_NESTING",
    "MAX_LOOP_NESTING",
    "MAX_OUTPUT_CHARS",
    "NAMESPACE",
    "as_name",
    "ALLOWED_FILTERS",
    "RenderedEmail",
    "RenderedFields",
    "render_fields",
    "render_variant",
    "render_field",
    "render_body",
    "fill_slots",
    "merge_context",
    "merge_plan",
    "MergePlan",
    "variant_names",
    "markdown_to_html_text",
    "template_variables",
    "template_info",
    "merge_parts",
    "TemplateInfo",
    "field_kind",
    "check_template",
    "clean_value",
    "is_blank",
    "fallback",
    "validate_url",
    "build_message",
    "email_html",
    "email_text",
    "footer_labels",
    "FOOTER_LABELS",
    "EMAIL_CSS",
]

CopyField = CopyFieldName
MAX_VALUE_LENGTH = 100
# The copy template language (documented in guards/README.md, "The copy template language").
ALLOWED_FILTERS = frozenset({
    "fallback", "as_name", "default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "round",
    "int", "float", "string", "join", "first", "last", "length", "count", "map", "list", "unique", "min", "max",
    "abs", "wordcount",
})
_ALLOWED_TESTS = frozenset({
    "defined", "undefined", "none", "number", "string", "eq", "ne", "lt", "le", "gt", "ge", "in", "true", "false",
    "boolean", "integer", "float", "mapping", "sequence", "odd", "even", "lower", "upper",
})
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter, nodes.Test,
    nodes.If, nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Compare,
    nodes.Operand, nodes.Concat, nodes.List, nodes.Tuple, nodes.Keyword, nodes.Getattr, nodes.Getitem,
    nodes.Slice, nodes.For, nodes.Assign, nodes.AssignBlock,
)
# Arithmetic is not part of copy: '{{ 7 + 7 }}' prints 14, which no reader of the template expects.
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)
# Limits that keep a hostile template cheap: checked on the tokens before Jinja parses anything
# (its parser recurses once per nested block or bracket), then on the tree, then while rendering.
MAX_TEMPLATE_CHARS = max(f.max_chars for f in COPY_FIELDS)
MAX_NESTING = 12  # blocks ({% if %}, {% for %}, {% set %}...{% endset %}) inside one another
MAX_LOOP_NESTING = 2  # {% for %} inside {% for %}
MAX_BRACKETS = 8  # (), [] inside one tag
MAX_TAG_TOKENS = 100  # names, operators and values inside one {{ }} or {% %}
MAX_TREE_DEPTH = 60
MAX_LIST_ITEMS = 50  # items of a list (or keys of a mapping) a template can read from a contact value
MAX_OUTPUT_CHARS = 2 * MAX_TEMPLATE_CHARS  # one field rendered for one contact
MAX_RENDER_SECONDS = 1.0  # a safety net only: the limits above keep every render far below it
# `{{ contact.city }}` reads the catalog field city (the same as `{{ city }}`).
NAMESPACE = "contact"
_LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem",
                              "nextitem"})
_BLOCK_OPENERS = frozenset({"if", "for", "macro", "call", "filter", "block", "with", "autoescape", "trans"})
_NULL_WORDS = frozenset({"none", "null", "undefined", "nan", "n/a", "na", "nil", "[object object]"})
# Template syntax of Jinja and of the merge languages marketers paste from other tools.
_HOSTILE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|\*\|[^|]*\|\*|%%[^%]*%%|<\s*/?\s*[A-Za-z!?]|\$\{")
# Control and bidi-override characters, and the private-use pair used as placeholders.
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2066-\u2069\ufeff\ue000\ue001]")
_RAW_SLOT = re.compile(r"\ue000(\d+)\ue001")
_SLOT = re.compile(r"\ue000(\d+)\ue001|%EE%80%80(\d+)%EE%80%81")
_ALNUM = re.compile(r"[^\W_]")
_URL_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def clean_value(value: Any, _depth: int = 0) -> Any:
    """The value as merged into copy, or None when it is unusable (see the module docstring).
    Lists and mappings keep their usable items (at most MAX_LIST_ITEMS); an empty one is unusable."""
    if value is None or isinstance(value, Undefined):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float | Decimal):
        return None if (math.isnan(value) if isinstance(value, float) else value.is_nan()) else value
    if isinstance(value, str):
        return _clean_text(value)
    if _depth < 2 and isinstance(value, Mapping):
        items = {k: clean_value(v, _depth + 1) for k, v in list(value.items())[:MAX_LIST_ITEMS]
                 if isinstance(k, str) and not k.startswith("_")}
        kept = {k: v for k, v in items.items() if v is not None}
        return kept or None
    if _depth < 2 and isinstance(value, list | tuple | set | frozenset):
        kept_items = [v for v in (clean_value(x, _depth + 1) for x in list(value)[:MAX_LIST_ITEMS]) if v is not None]
        return tuple(kept_items) or None
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return None  # nested deeper than copy reads
    return value


@lru_cache(maxsize=65536)
def _clean_text(value: str) -> str | None:
    """clean_value for a string; cached, since delivery cleans the same first names and cities for
    many contacts (bounded, so memory stays flat)."""
    text = " ".join(_CONTROL.sub(" ", value).split())
    if (not text or len(text) > MAX_VALUE_LENGTH or text.lower() in _NULL_WORDS
            or not _ALNUM.search(text) or _HOSTILE.search(text)):
        return None
    return text


def is_blank(value: Any) -> bool:
    """True when a fallback must replace the value."""
    return clean_value(value) is None


def fallback(value: Any, default: str = "") -> Any:
    """Jinja filter: ``{{ first_name | fallback("there") }}``; see the module docstring."""
    cleaned = clean_value(value)
    return default if cleaned is None else cleaned


def as_name(value: Any, default: str = "") -> Any:
    """Jinja filter for a person's name: ``{{ first_name | as_name("there") }}``. Like ``fallback``, and
    an e-mail address or junk ("asdf", "x", "test123") is replaced too, and all capitals print in title
    case ("JOHN" -> "John"); see copilot.text.names."""
    cleaned = clean_value(value)
    if not isinstance(cleaned, str):
        return default if cleaned is None else cleaned
    tidy = tidy_name(cleaned)
    return default if tidy is None else tidy


class _CopyUndefined(StrictUndefined):
    """A missing value: printing, iterating or measuring it raises (the guard names the field), but
    ``{% if first_name %}`` may test it, so a condition is a fallback too."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


def _finalize_text(value: Any) -> str:
    return "" if value is None else str(value)


@pass_context
def _finalize_slot(context: Any, value: Any) -> str:
    """Body outputs become numbered placeholders; the values go in after Markdown."""
    values = context.get("_slots")
    text = "" if value is None else str(value)
    if "\ue000" in text:  # a {% set %} block captured earlier outputs: put their values back
        text = _RAW_SLOT.sub(lambda m: values[int(m.group(1))], text)
    values.append(text)
    return f"\ue000{len(values) - 1}\ue001"


def _finalize_url(value: Any) -> str:
    return quote("" if value is None else str(value), safe="")


class _CopyEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with the copy filters and one output escaping per field kind. Attributes and items
    read data only: a mapping's keys, a list's or a string's items and slices, a loop's counters.
    Nothing else (no method, no attribute of a Python object) is reachable."""

    def __init__(self, finalize: Any) -> None:
        super().__init__(undefined=_CopyUndefined, autoescape=False, keep_trailing_newline=True,
                         finalize=finalize, cache_size=0)
        self.filters["fallback"] = fallback
        self.filters["as_name"] = as_name
        # No globals (range, lipsum, dict, ...): copy reads merge fields only, and an empty
        # globals map also makes each render's context cheaper to build.
        self.globals.clear()

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(attribute, str) and not attribute.startswith("_"):
            if isinstance(obj, Mapping):
                if attribute in obj:
                    return obj[attribute]
            elif isinstance(obj, LoopContext) and attribute in _LOOP_ATTRIBUTES:
                return getattr(obj, attribute)
        return self.undefined(name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping):
            if isinstance(argument, str) and not argument.startswith("_") and argument in obj:
                return obj[argument]
        elif isinstance(obj, tuple | list | str) and (
                isinstance(argument, slice) or (isinstance(argument, int) and not isinstance(argument, bool))):
            try:
                return obj[argument]
            except (IndexError, ValueError, TypeError):
                pass
        return self.undefined(hint=f"item {argument!r} has no value")


_ENVIRONMENTS = {
    "text": _CopyEnvironment(_finalize_text),
    "markdown": _CopyEnvironment(_finalize_slot),
    "url": _CopyEnvironment(_finalize_url),
}


def _error(message: str, kind: str, line: int | None) -> RenderError:
    return RenderError(message, kind=kind, line=line, variable=None)


def _token_limits(env: Environment, source: str) -> RenderError | None:
    """Size and nesting, read from Jinja's tokens (no recursion) before its parser sees them."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return _error(f"the template is {len(source):,} characters; copy allows {MAX_TEMPLATE_CHARS:,}",
                      "limit", None)
    open_blocks: list[str] = []
    in_tag = False
    tag_tokens = brackets = 0
    first_name: str | None = None
    set_assigns = False
    try:
        for line, token, value in env.lexer.tokeniter(source, None):
            if token in ("block_begin", "variable_begin"):
                in_tag, tag_tokens, brackets, first_name, set_assigns = True, 0, 0, None, False
                continue
            if token in ("block_end", "variable_end"):
                in_tag = False
                if first_name in _BLOCK_OPENERS or (first_name == "set" and not set_assigns):
                    open_blocks.append(first_name)
                    if len(open_blocks) > MAX_NESTING:
                        return _error(f"blocks nest more than {MAX_NESTING} deep at line {line} "
                                      f"({len(open_blocks)} open {{% {first_name} %}} and others)", "limit", line)
                elif first_name and first_name.startswith("end") and open_blocks:
                    open_blocks.pop()
                continue
            if not in_tag or token == "whitespace":
                continue
            tag_tokens += 1
            if tag_tokens > MAX_TAG_TOKENS:
                return _error(f"a tag at line {line} holds more than {MAX_TAG_TOKENS} names, values and operators",
                              "limit", line)
            if tag_tokens == 1 and token == "name":
                first_name = value
            if token == "operator":
                if value in "([{":
                    brackets += 1
                    if brackets > MAX_BRACKETS:
                        return _error(f"brackets nest more than {MAX_BRACKETS} deep at line {line}", "limit", line)
                elif value in ")]}":
                    brackets -= 1
                elif value == "=" and brackets == 0:
                    set_assigns = True
    except TemplateSyntaxError:
        return None  # the parser reports it, with its message
    return None


def _describe(node: nodes.Node) -> str:
    names = {
        nodes.Call: "a function or method call", nodes.Macro: "a macro", nodes.Include: "include",
        nodes.Import: "import", nodes.FromImport: "import", nodes.Extends: "extends", nodes.Dict: "a dict literal",
        nodes.NSRef: "namespace assignment", nodes.FilterBlock: "a filter block", nodes.With: "with",
        nodes.CallBlock: "a call block", nodes.Block: "a block", nodes.Mul: "'*'", nodes.Pow: "'**'",
        nodes.Mod: "'%'", nodes.Div: "'/'", nodes.FloorDiv: "'//'", nodes.Add: "'+'", nodes.Sub: "'-'",
    }
    return names.get(type(node), f"'{type(node).__name__}'")


def _disallowed(ast: nodes.Template) -> tuple[str, int | None, str] | None:
    """(what, line, kind) of the first construct outside the copy language, or None. An iterative walk:
    the token limits bound the tree, and nothing here recurses."""
    stack: list[tuple[nodes.Node, int, int]] = [(ast, 0, 0)]  # node, loops around it, depth
    while stack:
        node, loops, depth = stack.pop()
        line = getattr(node, "lineno", None)
        if depth > MAX_TREE_DEPTH:
            return f"an expression nested more than {MAX_TREE_DEPTH} deep", line, "limit"
        if isinstance(node, _ARITHMETIC):
            return f"arithmetic ({_describe(node)})", line, "expression"
        if not isinstance(node, _ALLOWED_NODES):
            return _describe(node), line, "not_allowed"
        if isinstance(node, nodes.Filter):
            if node.name not in ALLOWED_FILTERS:
                return f"the filter '{node.name}'", line, "not_allowed"
            if node.name == "map" and (node.args or [k.key for k in node.kwargs] != ["attribute"]):
                return "map other than map(attribute='...')", line, "not_allowed"
        if isinstance(node, nodes.Test) and node.name not in _ALLOWED_TESTS:
            return f"the test '{node.name}'", line, "not_allowed"
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            return f"the name '{node.name}'", line, "not_allowed"
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            return f"the attribute '{node.attr}'", line, "not_allowed"
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and str(node.arg.value).startswith("_"):
            return f"the item {node.arg.value!r}", line, "not_allowed"
        if isinstance(node, (nodes.Filter, nodes.Test)) and (node.dyn_args or node.dyn_kwargs):
            return "*args / **kwargs", line, "not_allowed"
        if isinstance(node, (nodes.Neg, nodes.Pos)) and not isinstance(node.node, nodes.Const):
            return "arithmetic (a sign before a merge field)", line, "expression"
        if isinstance(node, nodes.For):
            if node.recursive:
                return "a recursive loop", line, "not_allowed"
            if loops + 1 > MAX_LOOP_NESTING:
                return f"loops nested more than {MAX_LOOP_NESTING} deep", line, "limit"
        inner = loops + isinstance(node, nodes.For)
        stack.extend((child, inner, depth + 1) for child in node.iter_child_nodes())
    return None


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.iter_child_nodes())


def _namespace_key(node: nodes.Node) -> str | None:
    """'city' for contact.city or contact['city']."""
    if isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name) \
            and node.node.name == NAMESPACE:
        if isinstance(node, nodes.Getattr):
            return node.attr
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return node.arg.value
    return None


def _root_field(node: nodes.Node, local: set[str]) -> str | None:
    """The merge field an expression reads through attributes and items: items for items[0].name."""
    while True:
        key = _namespace_key(node)
        if key is not None:
            return key
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            node = node.node
        elif isinstance(node, nodes.Name):
            return None if node.name in local or node.name == NAMESPACE else node.name
        else:
            return None


_GUARDING_FILTERS = frozenset({"fallback", "as_name", "default", "d"})


def _fields(ast: nodes.Template) -> tuple[frozenset[str], frozenset[str], bool] | tuple[str, int | None, str]:
    """(fields read, fields read somewhere unguarded, reads the contact namespace), or the problem
    (what, line, kind). Guarded: inside a fallback/default filter, an 'is defined' test, or an if (or
    inline if) whose condition reads the field."""
    local = {"loop"} | {n.name for n in _walk(ast) if isinstance(n, nodes.Name) and n.ctx in ("store", "param")}
    reads: set[str] = set()
    unguarded: set[str] = set()
    namespace = False
    stack: list[tuple[nodes.Node, frozenset[str]]] = [(ast, frozenset())]

    def fields_in(expr: nodes.Node | None) -> frozenset[str]:
        if expr is None:
            return frozenset()
        return frozenset(f for n in _walk(expr) if (f := _root_field(n, local)) is not None)

    def truth(expr: nodes.Node, when: bool) -> frozenset[str]:
        """Fields known to have a value where ``expr`` is ``when``."""
        field = _root_field(expr, local) if isinstance(expr, (nodes.Name, nodes.Getattr, nodes.Getitem)) else None
        if field is not None:
            return frozenset({field}) if when else frozenset()
        if isinstance(expr, nodes.Not):
            return truth(expr.node, not when)
        if isinstance(expr, nodes.And) and when or isinstance(expr, nodes.Or) and not when:
            return truth(expr.left, when) | truth(expr.right, when)
        if isinstance(expr, nodes.Test) and expr.name in {"defined", "undefined", "none"}:
            return fields_in(expr.node) if when == (expr.name == "defined") else frozenset()
        return frozenset()

    while stack:
        node, guarded = stack.pop()
        key = _namespace_key(node)
        if key is not None:
            namespace = True
            reads.add(key)
            if key not in guarded:
                unguarded.add(key)
            continue
        if isinstance(node, nodes.Name):
            if node.name == NAMESPACE:
                return (f"'{NAMESPACE}' on its own (write {NAMESPACE}.field_name)", node.lineno, "not_allowed")
            if node.ctx == "load" and node.name not in local:
                reads.add(node.name)
                if node.name not in guarded:
                    unguarded.add(node.name)
            continue
        if isinstance(node, (nodes.If, nodes.CondExpr)) and node.test is not None:
            # '{% if first_name %}' tests a missing value safely (it is false); the branch it guards
            # may print it. A comparison ('points > 5') of a missing value still fails.
            test = node.test
            stack.append((test, guarded | truth(test, True) | truth(test, False)))
            then, other = guarded | truth(test, True), guarded | truth(test, False)
            if isinstance(node, nodes.If):
                stack.extend((child, then) for child in node.body)
                stack.extend((child, other) for child in (*node.elif_, *node.else_))
            else:
                stack.append((node.expr1, then))
                if node.expr2 is not None:
                    stack.append((node.expr2, other))
            continue
        if (isinstance(node, nodes.Filter) and node.name in _GUARDING_FILTERS) or (
                isinstance(node, nodes.Test) and node.name in {"defined", "undefined", "none"}):
            inner = fields_in(node.node) if node.node is not None else frozenset()
            for child in node.iter_child_nodes():
                stack.append((child, guarded | inner if child is node.node else guarded))
            continue
        stack.extend((child, guarded) for child in node.iter_child_nodes())
    for output in (n for n in _walk(ast) if isinstance(n, nodes.Output)):
        for expr in output.nodes:
            if isinstance(expr, nodes.TemplateData):
                continue
            if not any(isinstance(n, nodes.Name) for n in _walk(expr)):
                return "an output that reads no merge field", expr.lineno, "expression"
    return frozenset(reads), frozenset(unguarded), namespace


@dataclass(frozen=True)
class TemplateInfo:
    """What compiling a copy template found: the error, the merge fields read (``contact.city`` reads
    city), the fields read somewhere without a fallback, and whether it reads the contact namespace."""

    error: RenderError | None
    names: frozenset[str]
    unguarded: frozenset[str]
    namespace: bool = False


class _Simple:
    """A template of text and merge outputs only (``{{ name }}``, ``{{ name | fallback("x") }}``,
    ``{{ name | default("x") }}``), run without Jinja's per-render machinery: the same values, the
    same finalize per field kind, the same error for a missing name. Delivery renders one variant
    for many contacts, where Jinja's context set-up would cost more than the copy itself."""

    __slots__ = ("parts", "finalize", "kind")

    def __init__(self, parts: list[Any], kind: str) -> None:
        # str: literal text; (name, filter or None, default): a merge output
        self.parts = parts
        self.kind = kind
        self.finalize = {"text": _finalize_text, "url": _finalize_url}.get(kind)

    def render(self, context: Mapping[str, Any]) -> str:
        out: list[str] = []
        slots: list[str] | None = context.get("_slots") if self.kind == "markdown" else None
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, flt, default = part
            if flt is None:
                if name not in context:
                    raise UndefinedError(f"'{name}' is undefined")
                value = context[name]
            elif flt == "fallback":
                value = fallback(context.get(name), default)
            else:  # default / d: only an undefined (absent) name is replaced
                value = context[name] if name in context else default
            if slots is not None:
                slots.append("" if value is None else str(value))
                out.append(f"\ue000{len(slots) - 1}\ue001")
            else:
                out.append(self.finalize(value))  # type: ignore[misc]
        return "".join(out)


def _simple(ast: nodes.Template, kind: str) -> _Simple | None:
    """The template as a _Simple, or None when it uses anything beyond text and plain merge outputs."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts: list[Any] = []
    for node in ast.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            parts.append(node.data)
        elif isinstance(node, nodes.Name) and not node.name.startswith("_") and node.name != NAMESPACE:
            parts.append((node.name, None, None))
        elif (isinstance(node, nodes.Filter) and node.name in {"fallback", "default", "d"}
              and isinstance(node.node, nodes.Name) and node.node.name != NAMESPACE
              and not node.kwargs and not node.dyn_args and not node.dyn_kwargs and len(node.args) <= 1
              and all(isinstance(a, nodes.Const) for a in node.args)):
            default = node.args[0].value if node.args else ""
            parts.append((node.node.name, "fallback" if node.name == "fallback" else "default", default))
        else:
            return None
    return _Simple(parts, kind)


_OUTPUT_TAG = re.compile(r"\{\{-?(.{0,200}?)-?\}\}")
_KIND_ADVICE = {
    "not_allowed": "is not allowed in copy",
    "expression": "is not a merge field: copy shows contact values, not computed ones",
    "limit": "is beyond what copy allows",
}


def _problem(source: str, what: str, line: int | None, kind: str) -> RenderError:
    where = f" at line {line}" if line else ""
    shown = ""
    if kind == "expression" and line:
        tags = _OUTPUT_TAG.findall(source.split("\n")[line - 1]) if line <= source.count("\n") + 1 else []
        odd = [t.strip() for t in tags if not re.fullmatch(r"\s*[A-Za-z]\w*(?:\.\w+)*\s*(?:\|.*)?", t)]
        shown = f" ({{{{ {odd[0]} }}}})" if odd else ""
    help_ = ("; see 'The copy template language' in guards/README.md: merge fields, contact.field, items[0], "
             "filters (" + ", ".join(sorted(ALLOWED_FILTERS)) + "), if/else, set and for over a list")
    return _error(f"{what}{shown}{where} {_KIND_ADVICE[kind]}{help_ if kind != 'limit' else ''}", kind, line)


@lru_cache(maxsize=4096)
def _compile(kind: str, source: str) -> tuple[Any, TemplateInfo]:
    """(compiled template or plain string or None, TemplateInfo); cached either way. A hostile
    template (too big, too deep, outside the language) gives an error here, never an exception."""
    env = _ENVIRONMENTS[kind]
    if "{{" not in source and "{%" not in source and "{#" not in source:
        return source, TemplateInfo(None, frozenset(), frozenset())  # plain text: no Jinja round trip
    none = frozenset[str]()
    limit = _token_limits(env, source)
    if limit is not None:
        return None, TemplateInfo(limit, none, none)
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        error = _error(f"template syntax error at line {exc.lineno}: {exc.message}", "syntax", exc.lineno)
        return None, TemplateInfo(error, none, none)
    except RecursionError:
        return None, TemplateInfo(_error("the template nests too deep to read", "limit", None), none, none)
    bad = _disallowed(ast)
    found = _fields(ast) if bad is None else bad
    if len(found) == 3 and isinstance(found[0], str):
        what, line, problem = found  # type: ignore[misc]
        return None, TemplateInfo(_problem(source, what, line, problem), none, none)
    names, unguarded, namespace = found  # type: ignore[misc]
    info = TemplateInfo(None, names, unguarded, namespace)
    try:
        return _simple(ast, kind) or env.from_string(ast), info
    except RecursionError:
        return None, TemplateInfo(_error("the template nests too deep to compile", "limit", None), none, none)


def merge_parts(source: str, *, kind: str = "text") -> list[str | tuple[str, str | None, Any]] | None:
    """The template as text and merge outputs ``(name, filter, default)``, or None when it uses more
    (conditions, other filters) or does not compile. Exports translate copy to other tools with it."""
    template = _compile(kind, source)[0]
    if isinstance(template, str):
        return [template]
    return list(template.parts) if isinstance(template, _Simple) else None


def template_info(source: str, *, kind: str = "text") -> TemplateInfo:
    """Compile (cached) and describe a template; never raises."""
    return _compile(kind, source)[1]


def check_template(source: str, *, kind: str = "text") -> RenderError | None:
    """The error compiling ``source`` would raise, or None; never raises."""
    return template_info(source, kind=kind).error


def template_variables(source: str, *, kind: str = "text") -> frozenset[str]:
    """Names the template reads (empty when it does not compile)."""
    return template_info(source, kind=kind).names


def field_kind(field: str) -> str:
    """'text', 'markdown' or 'url': how a field's merge outputs are escaped."""
    return COPY_FIELD_BY_NAME[field].kind


def variant_names(variant: Variant) -> frozenset[str]:
    """Every name the variant's templates read, plus its declared merge fields."""
    names: set[str] = {m.name for m in variant.merge_fields}
    for spec, source in variant.copy_items():
        names |= template_variables(source, kind=spec.kind)
    return frozenset(names)


@dataclass(frozen=True)
class MergePlan:
    """What ``merge_context`` needs to know about a variant, worked out once for many contacts."""

    names: tuple[str, ...]
    declared: Mapping[str, Any]
    namespace: bool


def merge_plan(variant: Variant) -> MergePlan:
    return MergePlan(tuple(sorted(variant_names(variant))), {m.name: m.fallback for m in variant.merge_fields},
                     _reads_namespace(variant))


def merge_context(variant: Variant, contact: Mapping[str, Any], *,
                  names: frozenset[str] | None = None, plan: MergePlan | None = None) -> dict[str, Any]:
    """Values for every name the variant's templates read: usable contact values, else the
    declared fallback; a name with neither stays out, so StrictUndefined reports it.
    ``plan`` (from ``merge_plan``) or ``names`` (from ``variant_names``) saves recomputing them for
    many contacts."""
    if plan is None:
        plan = MergePlan(tuple(names if names is not None else variant_names(variant)),
                         {m.name: m.fallback for m in variant.merge_fields}, _reads_namespace(variant))
    declared = plan.declared
    context: dict[str, Any] = {}
    get = contact.get
    for name in plan.names:
        value = clean_value(get(name))
        if value is None:
            value = declared.get(name)
        if value is not None:
            context[name] = value
    if plan.namespace:
        context[NAMESPACE] = dict(context)
    return context


def _reads_namespace(variant: Variant) -> bool:
    return any(template_info(source, kind=spec.kind).namespace for spec, source in variant.copy_items())


def render_field(variant: Variant, field: CopyField, context: Mapping[str, Any]) -> str:
    """One field rendered with ``context`` (from ``merge_context``); the body as Markdown
    with the values put in as they are (see ``render_body`` for the placeholder form)."""
    if field == "body":
        markdown, values = render_body(variant, context)
        return _fill(markdown, values, html_out=False)
    out = _run(variant, field, context).replace("\r", " ").replace("\n", " ")
    if field == "cta_url":
        out = out.strip()
        problem = validate_url(out)
        if problem:
            raise RenderError(f"cta_url: {problem}", field=field, kind="bad_url", line=None, variable=None)
    return out


def render_body(variant: Variant, context: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The body's Markdown with numbered placeholders where merge outputs go, and the values."""
    slots: list[str] = []
    return _run(variant, "body", {**context, "_slots": slots}), slots


def _run(variant: Variant, field: CopyField, context: Mapping[str, Any]) -> str:
    source = getattr(variant, field)
    template, info = _compile(COPY_FIELD_BY_NAME[field].kind, source)
    if info.error is not None:
        raise RenderError(f"{field}: {info.error.message}", field=field, **info.error.context)
    if isinstance(template, str):
        return template
    try:
        return _render_bounded(template, context, field)
    except UndefinedError as exc:
        name = _undefined_name(exc)
        raise RenderError(f"{field}: merge field {name!r} has no value and no fallback",
                          field=field, kind="undefined", line=None, variable=name) from None
    except SecurityError as exc:
        raise RenderError(f"{field}: blocked by the sandbox: {exc}", field=field, kind="sandbox",
                          line=None, variable=None) from None
    except (TypeError, ValueError, ArithmeticError, OverflowError, LookupError) as exc:
        raise RenderError(f"{field}: {type(exc).__name__}: {exc}", field=field, kind="runtime",
                          line=None, variable=None) from None
    except (RecursionError, MemoryError):
        raise RenderError(f"{field}: the template needs more than copy allows to render", field=field,
                          kind="limit", line=None, variable=None) from None


def _render_bounded(template: Any, context: Mapping[str, Any], field: str) -> str:
    """Render piece by piece, stopping at MAX_OUTPUT_CHARS or MAX_RENDER_SECONDS (RenderError 'limit')."""
    if isinstance(template, _Simple):
        return template.render(context)
    pieces: list[str] = []
    size = 0
    deadline = time.perf_counter() + MAX_RENDER_SECONDS
    for count, piece in enumerate(template.generate(dict(context)), start=1):
        pieces.append(piece)
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise RenderError(f"{field}: renders more than {MAX_OUTPUT_CHARS:,} characters for one contact",
                              field=field, kind="limit", line=None, variable=None)
        if count % 256 == 0 and time.perf_counter() > deadline:
            raise RenderError(f"{field}: takes more than {MAX_RENDER_SECONDS:g} s to render for one contact",
                              field=field, kind="limit", line=None, variable=None)
    return "".join(pieces)


def fill_slots(text: str, values: list[str], *, html_out: bool) -> str:
    """Put merge values (from ``render_body``) where their placeholders are in the body's Markdown,
    HTML or text; HTML-escaped when ``html_out``, percent-encoded inside link URLs."""
    return _fill(text, values, html_out=html_out)


def _fill(text: str, values: list[str], *, html_out: bool) -> str:
    """Put merge values where their placeholders are: escaped for HTML, percent-encoded
    where Markdown turned the placeholder into part of a URL."""
    if not values:
        return text

    def value(match: re.Match[str]) -> str:
        raw = values[int(match.group(1) or match.group(2))]
        if match.group(2) is not None:
            raw = quote(raw, safe="")
        return html.escape(raw) if html_out else raw

    return _SLOT.sub(value, text)


def _undefined_name(exc: UndefinedError) -> str:
    match = re.search(r"'([^']+)' is undefined", str(exc))
    return match.group(1) if match else str(exc)


def validate_url(url: str) -> str | None:
    """Why ``url`` is not a usable link (http/https, a host, no spaces), or None when it is."""
    if not url:
        return "the URL is empty"
    if len(url) > 2048:
        return "the URL is longer than 2,048 characters"
    if _URL_BAD_CHAR.search(url):
        return f"the URL contains whitespace or control characters: {url[:80]!r}"
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        return f"the URL does not parse ({exc}): {url[:80]!r}"
    if parts.scheme not in {"http", "https"}:
        return f"the URL must start with https:// (got {url[:80]!r})"
    host = parts.hostname or ""
    if not host or not port_ok or not re.fullmatch(r"[A-Za-z0-9.-]+", host) or (
            "." not in host and host != "localhost"):
        return f"the URL has no valid host: {url[:80]!r}"
    return None


@lru_cache(maxsize=4096)
def markdown_to_html_text(markdown: str) -> tuple[str, str]:
    """(HTML fragment, plain text) of a Markdown body; raw HTML is escaped, links become
    'text (url)' in the text part."""
    tokens = _MD.parse(markdown)
    return _MD.renderer.render(tokens, _MD.options, {}), _tokens_to_text(tokens)


def _tokens_to_text(tokens: list[Any]) -> str:
    blocks: list[str] = []
    prefix: list[str] = []
    last_in_list = False
    for tok in tokens:
        if tok.type in {"bullet_list_open", "ordered_list_open", "blockquote_open"}:
            prefix.append("> " if tok.type == "blockquote_open" else "")
        elif tok.type in {"bullet_list_close", "ordered_list_close", "blockquote_close"}:
            prefix.pop()
        elif tok.type == "list_item_open":
            prefix.append(f"{tok.info}{tok.markup} " if tok.info else "- ")
        elif tok.type == "list_item_close":
            prefix.pop()
        elif tok.type == "inline":
            line = "".join(prefix) + _inline_text(tok.children or [])
            in_list = any(p and p != "> " for p in prefix)
            if in_list and last_in_list and blocks:
                blocks[-1] += "\n" + line  # list items on consecutive lines
            else:
                blocks.append(line)
            last_in_list = in_list
        elif tok.type in {"fence", "code_block", "hr"}:
            blocks.append("----" if tok.type == "hr" else tok.content.rstrip("\n"))
            last_in_list = False
    return "\n\n".join(blocks)


def _inline_text(children: list[Any]) -> str:
    out: list[str] = []
    href_stack: list[tuple[str, int]] = []
    for tok in children:
        if tok.type in {"text", "code_inline"}:
            out.append(tok.content)
        elif tok.type in {"softbreak", "hardbreak"}:
            out.append("\n")
        elif tok.type == "image":
            out.append(tok.content)
        elif tok.type == "link_open":
            href_stack.append((str(tok.attrGet("href") or ""), len(out)))
        elif tok.type == "link_close" and href_stack:
            href, start = href_stack.pop()
            if href and "".join(out[start:]).strip() != href:
                out.append(f" ({href})")
    return "".join(out)


@dataclass(frozen=True)
class RenderedEmail:
    """One variant rendered for one contact."""

    subject: str
    preheader: str
    body_markdown: str
    body_html: str  # the body fragment, for previews
    html: str  # the whole HTML document: hidden preheader, body, CTA button, footer
    text: str  # the text/plain part: body, CTA, footer
    cta_text: str
    cta_url: str
    locale: str


@dataclass(frozen=True)
class RenderedFields:
    """Every field rendered independently (None where it failed), with each field's error."""

    subject: str | None
    preheader: str | None
    body_markdown: str | None
    body_html: str | None
    body_text: str | None
    cta_text: str | None
    cta_url: str | None
    errors: dict[str, RenderError]

    def text(self, name: str) -> str | None:
        """A copy field as the reader sees it: plain text (the body without its Markdown)."""
        return self.body_text if COPY_FIELD_BY_NAME[name].kind == "markdown" else getattr(self, name)


def render_fields(variant: Variant, context: Mapping[str, Any]) -> RenderedFields:
    """Render each field with ``context`` (from ``merge_context``); never raises, so a
    checker sees every broken field at once."""
    errors: dict[str, RenderError] = {}
    out: dict[str, str | None] = {}
    for name in (f.name for f in COPY_FIELDS if f.kind != "markdown"):
        try:
            out[name] = render_field(variant, name, context)
        except RenderError as exc:
            errors[name], out[name] = exc, None
    markdown = body_html = body_text = None
    try:
        slotted, values = render_body(variant, context)
        html_slots, text_slots = markdown_to_html_text(slotted)
        markdown = _fill(slotted, values, html_out=False)
        body_html, body_text = _fill(html_slots, values, html_out=True), _fill(text_slots, values, html_out=False)
    except RenderError as exc:
        errors["body"] = exc
    return RenderedFields(subject=out["subject"], preheader=out["preheader"], body_markdown=markdown,
                          body_html=body_html, body_text=body_text, cta_text=out["cta_text"],
                          cta_url=out["cta_url"], errors=errors)


# Footer link labels per locale (a variant's locale picks them; others read English).
FOOTER_LABELS: dict[str, tuple[str, str]] = {
    "en": ("Unsubscribe", "Email preferences"),
    "es": ("Darse de baja", "Preferencias de correo"),
    "de": ("Abmelden", "E-Mail-Einstellungen"),
}
# The layout's styles, neutral so any brand reads well; delivery inlines them (css-inline) since
# many mail clients drop <style> blocks.
EMAIL_CSS = (
    "body{margin:0;padding:24px 16px;background:#ffffff;color:#1f2328;font-family:Helvetica,Arial,sans-serif;"
    "font-size:16px;line-height:1.5}"
    "main{max-width:600px;margin:0 auto}"
    "p{margin:0 0 16px}"
    "h1,h2,h3{margin:0 0 12px;line-height:1.25}"
    "ul,ol{margin:0 0 16px;padding-left:24px}"
    "a{color:#0b57d0}"
    "a.cta{display:inline-block;padding:12px 20px;border-radius:6px;background:#1f2328;color:#ffffff;"
    "text-decoration:none;font-weight:bold}"
    "footer{max-width:600px;margin:32px auto 0;color:#656d76;font-size:12px}"
    "footer a{color:#656d76}"
)


def footer_labels(locale: str) -> tuple[str, str]:
    return FOOTER_LABELS.get(locale.split("-")[0].lower(), FOOTER_LABELS["en"])


def email_html(*, locale: str, subject: str, preheader: str, body_html: str, cta_text: str, cta_url: str,
               postal_address: str, unsubscribe_url: str, preferences_url: str) -> str:
    """The whole HTML document of a message: hidden preheader, body, CTA button, footer with the
    postal address and the unsubscribe and preference links. Text arguments are escaped here;
    ``body_html`` goes in as it is. Previews and delivery both build messages with this."""
    esc = html.escape
    unsubscribe, preferences = footer_labels(locale)
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(subject)}</title>'
        f'<style>{EMAIL_CSS}</style></head><body>'
        f'<div style="display:none;max-height:0;overflow:hidden">{esc(preheader)}</div>\n<main>'
        f'{body_html}<p><a class="cta" href="{esc(cta_url)}">{esc(cta_text)}</a></p></main>\n'
        f'<footer><p>{esc(postal_address)}</p><p><a href="{esc(unsubscribe_url)}">{esc(unsubscribe)}</a> · '
        f'<a href="{esc(preferences_url)}">{esc(preferences)}</a></p></footer></body></html>\n'
    )


def email_text(*, locale: str, body_text: str, cta_text: str, cta_url: str, postal_address: str,
               unsubscribe_url: str, preferences_url: str) -> str:
    """The text/plain part of a message: body, CTA, footer (the same pieces as ``email_html``)."""
    unsubscribe, preferences = footer_labels(locale)
    return (f"{body_text}\n\n{cta_text}: {cta_url}\n\n--\n{postal_address}\n"
            f"{unsubscribe}: {unsubscribe_url}\n{preferences}: {preferences_url}\n")


def render_variant(variant: Variant, contact: Mapping[str, Any], *, workspace: Workspace,
                   unsubscribe_url: str | None = None) -> RenderedEmail:
    """Render every field of ``variant`` for ``contact`` (a plain dict of catalog fields).

    ``unsubscribe_url`` is the recipient's own unsubscribe link (delivery signs one per message);
    previews link the brand's preference centre. Raises RenderError for the first field (in
    COPY_FIELDS order) that cannot be rendered.
    """
    r = render_fields(variant, merge_context(variant, contact))
    for name in COPY_FIELD_NAMES:
        if name in r.errors:
            raise r.errors[name]
    assert r.subject is not None and r.preheader is not None and r.cta_text is not None
    assert r.cta_url is not None and r.body_html is not None and r.body_markdown is not None
    assert r.body_text is not None
    brand = workspace.brand
    links = {"postal_address": brand.sender.postal_address, "preferences_url": brand.preference_center_url,
             "unsubscribe_url": unsubscribe_url or brand.preference_center_url}
    document = email_html(locale=variant.locale, subject=r.subject, preheader=r.preheader, body_html=r.body_html,
                          cta_text=r.cta_text, cta_url=r.cta_url, **links)
    text = email_text(locale=variant.locale, body_text=r.body_text, cta_text=r.cta_text, cta_url=r.cta_url, **links)
    return RenderedEmail(subject=r.subject, preheader=r.preheader, body_markdown=r.body_markdown,
                         body_html=r.body_html, html=document, text=text, cta_text=r.cta_text, cta_url=r.cta_url,
                         locale=variant.locale)


def build_message(rendered: RenderedEmail, workspace: Workspace, *, to: str, message_id: str,
                  date: str, unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None) -> EmailMessage:
    """The message delivery would send (``copilot.delivery.message.mime_bytes``: multipart/alternative,
    CSS inlined, List-Unsubscribe headers), parsed back into an EmailMessage for inspection.
    ``date`` is an RFC 2822 date; callers choose it (no clock here)."""
    from email import message_from_bytes
    from email import policy as email_policy

    from copilot.delivery.message import mime_bytes

    data = mime_bytes(workspace, rendered, to=to, message_id=message_id, date=date,
                      unsubscribe_url=unsubscribe_url or workspace.brand.preference_center_url,
                      unsubscribe_mailto=unsubscribe_mailto)
    msg = message_from_bytes(data, policy=email_policy.default)
    assert isinstance(msg, EmailMessage)
    return msg
