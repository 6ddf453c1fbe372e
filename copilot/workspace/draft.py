"""Draft a workspace folder from a brand's own CSV files, and say what a person still has to decide.

``draft_workspace`` streams a contacts CSV (and an events CSV) once, guesses each column's type
from its values, proposes roles (copilot.workspace.roles) from generic name patterns and value
shapes, and writes brand.yaml, catalog.yaml, facts.yaml and voice.yaml in the loader's format.
Every judgment only a person can make (where a field came from, whether the person knows we have
it, whether it is sensitive, what it may be used for, a role not guessed, the brand's facts and
voice) carries a ``TODO(review)`` marker: a YAML comment or a placeholder text, so the draft loads
as it is and ``check_workspace`` lists each marker until a person has decided and deleted it.

Longer than most modules on purpose: reading the CSVs, guessing and writing the four files share the
column profiles built in one streaming pass.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import tempfile
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from copilot.errors import ImportDataError, WorkspaceError
from copilot.models import CONSENT_STATES
from copilot.text import identifier
from copilot.workspace.loader import FILES, load_workspace
from copilot.workspace.roles import EVENT_ROLES, FIELD_ROLES, ROLES, implied_event_role
from copilot.workspace.schema import CONTACT_COLUMNS, EVENT_COLUMNS

__all__ = ["MARKER", "DraftError", "ColumnProfile", "Draft", "profile_csv", "guess_type", "guess_field_role",
           "guess_event_role", "draft_workspace", "check_workspace", "CheckReport"]

MARKER = "TODO(review)"
ENUM_MAX = 12  # at most this many distinct values (each repeated) make an enum
DISTINCT_KEPT = 50  # distinct values remembered per column; more only counts as "many"
EVENT_NAMES_MAX = 200  # more different event names than this is not an event column
SAMPLE_KEPT = 2_000  # numbers kept per column (a reservoir sample) to propose a cut-off from
# Roles whose number fields plan with a "high" cut-off (big spenders, heavy users): the draft proposes one.
_HIGH_ROLES = ("lifetime_value", "order_count", "usage_count", "points_balance")
_TRUE_FALSE = {"true", "false", "yes", "no", "y", "n", "t", "f"}
_INT = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DraftError(ImportDataError):
    """A CSV file cannot be drafted from (or the folder is taken); the message names the file and line."""


# -- reading the CSV files -----------------------------------------------------------------------


_SHAPES = frozenset({"int", "number", "bit", "bool", "date", "datetime", "email", "locale"})


@dataclass
class ColumnProfile:
    """What one column's values look like, gathered while streaming (memory stays flat)."""

    header: str
    name: str
    filled: int = 0
    possible: set[str] = field(default_factory=lambda: set(_SHAPES))  # shapes every cell so far has
    distinct: Counter[str] = field(default_factory=Counter)  # up to DISTINCT_KEPT values
    many: bool = False  # more distinct values than kept
    longest: int = 0
    numbers: list[float] = field(default_factory=list)  # a reservoir sample of the numeric cells
    _rng: random.Random | None = field(default=None, repr=False)

    def add(self, text: str) -> None:
        self.filled += 1
        if len(text) > self.longest:
            self.longest = len(text)
        if self.possible:  # once a cell breaks a shape, no later cell is tested for it
            self.possible = _shapes(text, self.possible)
            if "number" in self.possible:
                self._sample(float(text))
        if text in self.distinct or len(self.distinct) < DISTINCT_KEPT:
            self.distinct[text] += 1
        else:
            self.many = True

    def _sample(self, value: float) -> None:
        if len(self.numbers) < SAMPLE_KEPT:
            self.numbers.append(value)
            return
        if self._rng is None:
            self._rng = random.Random(17)  # the same file always proposes the same cut-off
        slot = self._rng.randrange(self.filled)
        if slot < SAMPLE_KEPT:
            self.numbers[slot] = value

    def all(self, kind: str) -> bool:
        """Does every filled cell have this shape (int, number, bit, bool, date, datetime, email, locale)?"""
        return self.filled > 0 and kind in self.possible

    def example(self) -> str:
        return next(iter(self.distinct), "")

    def top_tenth(self) -> float | None:
        """The value the top tenth of the (sampled) numbers reach, or None without enough numbers."""
        values = sorted(v for v in self.numbers if v > 0)
        if len(values) < 10:
            return None
        cut = values[int(len(values) * 0.9)]
        return float(round(cut)) if cut >= 10 else cut


