"""Check a batch of CSV rows column by column and turn them into storage rows.

The importer's per-row checks (``import_rows``) build a dict and a dataclass for every
row and call a validator per cell: correct, but most of an import's time. Here a batch
is transposed into columns and each column is checked by one tight loop with the rules
of its type (a known time zone, an enum value, an ISO timestamp...). A column check only
says "this cell is fine, stored as X" or "look closer"; every row with a cell to look
closer at goes through ``import_rows`` itself, so a refused row gets exactly the message
the per-row check gives (every problem of the row, by column), and a fast check that is
stricter than the rules (an unusual but valid email, a timestamp with an offset) costs
time, never a wrong answer.

Storage rows are tuples ready for the database's bulk path: the record's first line,
then the columns of ``CONTACT_STAGE`` or ``EVENT_STAGE``, timestamps as text in the
form ``values.sql_timestamp`` writes, JSON as text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from email_validator import EmailNotValidError, validate_email

from copilot.audience.values import attribute_datetime, sql_timestamp
from copilot.models import CONSENT_STATES
from copilot.services.import_rows import (
    _FALSE,
    _FUTURE_SLACK,
    _INT,
    _LOCALE,
    _TRUE,
    ContactRow,
    ContactSchema,
    EventRow,
    EventSchema,
    RowError,
    RowProblem,
    _timezones,
    parse_timestamp,
)
from copilot.workspace import CONTACT_COLUMNS

__all__ = ["CONTACT_STAGE", "EVENT_STAGE", "BatchChecker"]

# Columns of the staging tables, after the record's line.
CONTACT_STAGE = ("email", "consent", "first_name", "last_name", "city", "country", "locale", "timezone",
                 "signed_up_at", "attributes")
EVENT_STAGE = ("email", "name", "occurred_at", "category", "product", "value", "properties")

_LOOK = object()  # a cell the column check will not vouch for: the row goes through import_rows
# A plain address: ASCII dot-atom local part, dotted host name. Anything else (quoted local
# parts, international names) is left to email_validator.
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63})")
_UTC_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+00:00)")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_SURROGATE = re.compile("[\udc80-\udcff]")
_BOOLEANS = {**{t: True for t in _TRUE}, **{f: False for f in _FALSE}}

Cell = Callable[[str], Any]
# White space a cell may start or end with (what str.strip removes, ASCII part): when a column
# joined with NUL has none of these next to a NUL or anywhere, no cell of it needs stripping.
_ASCII_SPACE = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_ENCODERS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii, float: float.__repr__, int: int.__repr__,
    bool: lambda b: "true" if b else "false",
}


def _text(text: str) -> str:
    return text


def _look(text: str) -> Any:
    return _LOOK


def _column(cells: tuple[str, ...]) -> list[str] | tuple[str, ...]:
    """A column's cells, stripped (blank cells mean no value, as in import_rows)."""
    joined = "\x00" + "\x00".join(cells) + "\x00"
    if " \x00" in joined or "\x00 " in joined or not joined.isascii() or any(c in joined for c in _ASCII_SPACE):
        return [t.strip() for t in cells]
    return cells


def _json_fragments(name: str, values: list[Any]) -> list[str]:
    """``"name": value`` as json.dumps writes it, per cell ("" for no value)."""
    key = encode_basestring_ascii(name) + ": "
    encoders = _ENCODERS
    return [key + encoders.get(type(v), json.dumps)(v) if v is not None else "" for v in values]


def _json_objects(columns: list[list[str]], count: int) -> list[str]:
    """Per row, the JSON object of its fragments (keys in column order, as json.dumps of the dict)."""
    if not columns:
        return ["{}"] * count
    return ["{" + ", ".join([f for f in frags if f]) + "}" for frags in zip(*columns, strict=True)]