def _shapes(text: str, possible: set[str]) -> set[str]:
    """The shapes among ``possible`` that a cell fits."""
    out: set[str] = set()
    if "number" in possible or "int" in possible:
        if _INT.match(text):
            out |= {"int", "number"}
            if text in {"0", "1"}:
                out.add("bit")
        elif _NUMBER.match(text):
            out.add("number")
    if "bool" in possible and text.lower() in _TRUE_FALSE:
        out.add("bool")
    if "datetime" in possible:
        if _DATE.match(text):
            try:
                date.fromisoformat(text)
                out |= {"date", "datetime"}
            except ValueError:
                pass
        elif len(text) >= 16 and text[:4].isdigit() and text[4:5] == "-":
            try:
                datetime.fromisoformat(text)
                out.add("datetime")
            except ValueError:
                pass
    if "email" in possible and _EMAIL.match(text):
        out.add("email")
    if "locale" in possible and _LOCALE.match(text):
        out.add("locale")
    return out & possible


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record, streamed; bad CSV is a DraftError naming file:line."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in finally
    except OSError as exc:
        raise DraftError(f"{path}: cannot read the file ({exc.strerror})", file=str(path)) from None
    line = 0
    try:
        # surrogateescape keeps undecodable bytes, so the record holding them can be named by its line.
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=""),
                            strict=True)
        while True:
            start = line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DraftError(f"{path.name}:{reader.line_num or start}: malformed CSV ({exc})", file=str(path),
                                 line=reader.line_num or start) from None
            if not all(f.isascii() or _is_utf8(f) for f in fields):
                raise DraftError(f"{path.name}:{start}: not UTF-8 text (save the file as UTF-8 CSV)",
                                 file=str(path), line=start)
            line = reader.line_num
            if fields and any(f.strip() for f in fields):
                yield start, fields
    finally:
        raw.close()


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def profile_csv(path: Path, *, split_by: str | None = None) -> tuple[list[ColumnProfile], int,
                                                                      dict[str, dict[str, ColumnProfile]]]:
    """Each column's profile and the number of rows; with ``split_by`` (the events file's event column)
    also per value of that column, the profiles of the other columns (an event's properties)."""
    records = _records(path)
    first = next(records, None)
    if first is None:
        raise DraftError(f"{path.name}:1: the file is empty; expected a header line", file=str(path), line=1)
    _, header = first
    if len(header) == 1:
        sep = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if sep in header[0]),
                   None)
        if sep:
            raise DraftError(f"{path.name}:1: the columns are separated by {sep}; save the file as comma-separated "
                             "CSV (the import reads commas)", file=str(path), line=1)
    columns = [ColumnProfile(h.strip(), identifier(h)) for h in header]
    seen: dict[str, str] = {}
    for col in columns:
        if not col.name:
            raise DraftError(f"{path.name}:1: header cell {col.header!r} has no letters or digits to name a field "
                             "by", file=str(path), line=1)
        if col.name in seen:
            raise DraftError(f"{path.name}:1: columns {seen[col.name]!r} and {col.header!r} would both be named "
                             f"{col.name!r}; rename one", file=str(path), line=1)
        seen[col.name] = col.header
    split = next((i for i, c in enumerate(columns) if c.name == split_by), None)
    groups: dict[str, dict[str, ColumnProfile]] = {}
    rows = 0
    for line, fields in records:
        if len(fields) != len(columns):
            raise DraftError(f"{path.name}:{line}: expected {len(columns)} fields like the header, found "
                             f"{len(fields)}", file=str(path), line=line)
        rows += 1
        group = None
        if split is not None:
            key = fields[split].strip()
            if key:
                if key not in groups and len(groups) >= EVENT_NAMES_MAX:
                    raise DraftError(f"{path.name}:{line}: column {columns[split].header!r} has more than "
                                     f"{EVENT_NAMES_MAX} different values; it should name the event (a few names "
                                     "like 'Order Completed', repeated)", file=str(path), line=line)
                group = groups.setdefault(key, {})
        for col, text in zip(columns, fields, strict=True):
            text = text.strip()
            if not text:
                continue
            col.add(text)
            if group is not None:
                group.setdefault(col.name, ColumnProfile(col.header, col.name)).add(text)
    if rows == 0:
        raise DraftError(f"{path.name}:2: the file has a header but no rows to guess types from", file=str(path),
                         line=2)
    return columns, rows, groups


# -- guessing --------------------------------------------------------------------------------------


def guess_type(col: ColumnProfile) -> tuple[str, list[str]]:
    """(catalog type, enum values) for a column's values; built-in contact columns keep their type."""
    if col.filled == 0:
        return "string", []
    if col.all("bool") or (col.all("bit") and _tokens(col.name) & {"is", "has", "opt", "opted", "accepts"}):
        return "boolean", []
    if col.all("int"):
        return "integer", []
    if col.all("number"):
        return "number", []
    if col.all("date"):
        return "date", []
    if col.all("datetime"):
        return "datetime", []
    if not col.many and len(col.distinct) <= ENUM_MAX and col.filled >= 2 * len(col.distinct) \
            and col.longest <= 40 and not col.all("email"):
        return "enum", sorted(col.distinct, key=lambda v: (-col.distinct[v], v))
    return "string", []


def _tokens(name: str) -> set[str]:
    words = set(name.split("_"))
    return words | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}


# role -> alternatives, each a set of words that must all be in the column's name (plurals folded).
# Generic words of any business, never one brand's names.
_FIELD_PATTERNS: dict[str, tuple[frozenset[str], ...]] = {k: tuple(frozenset(a.split()) for a in v) for k, v in {
    "first_name": ("first name", "firstname", "given name", "fname", "forename"),
    "locale": ("locale", "language", "lang"),
    "points_expire_at": ("point expire", "point expiry", "point expiration", "point expires"),
    "trial_ends_at": ("trial end", "trial ends", "trial expire", "trial expires"),
    "signed_up_at": ("signed up", "signup", "sign up", "joined", "registered", "subscribed at",
                     "created at", "created", "registration date"),
    "last_purchase_at": ("last order", "last purchase", "last bought", "last booking", "last donation",
                         "last transaction", "last gift", "last ordered"),
    "last_active_at": ("last active", "last login", "last seen", "last visit", "last activity", "last session",
                       "last attended"),
    "order_count": ("order count", "total order", "number order", "num order", "order", "purchase count",
                    "purchase", "booking", "donation count"),
    "lifetime_value": ("lifetime value", "ltv", "clv", "total spent", "total spend", "lifetime spend",
                       "total revenue", "total donated", "spent"),
    "tier": ("tier", "loyalty level", "membership level", "loyalty status", "vip level", "level"),
    "points_balance": ("point", "point balance", "reward point", "loyalty point"),
    "birthday": ("birthday", "birth date", "birthdate", "dob", "date birth"),
    "anniversary_at": ("anniversary", "member since", "customer since"),
    "renewal_at": ("renewal", "renews", "renew", "expires", "expiry", "expiration"),
    "plan": ("plan", "subscription plan", "plan name", "subscription"),
    "engagement": ("engagement", "engagement level"),
    "usage_count": ("session", "usage", "visit count", "login count", "visits", "class count"),
    "preferred_category": ("favourite", "favorite", "preferred category", "preferred"),
}.items()}

# The fields (and roles) that must sit in a built-in contact column for import and delivery to use them.
_COLUMN_ROLES = {"first_name": "first_name", "locale": "locale"}

_EVENT_PATTERNS: dict[str, tuple[frozenset[str], ...]] = {k: tuple(frozenset(a.split()) for a in v) for k, v in {
    "payment_failed": ("payment failed", "payment declined", "charge failed"),
    "trial_start": ("trial started", "trial start", "started trial"),
    "cancellation": ("cancelled", "canceled", "cancel", "cancellation"),
    "cart": ("cart", "basket", "checkout started", "checkout abandoned"),
    "purchase": ("order completed", "order placed", "purchase", "purchased", "bought", "order", "checkout completed",
                 "donation", "donated"),
    "delivery": ("delivered", "shipped", "fulfilled"),
    "browse": ("viewed", "view", "browsed"),
    "review": ("review", "reviewed", "rated"),
    "attendance": ("attended", "checked in", "attendance"),
    "registration": ("registered", "booked", "rsvp"),
    "signup": ("signed up", "signup", "subscribed", "account created"),
    "upgrade": ("upgraded", "upgrade"),
    "email_open": ("email opened", "opened"),
    "email_click": ("email clicked", "clicked", "click"),
    "email_sent": ("email sent",),
    "restock_request": ("back in stock", "waitlist", "notify"),
    "activation": ("activated", "onboarding"),
}.items()}