@lru_cache(maxsize=65_536)
def _host_ok(host: str) -> bool:
    """email_validator's verdict on a host name, asked once per distinct host."""
    try:
        checked = validate_email(f"x@{host}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return checked.domain == host.lower()


def _email(text: str) -> Any:
    found = _PLAIN_EMAIL.fullmatch(text)
    if found is None or len(text) > 254 or text.index("@") > 64 or not _host_ok(found.group(1)):
        return _LOOK
    return text.lower()


def _number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return _LOOK
    return number if math.isfinite(number) else _LOOK


def _date(text: str) -> Any:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return _LOOK


def _attribute_datetime(text: str) -> Any:
    if _UTC_SECONDS.fullmatch(text):
        try:
            datetime.fromisoformat(text[:19])
        except ValueError:
            return _LOOK
        return text[:19] + "+00:00"
    try:
        return attribute_datetime(parse_timestamp(text, "x"))
    except RowError:
        return _LOOK


def _list(text: str) -> Any:
    return [part.strip() for part in text.split("|") if part.strip()]


def _typed(type_: str, values: Sequence[str]) -> Cell:
    """The column check for a catalog type: ``import_rows.coerce`` for cells it can vouch for."""
    match type_:
        case "string":
            return _text
        case "integer":
            return lambda t: int(t) if _INT.match(t) else _LOOK
        case "number":
            return _number
        case "boolean":
            return lambda t: _BOOLEANS.get(t.lower(), _LOOK)
        case "date":
            return _date
        case "datetime":
            return _attribute_datetime
        case "enum":
            allowed = {v.lower(): v for v in reversed(values)}  # the first spelling wins, as in coerce
            return lambda t: allowed.get(t.lower(), _LOOK)
        case "list":
            return _list
    return _look


def _as_float(cell: Cell) -> Cell:
    def check(text: str) -> Any:
        value = cell(text)
        return _LOOK if value is _LOOK else float(value)
    return check


def _at_most(limit: int) -> Cell:
    def check(text: str) -> Any:
        return text if len(text) <= limit else _LOOK
    return check


def _timestamp(dialect: str, now: datetime) -> Cell:
    """A past timestamp (a day of clock skew allowed) as stored; UTC when no offset is given."""
    latest = (now + _FUTURE_SLACK).astimezone(UTC).isoformat()[:19]

    def cell(text: str) -> Any:
        if _UTC_SECONDS.fullmatch(text):
            head = text[:19]
            if head > latest:
                return _LOOK
            try:
                datetime.fromisoformat(head)
            except ValueError:
                return _LOOK
            return f"{head[:10]} {head[11:]}.000000" if dialect == "sqlite" else head + "+00"
        try:
            return sql_timestamp(parse_timestamp(text, "x", now=now), dialect)
        except RowError:
            return _LOOK

    return cell


def _contact_column(name: str, dialect: str, now: datetime) -> Cell:
    if name == "country":
        return lambda t: t.upper() if _COUNTRY.fullmatch(t) else _LOOK
    if name == "timezone":
        zones = _timezones()
        return lambda t: t if t in zones else _LOOK
    if name == "locale":
        return lambda t: t if len(t) <= 16 and _LOCALE.match(t) else _LOOK
    if name == "signed_up_at":
        return _timestamp(dialect, now)
    return lambda t: t if len(t) <= 200 else _LOOK


def _check(cell: Cell, column: Sequence[str], required: bool, suspects: set[int]) -> list[Any]:
    """Apply ``cell`` to every non-blank text of ``column``; blanks are None (a suspect if required)."""
    if cell is _text:
        values = [t or None for t in column]
    else:
        values = [cell(t) if t else None for t in column]
    if _LOOK in values or (required and None in values):
        suspects.update(i for i, v in enumerate(values) if v is _LOOK or (required and v is None))
        values = [None if v is _LOOK else v for v in values]  # the suspects' rows are built again anyway
    return values


class BatchChecker:
    """Checks batches of records against one file's header (a ``ContactSchema`` or ``EventSchema``)."""

    def __init__(self, schema: ContactSchema | EventSchema, dialect: str) -> None:
        self.schema = schema
        self.dialect = dialect
        self.width = len(schema.columns)
        self.position = {name: i for i, name in enumerate(schema.columns)}
        if isinstance(schema, ContactSchema):
            self._plan_contacts()
        else:
            self._plan_events()

    # -- plans: which check each column gets ---------------------------------------------------------

    def _plan_contacts(self) -> None:
        schema = self.schema
        now = schema.now
        self.cells: list[tuple[str, Cell, bool]] = [("email", _email, True),
                                                    ("consent", lambda t: t.lower() if t.lower() in CONSENT_STATES
                                                     else _LOOK, True)]
        self.attributes: list[str] = []
        for name in schema.columns:
            if name in ("email", "consent"):
                continue
            if name in CONTACT_COLUMNS:
                self.cells.append((name, _contact_column(name, self.dialect, now), False))
            else:
                spec = schema.workspace.field(name)
                assert spec is not None  # the header check refused unknown columns
                self.cells.append((name, _typed(spec.type, spec.values), False))
                self.attributes.append(name)

    def _plan_events(self) -> None:
        workspace = self.schema.workspace
        known = {e.name: e for e in workspace.catalog.events}
        self.cells = [("email", str.lower, True), ("event", lambda t: t if t in known else _LOOK, True),
                      ("occurred_at", _timestamp(self.dialect, self.schema.now), True)]
        self.properties: list[str] = []
        # Per property column: the events that declare it. A cell of an event that does not,
        # or of a property declared with different types by different events, is looked at closely.
        self.declared_by: dict[str, set[str]] = {}
        for name in self.schema.columns:
            if name in ("email", "event", "occurred_at"):
                continue
            specs = [(e.name, p) for e in workspace.catalog.events for p in e.properties if p.name == name]
            self.declared_by[name] = {event for event, _ in specs}
            kinds = {(p.type, tuple(p.values)) for _, p in specs}
            check: Cell = _look
            if len(kinds) == 1:
                type_, values = next(iter(kinds))
                check = _typed(type_, values)
                if name == "value" and type_ not in ("integer", "number"):
                    check = _look
                elif name == "value":
                    check = _as_float(check)
                elif name in ("category", "product"):
                    limit = 64 if name == "category" else 128
                    check = _at_most(limit) if type_ == "string" else _look
            self.cells.append((name, check, False))
            if name not in ("value", "category", "product"):
                self.properties.append(name)

    # -- one batch -----------------------------------------------------------------------------------

    def check(self, batch: list[tuple[int, list[str]]]) -> tuple[list[tuple], list[RowProblem]]:  # type: ignore[type-arg]
        """(line, fields) records -> storage rows of the good ones and a problem for each bad one."""
        suspects: set[int] = set()
        width = self.width
        records = [fields for _, fields in batch]
        if any(len(f) != width for f in records):
            blank = [""] * width
            suspects.update(i for i, f in enumerate(records) if len(f) != width)
            records = [f if len(f) == width else blank for f in records]
        text = "".join(["".join(f) for f in records])
        if not text.isascii() and _SURROGATE.search(text):
            suspects.update(i for i, f in enumerate(records) if any(_SURROGATE.search(t) for t in f))
        columns = [_column(column) for column in zip(*records, strict=True)] if records else [()] * width
        values = {name: _check(cell, columns[self.position[name]], required, suspects)
                  for name, cell, required in self.cells}
        rows = self._contacts(values, len(batch)) if isinstance(self.schema, ContactSchema) \
            else self._events(values, columns, len(batch), suspects)
        if not suspects:
            return [(line, *row) for (line, _), row in zip(batch, rows, strict=True)], []
        good: list[tuple] = []  # type: ignore[type-arg]
        problems: list[RowProblem] = []
        for i, ((line, fields), row) in enumerate(zip(batch, rows, strict=True)):
            if i not in suspects:
                good.append((line, *row))
                continue
            try:
                parsed = self.schema.row(fields)
            except RowError as exc:
                problems.append(RowProblem(line, exc.message, exc.column))
                continue
            good.append((line, *(self._contact_row(parsed) if isinstance(parsed, ContactRow)
                                 else self._event_row(parsed))))
        return good, problems

    def _contacts(self, values: dict[str, list[Any]], count: int) -> list[tuple]:  # type: ignore[type-arg]
        nothing = [None] * count
        attributes = _json_objects([_json_fragments(n, values[n]) for n in self.attributes], count)
        return list(zip(*(values.get(n, nothing) for n in CONTACT_STAGE[:-1]), attributes, strict=True))

    def _events(self, values: dict[str, list[Any]], columns: list[Sequence[str]], count: int,
                suspects: set[int]) -> list[tuple]:  # type: ignore[type-arg]
        names = values["event"]
        every = set(self.schema.workspace.events_by_name)
        for prop, events in self.declared_by.items():
            if events >= every:
                continue
            cells = columns[self.position[prop]]
            filled = [i for i, t in enumerate(cells) if t]
            suspects.update(i for i in filled if names[i] not in events)
        nothing = [None] * count
        # Keys sorted, as the staging table compares properties as text to find duplicates.
        props = sorted(self.properties)
        properties = _json_objects([_json_fragments(p, values[p]) for p in props], count)
        return list(zip(values["email"], names, values["occurred_at"], values.get("category", nothing),
                        values.get("product", nothing), values.get("value", nothing), properties, strict=True))

    # -- rows the per-row check accepted ----------------------------------------------------------------

    def _contact_row(self, row: ContactRow) -> tuple:  # type: ignore[type-arg]
        c = row.columns
        signed = sql_timestamp(c["signed_up_at"], self.dialect) if "signed_up_at" in c else None
        return (row.email, row.consent, c.get("first_name"), c.get("last_name"), c.get("city"), c.get("country"),
                c.get("locale"), c.get("timezone"), signed, json.dumps(row.attributes))

    def _event_row(self, row: EventRow) -> tuple:  # type: ignore[type-arg]
        return (row.email, row.name, sql_timestamp(row.occurred_at, self.dialect), row.category, row.product,
                row.value, json.dumps(row.properties, sort_keys=True))