_SENSITIVE = (frozenset({"birth"}), frozenset({"birthday"}), frozenset({"dob"}), frozenset({"age"}),
              frozenset({"gender"}), frozenset({"health"}), frozenset({"medical"}), frozenset({"income"}),
              frozenset({"salary"}), frozenset({"religion"}), frozenset({"ethnicity"}), frozenset({"pregnant"}),
              frozenset({"lat"}), frozenset({"latitude"}), frozenset({"lng"}), frozenset({"longitude"}),
              frozenset({"address"}), frozenset({"street"}), frozenset({"phone"}), frozenset({"mobile"}),
              frozenset({"postcode"}), frozenset({"zip"}), frozenset({"postal", "code"}), frozenset({"ssn"}),
              frozenset({"credit"}), frozenset({"card"}), frozenset({"weight"}), frozenset({"diet"}),
              frozenset({"allergy"}), frozenset({"allergie"}), frozenset({"political"}), frozenset({"injury"}),
              frozenset({"medication"}), frozenset({"disability"}), frozenset({"sexual"}),
              frozenset({"orientation"}), frozenset({"pregnancy"}))
# Words of a model's guess: drafted as inferred and not disclosed (the cautious reading; a person confirms).
_INFERRED = frozenset({"predicted", "prediction", "propensity", "likelihood", "probability", "risk", "inferred",
                       "estimated", "affinity"})


def _matches(name: str, alternatives: tuple[frozenset[str], ...]) -> bool:
    words = _tokens(name)
    joined = name.replace("_", "")
    return any(alt <= words or (len(alt) > 1 and "".join(sorted(alt)) == joined) or
               (len(alt) == 1 and next(iter(alt)) == joined) for alt in alternatives)


def guess_field_role(col: ColumnProfile, type_: str, taken: Collection[str] = ()) -> str | None:
    """The role a contact column plays, from its name (and, for a locale, its values); None when nothing
    in the name or the values says so (a person decides)."""
    for role_name, alternatives in _FIELD_PATTERNS.items():
        r = ROLES[role_name]
        if role_name in taken or type_ not in r.types:
            continue
        if _matches(col.name, alternatives):
            return role_name
    if "locale" not in taken and type_ in ("string", "enum") and col.all("locale") and not col.many \
            and len(col.distinct) <= 20:
        return "locale"
    return None


def guess_event_role(event_name: str, taken: Collection[str] = ()) -> str | None:
    """The role an event plays: implied by a common name, else guessed from the words of its name."""
    implied = implied_event_role(event_name)
    if implied:
        return implied
    for role_name, alternatives in _EVENT_PATTERNS.items():
        if role_name not in taken and _matches(identifier(event_name), alternatives):
            return role_name
    return None


def _sensitive(name: str) -> bool:
    return any(_matches(name, (alt,)) for alt in _SENSITIVE)


# -- the draft -------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What ``draft_workspace`` wrote and what a person must do next."""

    folder: Path
    slug: str
    fields: int = 0
    events: int = 0
    roles: dict[str, str] = field(default_factory=dict)  # role -> field or event name
    markers: int = 0
    before_import: list[str] = field(default_factory=list)  # what to change in the CSV files

    def summary(self) -> str:
        return (f"drafted workspace {self.slug!r} in {self.folder}: {self.fields} fields, {self.events} events, "
                f"{len(self.roles)} roles proposed ({', '.join(sorted(self.roles)) or 'none'}); "
                f"{self.markers} items marked {MARKER}")


def _y(value: Any) -> str:
    """A value as one line of YAML (flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _todo(text: str) -> str:
    return f"  # {MARKER}: {text}"


def _slug(name: str) -> str:
    return (identifier(name).replace("_", "-") or "my-brand")[:63]


def _governance(lines: list[str], indent: str, kind: str, name: str, header: str, source: str, *, sensitive: bool,
                uses: list[str], role: str | None, role_note: str, inferred: bool = False) -> None:
    """The keys only a person can settle, drafted conservatively with one marker naming them all."""
    lines.append(f"{indent}description: {_y(source)}  # say what it is in your words (optional)")
    what = (f"{kind} {name} (from {header!r}): confirm provenance, disclosed, sensitive and allowed_uses"
            + (f"; {role_note}" if role_note else "")
            + ("; drafted as a model's guess (inferred, not disclosed) from its name" if inferred else ""))
    lines.append(f"{indent}provenance: {'inferred' if inferred else 'first_party'}" + _todo(what))
    lines.append(f"{indent}disclosed: {_y(not inferred)}")
    lines.append(f"{indent}sensitive: {_y(sensitive)}")
    lines.append(f"{indent}allowed_uses: {_y(uses)}")
    if role:
        lines.append(f"{indent}role: {role}")


# The stand-ins the draft writes where only the brand knows the value; check_workspace finds any left.
_SITE = "https://example.com"
_PREFERENCES = f"{_SITE}/preferences"
_FROM = "hello@example.com"


def _placeholders(workspace: Any) -> list[str]:
    brand = workspace.brand
    out = [f"brand.yaml: {key} is still {value}" for key, value, stand_in in (
        ("website", brand.website, _SITE), ("preference_center_url", brand.preference_center_url, _PREFERENCES),
        ("sender.from_email", brand.sender.from_email, _FROM)) if value == stand_in]
    for i, product in enumerate(workspace.facts.products):
        if product.url == _SITE and product.name == product.sku:
            out.append(f"facts.yaml: products[{i}] ({product.sku}) still has the drafted name, price and page")
    return out


_ROLE_HELP = "none guessed; if it means one of the roles in docs/workspace.md, add role: NAME"


def draft_workspace(contacts: str | Path, out: str | Path, *, events: str | Path | None = None,
                    name: str | None = None, force: bool = False) -> Draft:
    """Draft the four files of a workspace in ``out`` from the CSV files; nothing is written when a
    file is bad (a DraftError names it and the line) or ``out`` holds a workspace already (unless force)."""
    contacts, out = Path(contacts), Path(out)
    existing = [n for n in FILES if (out / n).exists()]
    if existing and not force:
        raise DraftError(f"{out} already holds {', '.join(existing)}; pass --force to replace them", file=str(out))
    columns, rows, _ = profile_csv(contacts)
    event_data = _profile_events(Path(events)) if events else None
    brand_name = name or contacts.stem.replace("_", " ").replace("-", " ").title() or "My brand"
    draft = Draft(folder=out, slug=_slug(brand_name))

    catalog, locales, products = _catalog(columns, rows, contacts.name, event_data, draft)
    texts = {
        "brand.yaml": _brand(brand_name, draft, locales),
        "voice.yaml": _voice(brand_name),
        "facts.yaml": _facts(products, events and Path(events).name),
        "catalog.yaml": catalog,
    }
    draft.markers = sum(t.count(MARKER) for t in texts.values())
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for file_name, text in texts.items():
            handle, tmp = tempfile.mkstemp(prefix=f".{file_name}.", dir=out)
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                fh.write(text)
            staged.append((Path(tmp), out / file_name))
        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return draft


@dataclass
class _Events:
    file: str
    rows: int
    email: ColumnProfile | None
    name_col: ColumnProfile
    time_col: ColumnProfile | None
    columns: list[ColumnProfile]
    groups: dict[str, dict[str, ColumnProfile]]


def _profile_events(path: Path) -> _Events:
    columns = _header(path)
    names = [c.name for c in columns]
    name_col = next((n for n in ("event", "event_name", "event_type", "name", "type", "action", "activity")
                     if n in names), None)
    if name_col is None:
        raise DraftError(f"{path.name}:1: no column names the event (expected one of event, event_name, "
                         f"event_type, name, type, action; the header has {', '.join(c.header for c in columns)})",
                         file=str(path), line=1)
    columns, rows, groups = profile_csv(path, split_by=name_col)
    by_name = {c.name: c for c in columns}
    email = by_name.get("email") or next((c for c in columns if c.all("email")), None)
    time_col = next((by_name[n] for n in ("occurred_at", "timestamp", "time", "occurred", "created_at", "datetime",
                                           "date", "event_time", "event_date") if n in by_name and
                     by_name[n].all("datetime")), None) or next((c for c in columns if c.all("datetime")), None)
    return _Events(path.name, rows, email, by_name[name_col], time_col, columns, groups)


def _header(path: Path) -> list[ColumnProfile]:
    """The columns of the header line alone (the rest of the file is not read)."""
    first = next(_records(path), None)
    if first is None:
        raise DraftError(f"{path.name}:1: the file is empty; expected a header line", file=str(path), line=1)
    return [ColumnProfile(h.strip(), identifier(h)) for h in first[1]]


def _catalog(columns: list[ColumnProfile], rows: int, file_name: str, ev: _Events | None,
             draft: Draft) -> tuple[str, list[str], list[str]]:
    lines = [f"# Drafted from {file_name} ({rows:,} rows)" + (f" and {ev.file} ({ev.rows:,} rows)" if ev else "")
             + " by `copilot workspace draft`. Each line marked for review is a judgment only a person",
             "# can make: decide, set the value, then delete the marker. `copilot workspace check` lists what is left.",
             "fields:"]
    email = next((c for c in columns if c.name == "email"), None) or next((c for c in columns if c.all("email")), None)
    if email is None:
        raise DraftError(f"{file_name}:1: no column holds email addresses (the header has "
                         f"{', '.join(c.header for c in columns)})", file=file_name, line=1)
    consent = next((c for c in columns if c.name == "consent"), None) or next(
        (c for c in columns if c.filled and not c.many and set(map(str.lower, c.distinct)) <= set(CONSENT_STATES)),
        None)
    locales: list[str] = []
    taken: set[str] = set()

    def rename(col: ColumnProfile, to: str) -> str:
        if col.name == to:
            return ""
        draft.before_import.append(f"{file_name}: rename the column {col.header!r} to {to}")
        return _todo(f"{file_name} calls this column {col.header!r}: rename it to {to} before importing")

    lines += ["  - name: email", "    type: string", "    description: Email address the person signed up with",
              "    provenance: zero_party", "    disclosed: true",
              "    allowed_uses: [segmentation, personalization, analytics]" + rename(email, "email")]
    lines += ["  - name: consent", "    type: enum", f"    values: {_y(list(CONSENT_STATES))}",
              "    description: Marketing email consent state", "    provenance: zero_party", "    disclosed: true",
              "    allowed_uses: [segmentation, analytics]"]
    if consent is None:
        draft.before_import.append(f"{file_name}: add a consent column (subscribed, unsubscribed or bounced)")
        lines[-1] += _todo(f"{file_name} has no consent column: add one saying subscribed, unsubscribed or bounced "
                           "for every person (only people who agreed to marketing email are subscribed)")
    else:
        lines[-1] += rename(consent, "consent")
        other = sorted(v for v in consent.distinct if v.lower() not in CONSENT_STATES)
        if other or consent.many:
            shown = ", ".join(map(repr, other[:5])) + (" ..." if len(other) > 5 or consent.many else "")
            draft.before_import.append(f"{file_name}: write the {consent.header!r} column as subscribed, "
                                       f"unsubscribed or bounced (it holds {shown})")
            lines[-1] += _todo(f"{file_name}'s {consent.header!r} column holds {shown}: write it as subscribed, "
                               "unsubscribed or bounced before importing")
    draft.fields = 2
    for col in columns:
        if col is email or col is consent:
            continue
        type_, values = guess_type(col)
        role = guess_field_role(col, type_, taken)
        name = col.name
        if role in _COLUMN_ROLES:
            name = _COLUMN_ROLES[role]
        if name in CONTACT_COLUMNS:
            type_ = CONTACT_COLUMNS[name]
            values = list(CONSENT_STATES) if name == "consent" else []
        if name in {"email", "consent"} or any(line == f"  - name: {name}" for line in lines):
            name = f"{name}_column"
        if role is not None:
            taken.add(role)
            draft.roles[role] = name
        if role == "locale":
            counts = Counter({v.replace("_", "-").split("-")[0].lower(): n for v, n in col.distinct.items()})
            locales = [lang for lang, _ in counts.most_common()]
        draft.fields += 1
        header_note = rename(col, name) if name in CONTACT_COLUMNS else ""
        lines.append(f"  - name: {name}" + (header_note or f"  # column {col.header!r}"))
        lines.append(f"    type: {type_}" + (f"  # guessed from {col.filled:,} values like {col.example()!r}"
                                             if col.filled else _todo(f"{col.header!r} is empty in {file_name}: "
                                                                      "set its type")))
        if type_ == "enum":
            note = (f"{MARKER}: the values of {name} seen in {file_name}, most common first; list them lowest "
                    "first (a tier is read that way) and add any missing") if role == "tier" else ""
            lines.append(f"    values: {_y(values)}" + (f"  # {note}" if note else ""))
        if role in _HIGH_ROLES and type_ in ("integer", "number") and col.top_tenth() is not None:
            high = col.top_tenth()
            shown = int(high) if type_ == "integer" or float(high).is_integer() else high  # type: ignore[arg-type]
            lines.append(f"    thresholds: {{high: {shown}}}" + _todo(
                f"what counts as high {name} for the brand; the top tenth of {file_name} reach {shown}"))
        sensitive = _sensitive(col.name)
        uses = (["analytics"] if sensitive else ["segmentation", "personalization", "analytics"]
                if role == "first_name" else ["segmentation", "analytics"])
        if role:
            by_values = role == "locale" and not _matches(col.name, _FIELD_PATTERNS["locale"])
            role_note = f"role {role} was proposed from {'its values' if by_values else 'its name'}: keep or change it"
        else:
            role_note = f"role: {_ROLE_HELP}"
        if sensitive:
            role_note += "; drafted as sensitive from its name (personalization needs given_for)"
        inferred = role is None and bool(_tokens(col.name) & _INFERRED)
        _governance(lines, "    ", "field", name, col.header, f"The {col.header!r} column of {file_name}",
                    sensitive=sensitive, uses=["analytics"] if inferred else uses, role=role, role_note=role_note,
                    inferred=inferred)
    products: list[str] = []
    if ev is not None:
        lines += _events(ev, taken, draft, products)
    return "\n".join(lines) + "\n", locales, products


def _events(ev: _Events, taken: set[str], draft: Draft, products: list[str]) -> list[str]:
    lines = ["events:"]
    need = {"email": ev.email, "event": ev.name_col, "occurred_at": ev.time_col}
    for column, col in need.items():
        if col is None:
            raise DraftError(f"{ev.file}:1: no column holds the {'email address' if column == 'email' else 'time'} "
                             "of each event", file=ev.file, line=1)
        if col.name != column:
            draft.before_import.append(f"{ev.file}: rename the column {col.header!r} to {column}")
            lines.insert(0, f"# {MARKER}: {ev.file} calls the {column} column {col.header!r}: rename it to "
                            f"{column} before importing")
    skip = {c.name for c in need.values() if c is not None}
    events_seen: dict[str, str] = {}
    for raw in sorted(ev.groups, key=lambda k: -ev.groups[k][ev.name_col.name].filled):
        name = identifier(raw)
        if not name or name in events_seen:
            continue
        events_seen[name] = raw
        props = ev.groups[raw]
        role = guess_event_role(raw, taken)
        if role in taken:  # an implied role another event plays already
            role = None
        implied = role is not None and implied_event_role(raw) == role
        if role is not None:
            taken.add(role)
            draft.roles[role] = name
        count = props[ev.name_col.name].filled
        lines.append(f"  - name: {name}  # {count:,} rows of {raw!r} in {ev.file}")
        if role is None:
            note = f"role: {_ROLE_HELP}"
        elif implied:
            note = f"plays {role} by its name"
        else:
            note = f"role {role} was proposed from its name: keep or change it"
        _governance(lines, "    ", "event", name, raw, f"{raw!r} rows of {ev.file}", sensitive=False, uses=["segmentation", "analytics"],
                    role=None if implied else role, role_note=note)
        prop_lines = []
        for col in ev.columns:
            if col.name in skip or col.name not in props:
                continue
            p = props[col.name]
            type_, values = guess_type(p)
            if col.name in EVENT_COLUMNS:
                type_, values = EVENT_COLUMNS[col.name], []
            if col.name == "product":
                products.extend(v for v in p.distinct if v not in products)
            entry = {"name": col.name, "type": type_}
            if values:
                entry["values"] = values
            prop_lines.append(f"      - {_y(entry)}")
        if prop_lines:
            lines += ["    properties:", *prop_lines]
        draft.events += 1
    return lines


def _brand(name: str, draft: Draft, locales: list[str]) -> str:
    locales = locales or ["en"]
    lines = [
        "# Drafted by `copilot workspace draft`: replace each line marked for review with the brand's own details.",
        f"name: {_y(name)}" + _todo("the brand's name as readers know it"),
        f"slug: {draft.slug}",
        f"website: {_SITE}" + _todo("the brand's website"),
        "currency: USD" + _todo("the currency of your prices (three letters, e.g. EUR)"),
        f"default_locale: {locales[0]}",
        f"locales: {_y(locales)}" + (_todo("languages seen in the contacts' locale column, most common first; "
                                           "keep those you write in") if len(locales) > 1 else ""),
        "timezone: UTC" + _todo("the IANA time zone you plan in, e.g. Europe/Amsterdam"),
        f"preference_center_url: {_PREFERENCES}" + _todo("where readers change what they get"),
        "customer_words: []  # what you call your customers (members, guests ...), optional",
        "sender:",
        f"  from_name: {_y(name)}",
        f"  from_email: {_FROM}" + _todo("the From address of your emails"),
        f"  postal_address: {_y(f'{MARKER}: the postal address every marketing email must carry')}",
    ]
    return "\n".join(lines) + "\n"


def _voice(name: str) -> str:
    lines = [
        "# Drafted by `copilot workspace draft`: how the brand sounds (docs/workspace.md, voice.yaml).",
        "tone_words: [clear, friendly]" + _todo("three or four words for your voice"),
        f"description: {_y(f'{MARKER}: your voice in a sentence or two')}",
        "banned_phrases: []  # phrases copy must never contain",
        "discouraged_phrases: []",
        "max_exclamation_marks: 1",
        f"sign_off: {_y(f'The {name} team')}" + _todo("how your emails end"),
    ]
    return "\n".join(lines) + "\n"


def _facts(products: list[str], events_file: str | None) -> str:
    lines = ["# Drafted by `copilot workspace draft`: the only products, prices and offers copy may state.",
             "# Add offers, policies, claims and dates as docs/workspace.md (facts.yaml) shows.", "products:"]
    for sku in products[:DISTINCT_KEPT] or ["MY-PRODUCT"]:
        seen = f" (seen in {events_file})" if products else ""
        lines += [f"  - sku: {_y(sku)}" + _todo(f"name, category, price and page of {sku}{seen}"),
                  f"    name: {_y(sku)}", "    category: general", "    price: 0", f"    url: {_SITE}"]
    lines += ["offers: []", "policies: []", "claims: []"]
    return "\n".join(lines) + "\n"


# -- the check -------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """What stands between a workspace folder and planning: the loader's problems and the review markers."""

    folder: Path
    problems: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)  # drafted stand-ins still there (marker deleted or not)
    missing_roles: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems and not self.markers and not self.placeholders

    def lines(self) -> list[str]:
        if self.ready:
            out = [f"ready: {self.folder} loads and nothing is marked for review"]
        else:
            out = [f"not ready: {self.folder} has {len(self.problems)} problems, {len(self.markers)} items "
                   f"marked for review and {len(self.placeholders)} drafted placeholders"]
        if self.problems:
            out += ["", "The loader found (fix each, then check again):"] + [f"  {p}" for p in self.problems]
        if self.markers:
            out += ["", f"Marked for review (decide, set the value, then delete the {MARKER} marker):"]
            out += [f"  {m}" for m in self.markers]
        if self.placeholders:
            out += ["", "Still the draft's placeholder (give the real value):"] + [f"  {p}" for p in self.placeholders]
        if self.missing_roles:
            out += ["", "Roles no field or event plays (optional; a plan that needs one says so): "
                    + ", ".join(self.missing_roles)]
        return out


_MARK = re.compile(re.escape(MARKER) + r"[:\s]*(.*)")


def check_workspace(folder: str | Path) -> CheckReport:
    """Every loader problem, every review marker (file:line and what to decide), and the roles no field or
    event plays, in plain words."""
    folder = Path(folder)
    report = CheckReport(folder)
    if not folder.is_dir():
        report.problems.append(f"{folder}: no such folder")
        return report
    workspace = None
    try:
        workspace = load_workspace(folder)
    except WorkspaceError as exc:
        for p in exc.context.get("problems", []) or [{"file": str(folder), "path": "", "message": exc.message}]:
            line = f":{p['line']}" if p.get("line") else ""
            report.problems.append(f"{p['file']}{line}: {p['path']}: {p['message']}")
    for name in FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found = _MARK.search(line)
            if found:
                what = found.group(1).strip().strip("\"'").strip() or "marked for review"
                key = line.split(":", 1)[0].strip(" -") if ":" in line.split("#", 1)[0] else ""
                # A catalog item's marker names the item itself ("field birthday (from 'Birthday'): ...").
                named = not key or what.startswith(("field ", "event ", f"{key}:"))
                report.markers.append(f"{name}:{number}: {'' if named else key + ': '}{what}")
    if workspace is not None:
        report.placeholders = _placeholders(workspace)
        for r in (*FIELD_ROLES, *EVENT_ROLES):
            if r.name not in workspace.roles:
                report.missing_roles.append(r.name)
    return report
